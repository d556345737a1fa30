"""The figure check: extraction and equivalences (pure), and its enforcement on every answer the service gives."""

from __future__ import annotations

import pytest

from assistant.answer.grounding import (
    USER_KINDS,
    Evidence,
    check_figures,
    extract_figures,
    tool_text,
)
from assistant.answer.guard import REMOVED_NOTE, WITHHELD, guard_answer
from assistant.answer.types import Answer

SLIDE = (
    "ものづくり補助金 補助上限 1,250万円 補助率 1/2(小規模事業者 2/3)\n"
    "申請締切: 令和8年5月8日(金)17:00\n"
    "事務局 電話:050-3821-7013 https://portal.monodukuri-hojo.jp/ info@example.go.jp\n"
    "成長加速化補助金 上限5億 約0.9万者 従業員5名以下 第23次公募"
)
EV = Evidence(slides=(SLIDE,))


def _ok(text: str, evidence: Evidence = EV, kinds=frozenset()) -> bool:
    return check_figures(text, evidence, kinds).ok


@pytest.mark.parametrize(
    "text",
    [
        "補助上限は1,250万円です。",
        "補助上限は12,500,000円です。",
        "補助上限は1250万円です。",
        "補助上限は 1,250 万円",
        "補助率は50%です。",  # = 1/2
        "補助率は2分の1",
        "小規模事業者は3分の2",
        "締切は2026年5月8日です。",
        "締切は5月8日です。",
        "電話 050-3821-7013",
        "https://portal.monodukuri-hojo.jp/ をご覧ください",
        "INFO@example.go.jp",
        "上限5億円",
        "上限500,000,000円",
        "約9,000者",
        "従業員5人以下",
        "23次公募",
        "出典 [1]",
        "全角の１，２５０万円",
    ],
)
def test_equivalent_figures_are_grounded(text):
    assert _ok(text), [f.text for f in check_figures(text, EV).ungrounded]


@pytest.mark.parametrize(
    "text, bad",
    [
        ("補助率は100%です。", "100%"),
        ("補助率は10/10です。", "10/10"),
        ("補助上限は10億円です。", "10億円"),
        ("補助上限は1,251万円です。", "1,251万円"),
        ("締切は2026年5月9日です。", "2026年5月9日"),
        ("締切は令和7年5月8日です。", "令和7年5月8日"),
        ("電話 0120-000-000", "0120-000-000"),
        ("https://evil.example.com/ へ", "https://evil.example.com/"),
        ("evil@example.com まで", "evil@example.com"),
        ("従業員21人以下", "21人"),
        ("第99回公募", "99回"),
        ("出典 [2]", "[2]"),
    ],
)
def test_false_figures_are_reported(text, bad):
    result = check_figures(text, EV, frozenset())
    assert [f.text for f in result.ungrounded] == [bad]


def test_user_figures_are_accepted_only_for_amounts_and_counts():
    ev = Evidence(slides=(SLIDE,), user=("従業員12名で800万円の機械、補助率は75%、電話は03-1111-2222",))
    assert check_figures("補助対象経費: 800万円（従業員12名）", ev, USER_KINDS).ok
    result = check_figures("補助対象経費: 800万円（従業員12名）", ev, frozenset())
    assert {f.text for f in result.ungrounded} == {"800万円", "12名"}
    assert [f.text for f in check_figures("補助率は75%", ev, USER_KINDS).ungrounded] == ["75%"]
    assert [f.text for f in check_figures("電話 03-1111-2222", ev, USER_KINDS).ungrounded] == ["03-1111-2222"]
    found = check_figures("経費800万円", ev, USER_KINDS)
    assert [f.text for f in found.user_provided] == ["800万円"]


def test_tool_outputs_ground_their_numbers():
    output = {"subsidy_yen": 4_000_000, "cap_yen": 7_500_000, "rate": "1/2", "steps": ["800万円 × 1/2 = 400万円"]}
    ev = Evidence(tools=(tool_text(output),))
    assert check_figures("補助額は 400万円、上限750万円、補助率1/2", ev).ok
    assert not check_figures("補助額は 500万円", ev).ok


