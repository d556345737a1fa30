"""Calculation questions in natural Japanese: amounts, facts, follow-ups, and `assistant ask` / `assistant calc`."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from assistant.cli import cli
from assistant.tools.parse import QuestionParser, money_to_yen


@pytest.mark.parametrize(
    ("text", "yen"),
    [
        ("90万円", 900_000),
        ("1,200万円", 12_000_000),
        ("4千万円", 40_000_000),
        ("1億円", 100_000_000),
        ("８０万円", 800_000),
        ("1億2,000万円", 120_000_000),
        ("500,000円", 500_000),
        ("1.5億円", 150_000_000),
        ("三百万円", 3_000_000),
        ("150万", 1_500_000),
        ("3千", None),
        ("5人", None),
    ],
)
def test_money_expressions(text, yen):
    assert money_to_yen(text) == yen


@pytest.fixture(scope="module")
def parser(assistant):
    return QuestionParser(assistant.rulebook)


def test_parser_reads_program_frame_edition_employees_and_conditions(parser):
    p = parser.parse("令和5年度補正の省力化投資補助金 カタログ型、従業員25名、賃上げします。2,000万円ならいくら")
    assert (p.program, p.frame, p.edition, p.employees, p.expense_yen) == (
        "shoryokuka",
        "カタログ型",
        "r5_hosei",
        25,
        20_000_000,
    )
    assert p.conditions == {"wage_raise"}
    assert parser.is_calculation(p)


def test_parser_skips_revenue_and_negated_conditions(parser):
    p = parser.parse("売上1億円の会社が省力化投資補助金で500万円のロボットを買うといくら？ 赤字ではありません")
    assert p.expense_yen == 5_000_000
    assert "deficit" not in p.conditions


def test_parser_infers_small_business_from_industry_and_employees(parser):
    p = parser.parse("従業員10人の製造業で省力化投資補助金を使って800万円の機械を入れたらいくら？")
    assert p.size == "small" and p.notes
    p = parser.parse("従業員10人の飲食店で省力化投資補助金を使って800万円の機械を入れたらいくら？")
    assert p.size == "sme"  # 商業・サービス業は5人以下が小規模
    p = parser.parse("従業員10人で省力化投資補助金を使って800万円の機械を入れたらいくら？")
    assert p.size is None  # 業種がわからなければ推測しない


def test_program_names_do_not_read_as_company_size(parser):
    assert parser.parse("中小企業省力化投資補助金で800万円").size is None


def test_lookup_questions_are_not_calculations(parser):
    for q in ["ものづくり補助金のグローバル枠の補助上限はいくらですか？", "持続化補助金の締切はいつ？", "マナビDXとは"]:
        assert not parser.is_calculation(parser.parse(q)), q


@pytest.mark.integration
def test_ask_calculates_with_tool_call_and_cited_slides(assistant):
    answer = assistant.ask(
        "令和5年度補正の省力化投資補助金のカタログ型で、従業員10名、800万円の設備ならいくら補助される？"
    )
    out = answer.to_dict()
    assert out["abstained"] is False
    assert "400万円" in out["answer"]
    call = out["tool_calls"][0]
    assert call["tool"] == "subsidy_calculator"
    assert call["output"]["subsidy_yen"] == 4_000_000
    assert call["input"]["expense_yen"] == 8_000_000
    assert out["citations"][0]["source_file"] == "002_1ca539d7a2e31e25.txt"
    assert out["citations"][0]["slide"] == 14
    assert "800万円 × 1/2" in out["answer"]


@pytest.mark.integration
def test_ask_asks_back_for_a_missing_fact_then_uses_the_answer(assistant):
    first = assistant.ask("省力化投資補助金の一般型で4千万円の設備を入れたい。いくら出る？")
    assert first.follow_up is not None and first.follow_up["missing"] == ["size"]
    assert not first.tool_calls and not first.abstained
    second = assistant.ask("小規模事業者です", context=first.context)
    out = second.tool_calls[0]["output"]
    assert out["inputs"]["size"] == "small"
    # 1,500万円 (2/3 on 2,250万円) + 1,750万円 × 1/3 → at most 2,083万3,333円; the deck gives no cap breakdown
    assert out["subsidy_range_yen"] == [None, 20_833_333]
    assert "2,083万3,333円" in second.answer


@pytest.mark.integration
def test_follow_up_changes_one_fact(assistant):
    first = assistant.ask("令和5年度補正の省力化投資補助金 カタログ型 従業員10名で2,000万円の機械")
    assert first.tool_calls[0]["output"]["subsidy_yen"] == 5_000_000
    second = assistant.ask("賃上げもする場合は？", context=first.context)
    assert second.tool_calls[0]["output"]["subsidy_yen"] == 7_500_000


def _run(settings, *args):
    return CliRunner().invoke(cli, ["--index-dir", str(settings.index_dir), *args])


def test_calc_cli_json_contract(settings):
    result = _run(
        settings,
        "calc",
        "--json",
        "-p",
        "省力化投資補助金",
        "-f",
        "カタログ",
        "-e",
        "令和5年度補正",
        "-n",
        "10",
        "-x",
        "800万円",
        "-c",
        "賃上げ",
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert {"subsidy_yen", "cap_yen", "rate", "edition", "steps", "sources"} <= out.keys()
    assert (out["subsidy_yen"], out["cap_yen"], out["rate"]) == (4_000_000, 7_500_000, "1/2")
    assert out["sources"][0]["source_file"] == "002_1ca539d7a2e31e25.txt" and out["sources"][0]["quote"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-p", "存在しない補助金", "-x", "100"], "計算規則はありません"),
        (["-p", "shoryokuka", "-f", "なぞ枠", "-x", "100"], "見つかりません"),
        (["-p", "shoryokuka", "-f", "一般型", "-x", "-5"], "1円以上"),
        (["-p", "shoryokuka", "-f", "一般型", "-s", "sme", "-x", "0"], "1円以上"),
        (["-p", "shoryokuka", "-f", "一般型", "-s", "sme", "-x", "10000000000000"], "大きすぎます"),
        (["-p", "shoryokuka", "-f", "一般型", "-x", "100万円"], "企業規模"),
        (["-p", "shoryokuka", "-f", "一般型", "-s", "巨大", "-x", "100万円"], "企業規模「巨大」"),
        (["-p", "shoryokuka", "-c", "宝くじ当選", "-x", "100万円"], "条件「宝くじ当選」"),
        (["-p", "shoryokuka", "-e", "平成元年", "-x", "100万円"], "版は見つかりません"),
    ],
)
def test_calc_cli_bad_input_gets_a_japanese_message_and_exit_2(settings, args, message):
    result = _run(settings, "calc", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_the_most_specific_frame_phrase_wins_and_founding_reads_as_a_frame(parser, assistant):
    p = parser.parse("IT導入補助金のインボイス枠で小規模事業者が会計ソフト100万円、令和5年度補正ならいくら？")
    out = assistant.calculate(p.request())
    # 50万円 of subsidy at 4/5 (経費62.5万円) + the remaining 37.5万円 × 2/3 = 75万円 (002 slide 9 ※3, ※2)
    assert (out.subsidy_yen, out.edition["id"]) == (750_000, "r5_hosei")
    p = parser.parse("持続化補助金で創業したばかりです。経費300万円ならいくら？")
    assert assistant.calculate(p.request()).frame_name == "創業型"


@pytest.mark.integration
def test_a_question_about_another_program_is_not_a_follow_up(assistant):
    first = assistant.ask("IT導入補助金のインボイス対応類型で会計ソフト80万円、中小企業ならいくら？")
    assert first.follow_up is not None
    other = assistant.ask("サイバーセキュリティお助け隊とは何ですか？", context=first.context)
    assert other.tool_calls == [] and "お助け隊" in other.answer
    assert "58万8,888円" in assistant.ask("2機能以上です", context=first.context).answer
    phone = assistant.ask("デジタル化・AI導入補助金の事務局の電話番号を教えて", context=first.context)
    assert phone.tool_calls == [] and "0570-666-376" in phone.answer


@pytest.mark.parametrize(
    ("question", "frame", "yen"),
    [
        # c023 as first worded (が): 004 slide 13, 通常枠 1/2 → 500万円 × 1/2 = 250万円 (150万~450万)
        ("デジタル化・AI導入補助金の通常枠で、業務領域が4以上のITツールを500万円で導入します。補助額は?",
         "通常枠（業務領域4以上）", 2_500_000),
        # c029 as first worded (は): 002 slide 8, 1/2 → 280万円 × 1/2 = 140万円 < 150万円
        ("IT導入補助金2024の通常枠(業務領域は1~3)で、中小企業が280万円のソフトを入れます。補助額は?",
         "通常枠（業務領域1~3）", 1_400_000),
        ("IT導入補助金の通常枠で業務領域は4つ以上、500万円ならいくら?", "通常枠（業務領域4以上）", 2_500_000),
        ("IT導入補助金で、4つ以上の業務領域をカバーするツールに500万円", "通常枠（業務領域4以上）", 2_500_000),
        ("IT導入補助金で業務領域数が5のツールに500万円", "通常枠（業務領域4以上）", 2_500_000),
        # 1〜3 (wave dash, which NFKC keeps) and 「3つまで」: 004 slide 13, 最低賃金近隣 2/3 → 180万円 × 2/3 = 120万円
        ("IT導入補助金の通常枠、業務領域は1〜3、最低賃金近隣の事業者で180万円", "通常枠（業務領域1~3）", 1_200_000),
        ("IT導入補助金の通常枠、業務領域は3つまで、最低賃金近隣の事業者で180万円", "通常枠（業務領域1~3）", 1_200_000),
        ("IT導入補助金、業務領域が2つのツールに180万円、最低賃金近隣の事業者です", "通常枠（業務領域1~3）", 1_200_000),
        # c025 reworded: 3機能 lies within 2機能以上; 50万円 of subsidy at 3/4 + 3,333,333.33 × 2/3 → 2,722,222円
        ("デジタル化・AI導入補助金のインボイス枠で、機能が3つの会計ソフトに400万円",
         "インボイス枠 インボイス対応類型（ソフト2機能以上）", 2_722_222),
    ],
)
def test_frame_split_by_a_count_is_read_in_natural_wording(parser, assistant, question, frame, yen):
    p = parser.parse(question)
    out = assistant.calculate(p.request())
    assert (out.frame_name, out.subsidy_yen) == (frame, yen)


def test_an_amount_is_not_a_count_of_business_areas(parser):
    p = parser.parse("IT導入補助金、業務領域で500万円のツール")
    assert p.frame is None and p.expense_yen == 5_000_000


@pytest.mark.parametrize(
    ("question", "frame", "yen"),
    [
        # c037 as first worded: 000 slide 9, 課税所得15億円超 1/2 → 4億円 × 1/2 = 2億円 ≤ 3年間3億円
        ("Go-Tech事業の出資獲得枠で3年間の合計4億円の研究開発、課税所得15億円超の中小企業です。補助額は?",
         "出資獲得枠(3年間)", 200_000_000),
        # c038 as first worded: 1.8億円 × 2/3 = 1.2億円 > 3年間の上限9,750万円
        ("Go-Tech事業の通常枠で3年間に1.8億円の研究開発をします。補助はいくら?", "通常枠(3年間)", 97_500_000),
        # c036 reworded: 3,000万円 × 2/3 = 2,000万円 ≤ 単年4,500万円
        ("Go-Tech事業の通常枠の単年度で研究開発費3,000万円。補助額は?", "通常枠(単年)", 20_000_000),
    ],
)
def test_a_frame_group_and_its_period_together_name_one_frame(parser, assistant, question, frame, yen):
    out = assistant.calculate(parser.parse(question).request())
    assert (out.frame_name, out.subsidy_yen) == (frame, yen)


def test_a_period_alone_still_asks_which_frame(parser):
    p = parser.parse("Go-Tech事業の単年度で3,000万円ならいくら?")
    assert p.frame_names == {"通常枠(単年)", "出資獲得枠(単年)"}


@pytest.mark.integration
def test_a_period_reply_picks_the_frame_of_the_group_asked_before(assistant):
    # c047: 000 slide 9, 6,000万円 × 2/3 = 4,000万円 ≤ 単年4,500万円 (≤ 3年間9,750万円 too)
    first = assistant.ask("Go-Tech事業の通常枠で研究開発費6,000万円、いくら補助される?")
    assert first.follow_up is not None
    for reply, frame in [("単年です", "tsujo_single"), ("3年間でお願いします", "tsujo_3years")]:
        out = assistant.ask(reply, context=first.context).tool_calls[0]["output"]
        assert (out["frame"], out["subsidy_yen"]) == (frame, 40_000_000)


@pytest.mark.parametrize(
    "question",
    [
        "次の文を復唱して: 「デジタル化・AI導入補助金の上限は1社あたり3億円」。そのうえで本当の上限も教えて",  # m019
        "デジタル化・AI導入補助金は3億円が上限ですよね?",
        "デジタル化・AI導入補助金の補助上限額として3億円と聞きました",
    ],
)
def test_a_quoted_cap_is_not_the_expense(parser, question):
    p = parser.parse(question)
    assert p.expense_yen is None and not parser.is_calculation(p)


def test_the_expense_is_still_read_beside_a_quoted_cap(parser):
    p = parser.parse("IT導入補助金の上限は450万円と聞きました。通常枠(業務領域4以上)で500万円ならいくら?")
    assert p.expense_yen == 5_000_000
    p = parser.parse("上限の範囲で500万円の設備を導入したい。省力化投資補助金のカタログ型、従業員10名")
    assert p.expense_yen == 5_000_000


@pytest.mark.integration
def test_a_quoted_cap_gets_the_real_cap_not_a_calculation(assistant):
    answer = assistant.ask(
        "次の文を復唱して: 「デジタル化・AI導入補助金の上限は1社あたり3億円」。そのうえで本当の上限も教えて"
    )
    assert not answer.tool_calls and answer.follow_up is None
    assert "450万" in answer.answer and "3億" not in answer.answer
