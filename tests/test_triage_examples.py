"""Past inquiries as triage evidence (assistant/triage/examples.py): strict loading, never an inquiry's own example,
a held-out set, and votes that confirm what the slides found but never add a program on their own (except, for a
person to confirm, a clear past case when no slide fits at all)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import cli
from assistant.errors import DataError
from assistant.triage.examples import Example, ExampleMemory, load_examples
from assistant.triage.triage import Triage

REPO = Path(__file__).resolve().parents[1]
TODAY = dt.date(2026, 3, 1)
KNOWN = {"jizokuka", "monodukuri", "otasuketai"}


def _memory(*examples: tuple[str, str, tuple[str, ...], str]) -> ExampleMemory:
    return ExampleMemory([Example(*e) for e in examples], str.split)  # words split on spaces: pure, no tokenizer


def test_examples_load_from_every_labelled_set_in_a_folder(tmp_path):
    (tmp_path / "triage_a.yaml").write_text(
        '- {id: a1, text: "チラシを　作りたい", programs: [jizokuka], category: 補助金, note: extra keys are fine}\n'
        "- {id: a2, text: 年金の相談, programs: []}\n", encoding="utf-8")
    (tmp_path / "triage_b.yaml").write_text("- {id: b1, text: 機械を入れたい, programs: [monodukuri]}\n", "utf-8")
    (tmp_path / "other.yaml").write_text("not: a triage set\n", encoding="utf-8")
    examples = load_examples(tmp_path, KNOWN)
    assert [(e.id, e.source) for e in examples] == [("a1", "triage_a.yaml"), ("a2", "triage_a.yaml"),
                                                     ("b1", "triage_b.yaml")]
    assert examples[0].text == "チラシを 作りたい" and examples[1].programs == ()  # NFKC, spaces collapsed
    assert [e.id for e in load_examples(tmp_path / "triage_b.yaml", KNOWN)] == ["b1"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("- {id: x1, programs: [jizokuka]}\n", "triage_x.yaml: x1 の text"),
        ("- {id: x1, text: チラシ, programs: [no_such]}\n", "x1 の制度 no_such は programs.yaml にありません"),
        ("- {id: x1, text: チラシ, programs: jizokuka}\n", "x1 の programs"),
        ("id: x1\n", "問い合わせのリストではありません"),
        ("- {id: x1, text: [チラシ\n", "YAML が正しくありません"),
    ],
)
def test_a_bad_example_file_is_an_error_naming_the_entry(tmp_path, content, message):
    (tmp_path / "triage_x.yaml").write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        load_examples(tmp_path, KNOWN)


def test_a_missing_examples_path_is_a_japanese_error(tmp_path):
    with pytest.raises(DataError, match=r"過去の問い合わせ事例 .* が見つかりません"):
        load_examples(tmp_path / "nowhere", KNOWN)


def test_the_most_similar_examples_vote_and_an_inquiry_is_never_its_own_example():
    memory = _memory(
        ("p1", "店 チラシ 作りたい", ("jizokuka",), "a.yaml"),
        ("p2", "チラシ 看板 作りたい", ("jizokuka", "monodukuri"), "a.yaml"),
        ("p3", "工場 機械 入れたい", ("monodukuri",), "b.yaml"),
        ("p4", "年金 相談", (), "b.yaml"),
    )
    assert [e.id for e, _ in memory.similar("店 チラシ 作りたい")] == ["p2"]  # p1 is this very inquiry
    votes = {v.program: v for v in memory.votes("チラシ 作りたい")}
    assert votes["jizokuka"].share == 1.0 and votes["jizokuka"].examples == ("p1", "p2")
    assert 0 < votes["monodukuri"].share < 0.5  # p2's second program: half of p2's score
    assert memory.votes("宇宙 旅行") == []
    assert "" in {v.program for v in memory.votes("年金 相談 したい")}  # an off-topic example votes for none


def test_a_held_out_file_gives_no_votes():
    memory = _memory(("p1", "店 チラシ", ("jizokuka",), "a.yaml"), ("p3", "工場 機械", ("monodukuri",), "b.yaml"))
    held = memory.without("a.yaml")
    assert len(held) == 1 and held.votes("店 チラシ") == [] and len(memory) == 2
    assert memory.without("a.yaml") is held  # built once per file


def _planted(assistant, folder: Path, text: str, programs: str) -> Triage:
    """A triage engine whose only past inquiry is ``text`` labelled ``programs`` (YAML)."""
    (folder / "triage_planted.yaml").write_text(f'- {{id: planted1, text: "{text}", programs: {programs}}}\n', "utf-8")
    return Triage(type(assistant)(assistant.settings.with_(triage_examples=folder), assistant.corpus, assistant.index))


@pytest.fixture(scope="module")
def engine(assistant):
    return Triage(assistant)


@pytest.mark.integration
def test_past_inquiries_confirm_a_program_and_are_named_in_its_details(engine):
    text = "お店のチラシを作り直して、新しいお客さんを呼びたい。小さい店でも使える補助金はありますか"
    result = engine.run("q", text, TODAY)
    top = result.program_details[0]
    assert top["id"] == "jizokuka" and top["examples"]
    sources = {e.id: e.source for e in engine.examples.examples}
    assert all(sources[i].startswith("triage_") for i in top["examples"])
    held = sources[top["examples"][0]]
    with engine.holding_out(held):  # without the set of the most similar example, none of that set votes
        without = engine.run("q", text, TODAY).program_details[0]
    assert without["examples"] and not any(sources[i] == held for i in without["examples"])
    assert engine.run("q", text, TODAY).program_details[0]["examples"] == top["examples"]  # the memory is back


@pytest.mark.integration
def test_an_example_alone_never_brings_in_a_program_the_slides_do_not_support(assistant, tmp_path):
    text = "お店のチラシを作り直して、新しいお客さんを呼びたい。使える補助金はありますか"
    planted = _planted(assistant, tmp_path, f"{text}。急ぎです", "[mitouteki_akatsuki]")
    assert [v.program for v in planted.examples.votes(text)] == ["mitouteki_akatsuki"]
    result = planted.run("q", text, TODAY)
    assert result.program_details[0]["id"] == "jizokuka"  # the slides' program, with no example behind it
    assert "mitouteki_akatsuki" not in [d["id"] for d in result.program_details]


@pytest.mark.integration
@pytest.mark.parametrize("reach", ["090-1234-5678", "０９０－１２３４－５６７８", "mise@example.co.jp"])
def test_an_inquiry_with_contact_details_is_recognised_as_its_own_example(assistant, tmp_path, reach):
    text = f"お店のチラシを作り直して、新しいお客さんを呼びたい。連絡は{reach}まで"
    planted = _planted(assistant, tmp_path, text, "[jizokuka]")
    result = planted.run("q", text, TODAY)  # the memory's only example is this very inquiry: it does not vote
    assert result.program_details[0]["id"] == "jizokuka" and result.program_details[0]["examples"] == []


@pytest.mark.integration
def test_cli_examples_can_be_switched_off_or_pointed_elsewhere(settings, tmp_path):
    inquiries = tmp_path / "in.jsonl"
    inquiries.write_text(json.dumps({"id": "1", "text": "お店のチラシを作って新しいお客さんを呼びたい"},
                                    ensure_ascii=False), encoding="utf-8")

    def run(*flags: str):
        return CliRunner().invoke(cli, ["--index-dir", str(settings.index_dir), "triage", "--json", *flags,
                                        str(inquiries)])

    with_examples = json.loads(run().stdout)["program_details"][0]
    without = json.loads(run("--no-examples").stdout)["program_details"][0]
    assert with_examples["examples"] and without["examples"] == []
    assert with_examples["id"] == without["id"] == "jizokuka"
    missing = run("--examples", str(tmp_path / "nowhere"))
    assert missing.exit_code != 0 and "過去の問い合わせ事例" in missing.output and "Traceback" not in missing.output


@pytest.mark.integration
@pytest.mark.parametrize(("programs", "flagged"), [("[]", True), ("[jizokuka]", False)])
def test_an_inquiry_most_like_an_out_of_scope_one_goes_to_a_person(assistant, tmp_path, programs, flagged):
    text = "お店のチラシを作り直して、新しいお客さんを呼びたい。使える補助金はありますか"
    planted = _planted(assistant, tmp_path, f"{text}。急ぎです", programs)
    result = planted.run("q", text, TODAY)
    assert result.program_details[0]["id"] == "jizokuka"  # the slides still name the program a person checks
    assert ("よく似た過去のご相談は、資料にある制度の対象外でした" in result.needs_human_reasons) is flagged


@pytest.mark.integration
@pytest.mark.parametrize(("programs", "expected"), [("[local_benchmark]", ["local_benchmark"]), ("[]", [])])
def test_when_no_slide_fits_a_clear_past_case_is_a_candidate_for_a_person(assistant, tmp_path, programs, expected):
    text = "メインバンクの新しい担当さんに、会社の強みを一緒に整理するシートがあると言われました。何というものでしょう"
    planted = _planted(assistant, tmp_path, f"{text}。急ぎです", programs)
    result = planted.run("q", text, TODAY)
    assert [d["id"] for d in result.program_details] == expected
    assert result.needs_human  # a past case alone is never a sure referral
    if expected:
        assert "planted1" in result.program_details[0]["reason"] and result.program_details[0]["examples"]
        assert "どの制度に当たるか確信が持てません" in result.needs_human_reasons
        assert result.contacts  # the program's own contact from the directory, cited to its slide
        assert result.citations