def test_extraction_reads_the_kinds():
    kinds = {f.text: f.kind for f in extract_figures("令和5年度補正 上限50万円 2/3 3割 0570-666-376 R5補正 14回")}
    assert kinds == {"令和5年度": "date", "50万円": "yen", "2/3": "ratio", "3割": "ratio",
                     "0570-666-376": "phone", "R5": "id", "14回": "count"}


def test_guard_removes_the_line_with_a_false_figure_and_records_it():
    text = "資料によると:\n・補助上限 1,250万円 [1]\n・補助率は100% [1]\n出典: [1] 004.txt スライド7"
    answer = Answer(question="q", answer=text, abstained=False)
    guard_answer(answer, Evidence(slides=(SLIDE + "\n004.txt スライド7",)), frozenset())
    assert "100%" not in answer.answer and "1,250万円" in answer.answer and REMOVED_NOTE in answer.answer
    assert answer.grounding["action"] == "removed_lines"
    assert answer.grounding["ungrounded"] == [{"text": "100%", "kind": "ratio"}]
    assert answer.to_dict()["grounding"]["checked"] >= 3


def test_guard_withholds_an_answer_whose_headline_is_false():
    answer = Answer(question="q", answer="補助額は 9,999万円 です（試算）。 [1]\n計算:\n・1,250万円", abstained=False)
    guard_answer(answer, Evidence(slides=(SLIDE,)), frozenset())
    assert answer.answer == WITHHELD and answer.abstained and not answer.citations
    assert answer.grounding["action"] == "withheld"


# ------------------------------------------------------------------------------------------------ on every answer


@pytest.mark.integration
def test_every_answer_carries_a_passing_check(assistant):
    for q in ["ものづくり補助金の補助率は？", "デジタル化・AI導入補助金の事務局の電話番号を教えて", "肉じゃがの作り方",
              "令和5年度補正の省力化投資補助金のカタログ型で、従業員10名、800万円の設備ならいくら補助される？",
              "省力化投資補助金の一般型で4千万円の設備を入れたい。いくら出る？"]:
        answer = assistant.ask(q)
        assert answer.grounding is not None and answer.grounding["action"] == "none", (q, answer.grounding)
        assert answer.grounding["checked"] >= 1


@pytest.mark.integration
def test_the_service_removes_a_figure_no_slide_states(assistant, monkeypatch):
    """The check runs in the service, not only in tests: a composer that slipped in a figure is corrected."""
    real = assistant.composer.compose

    def leaky(question, hits, programs):
        answer = real(question, hits, programs)
        lines = answer.answer.split("\n")
        answer.answer = "\n".join([*lines[:2], "・補助率は最大100%です [1]", *lines[2:]])
        return answer

    monkeypatch.setattr(assistant.composer, "compose", leaky)
    assistant._chain = None  # rebuild the chain around the patched composer
    try:
        answer = assistant.ask("ものづくり補助金の補助率は？")
    finally:
        monkeypatch.undo()
        assistant._chain = None
    assert "100%" not in answer.answer and "1/2" in answer.answer
    assert answer.grounding["action"] == "removed_lines" and "ungrounded_figures_removed_lines" in answer.notes


@pytest.mark.integration
def test_a_calculation_with_a_false_amount_is_withheld(assistant, monkeypatch):
    from assistant import service

    real = service.calc_answer

    def wrong(*args, **kwargs):
        answer = real(*args, **kwargs)
        answer.answer = answer.answer.replace("400万円 です", "4,000万円 です")
        return answer

    monkeypatch.setattr(service, "calc_answer", wrong)
    question = "令和5年度補正の省力化投資補助金のカタログ型で、従業員10名、800万円の設備ならいくら補助される？"
    answer = assistant.ask(question)
    assert answer.abstained and "4,000万円" not in answer.answer
    assert answer.grounding["action"] == "withheld"


@pytest.mark.integration
def test_triage_replies_pass_the_check(assistant):
    import datetime as dt

    from assistant.triage.triage import Triage

    engine = Triage(assistant)
    for text in ["住宅ローンの金利について相談したい", "ものづくり補助金の締切と問い合わせ先を教えて"]:
        result = engine.run("x", text, dt.date(2026, 3, 1))
        assert result.grounding["action"] == "none", (text, result.grounding)
    assert "中小企業119" in engine.run("o", "住宅ローンの金利について相談したい", dt.date(2026, 3, 1)).reply
