"""Bad input on every surface (CLI ask/calc/triage, the app's handlers, settings): a clear Japanese message, a non-zero
exit where it failed, no crash, no stack trace, and no partial output file."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.app import chat
from assistant.cli import cli
from assistant.errors import InputError
from assistant.settings import Settings
from assistant.triage.io import read_inquiries

JAPANESE = re.compile(r"[ぁ-んァ-ヶ一-龥]")
GOOD = "マナビDXとは何ですか"


def _no_trace(result) -> None:
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


def _error(result, code: int = 2) -> str:
    _no_trace(result)
    assert result.exit_code == code, (result.exit_code, result.output)
    assert "エラー:" in result.stderr and JAPANESE.search(result.stderr)
    return result.stderr


@pytest.fixture(scope="module")
def run(settings, assistant):
    runner = CliRunner()

    def _run(*args: str, env: dict | None = None):
        return runner.invoke(cli, ["--index-dir", str(settings.index_dir), *args], env=env)

    return _run


# ------------------------------------------------------------------------------------------------ assistant ask

BAD_QUESTIONS = {
    "empty": "",
    "spaces": "   ",
    "full-width spaces and newlines": "\u3000\u3000\n\t\n",
    "control characters only": "\x00\x01\x1b[0m\x7f\u200b",
    "over the limit": "あ" * 2001,
    "1 MB": "補助金" * 350_000,
}


@pytest.mark.integration
@pytest.mark.parametrize("question", BAD_QUESTIONS.values(), ids=BAD_QUESTIONS.keys())
def test_ask_refuses_bad_questions_quickly(run, question):
    start = time.perf_counter()
    result = run("ask", "--json", question)
    assert time.perf_counter() - start < 15  # includes loading; a 1 MB question is refused before any work
    message = _error(result)
    assert "質問" in message and result.stdout == ""


@pytest.mark.integration
@pytest.mark.parametrize(
    "question",
    ["マナビ\x00DX\x1bとは\u200b何ですか", "ﾏﾅﾋﾞDXとは何ですか", "マナビDX\udcffとは何ですか",
     "  マナビDXとは何ですか  \n"],
    ids=["controls", "half-width kana", "lone surrogate", "padding"],
)
def test_ask_cleans_control_characters_and_still_answers(run, question):
    result = run("ask", "--json", question)
    _no_trace(result)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert not out["abstained"] and out["citations"] and "\x00" not in out["question"]


@pytest.mark.integration
@pytest.mark.parametrize(
    "args",
    [["--top-k", "abc", GOOD], ["--top-k", "0", GOOD], ["--bogus", GOOD], [], [GOOD, "--batch", "x.jsonl"]],
    ids=["top-k text", "top-k zero", "unknown option", "nothing", "both"],
)
def test_ask_bad_options(run, args):
    _error(run("ask", *args))


@pytest.mark.integration
@pytest.mark.parametrize(
    "question, expected",
    [
        ("ものづくり補助金で-500万円の設備ならいくら？", "1円以上"),
        ("ものづくり補助金で▲300万円の機械を買うといくら？", "1円以上"),
        ("ものづくり補助金で0円の設備ならいくら？", "1円以上"),
        ("ものづくり補助金で1000兆円の設備ならいくら？", "大きすぎます"),
        ("ものづくり補助金で" + "9" * 500 + "万円の設備ならいくら？", "大きすぎます"),
        ("従業員1000000000人の会社が省力化投資補助金のカタログ型で800万円の機械を入れたらいくら？", "100万人以下"),
    ],
    ids=["negative", "triangle", "zero", "1000兆円", "500 digits", "absurd employees"],
)
def test_absurd_amounts_in_questions_get_a_message_not_a_figure(run, question, expected):
    result = run("ask", "--json", question)
    _no_trace(result)
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert "補助額を計算できませんでした" in out["answer"] and expected in out["answer"]
    assert out["tool_calls"] == [] and out["grounding"]["action"] == "none"


@pytest.mark.integration
@pytest.mark.parametrize(
    "question",
    ["令和9年度のものづくり補助金の補助上限は？", "ものづくり補助金の第40次公募の締切は？",
     "架空振興補助金の補助率は？"],
    ids=["future edition", "unknown round", "unknown program"],
)
def test_unknown_programs_and_editions_abstain(run, question):
    out = json.loads(run("ask", "--json", question).stdout)
    assert out["abstained"] is True and out["citations"] == [] and "相談窓口" in out["answer"]


# ------------------------------------------------------------------------------------------------ ask --batch


def _write(path: Path, data: bytes | str) -> Path:
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


BAD_FILES = {
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "テキストではない"),
    "undecodable": ('{"id": "a", "question": "ものづくり"}\n'.encode() + b"\xff\xfe\xfa\xfb\x80\x81\n", "文字コード"),
    "empty": (b"", "1件もありません"),
    "blank lines": (b"\n  \n\r\n", "1件もありません"),
    "only bad lines": (b"not json\n[1, 2]\n{\"id\": 1}\n", "読める質問が1件もありません"),
}


@pytest.mark.integration
@pytest.mark.parametrize("name", BAD_FILES.keys())
def test_batch_files_that_cannot_be_used(run, tmp_path, name):
    data, expected = BAD_FILES[name]
    message = _error(run("ask", "--json", "--batch", str(_write(tmp_path / "q.jsonl", data))))
    assert expected in message


@pytest.mark.integration
def test_batch_path_problems(run, tmp_path):
    assert "読めません" in _error(run("ask", "--batch", str(tmp_path / "missing.jsonl")))
    assert "フォルダ" in _error(run("ask", "--batch", str(tmp_path)))


@pytest.mark.integration
def test_batch_keeps_good_lines_and_reports_bad_ones_by_number(run, tmp_path):
    lines = [
        json.dumps({"id": "a", "question": GOOD}, ensure_ascii=False),
        "not json",
        "[" * 100_000,  # nesting too deep for the JSON parser
        json.dumps({"id": "c"}),
        json.dumps({"id": "d", "question": 42}),
        json.dumps({"id": "e", "question": "   "}),
        json.dumps({"id": "f", "question": "あ" * 1_000_000}),
        '{"id": "g\\udcff\\u0000", "question": "持続化補助金の\\u0000補助上限は？"}',
        json.dumps({"id": None, "question": "マナビDXクエストとは"}, ensure_ascii=False),
        '{"id": "h", "question": "unterminated',
    ]
    result = run("ask", "--json", "--batch", str(_write(tmp_path / "q.jsonl", "\n".join(lines) + "\n")))
    _no_trace(result)
    assert result.exit_code == 1
    out = [json.loads(x) for x in result.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", "e", "f", "g", "9"]
    assert out[0]["citations"] and out[3]["citations"] and out[4]["citations"]
    assert "空" in out[1]["error"] and "長すぎ" in out[2]["error"]
    for n in (2, 3, 4, 5, 10):
        assert f"{n}行目" in result.stderr
    assert "1行目" not in result.stderr


@pytest.mark.integration
@pytest.mark.parametrize("encoding", ["utf-16", "cp932", "utf-8-sig"])
def test_batch_files_in_other_encodings(run, tmp_path, encoding):
    text = json.dumps({"id": "a", "question": GOOD}, ensure_ascii=False) + "\r\n"
    result = run("ask", "--json", "--batch", str(_write(tmp_path / "q.jsonl", text.encode(encoding))))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["citations"]


# ------------------------------------------------------------------------------------------------ assistant calc

CALC = ["calc", "-p", "shoryokuka", "-f", "一般型", "-s", "sme"]


@pytest.mark.integration
@pytest.mark.parametrize(
    "args, expected",
    [
        (["-x", "-3"], "1円以上"),
        (["-x", "−100万円"], "1円以上"),
        (["-x", "0"], "1円以上"),
        (["-x", "０円"], "1円以上"),
        (["-x", "nan"], "金額として読めません"),
        (["-x", "NaN円"], "金額として読めません"),
        (["-x", "inf"], "金額として読めません"),
        (["-x", "1e30"], "金額として読めません"),
        (["-x", "9" * 5000], "大きすぎます"),
        (["-x", "1000兆円"], "大きすぎます"),
        (["-x", "abc"], "金額として読めません"),
        (["-n", "-5", "-x", "100万円"], "0人以上"),
        (["-n", "abc"], "整数で指定"),
        (["-n", "2.5"], "整数で指定"),
        (["-e", "令和99年度"], "版は見つかりません"),
        (["-f", "存在しない枠"], "枠は見つかりません"),
        (["-c", "宇宙開発"], "条件「宇宙開発」はわかりません"),
        (["-s", "巨大企業"], "企業規模「巨大企業」はわかりません"),
    ],
    ids=lambda v: v if isinstance(v, str) else " ".join(v)[:30],
)
def test_calc_bad_values(run, args, expected):
    base = CALC if args[0] != "-f" else ["calc", "-p", "shoryokuka", "-s", "sme"]
    assert expected in _error(run(*base, *args))


@pytest.mark.integration
def test_calc_unknown_program_lists_the_known_ones(run):
    message = _error(run("calc", "-p", "架空補助金", "-x", "100万円"))
    assert "計算規則はありません" in message and "ものづくり補助金" in message


# ------------------------------------------------------------------------------------------------ assistant triage


@pytest.mark.integration
@pytest.mark.parametrize("name", ["binary", "undecodable", "empty"])
def test_triage_unusable_files_write_nothing(run, tmp_path, name):
    data, _ = BAD_FILES[name]
    out = tmp_path / "out.csv"
    _error(run("triage", "-o", str(out), str(_write(tmp_path / "in.csv", data))))
    assert not out.exists() and list(tmp_path.iterdir()) == [tmp_path / "in.csv"]


@pytest.mark.integration
def test_triage_malformed_csv_lines_are_reported_and_the_rest_processed(run, tmp_path):
    text = (
        "id,text\n"
        "1,ものづくり補助金の締切は？\n"
        '2,"' + "長" * 200_000 + '"\n'
        "3,持続化補助金でチラシを作りたい,余分な列\n"
        "4,\n"
        "5,\x1b[31m\x00\n"
        "6,マナビDXについて\n"
        '7,"閉じていない引用符\n'
        "8,これは7行目の引用符に飲み込まれる\n"
    )
    src = _write(tmp_path / "in.csv", text.replace("\x00", ""))
    out = tmp_path / "out.jsonl"
    result = run("triage", "--today", "2026-03-01", "-o", str(out), str(src))
    _no_trace(result)
    assert result.exit_code == 1
    ids = [json.loads(x)["id"] for x in out.read_text(encoding="utf-8").splitlines()]
    assert ids == ["1", "6"]
    for n in (3, 4, 5, 6, 8):
        assert f"{n}行目" in result.stderr, result.stderr
    assert "引用符" in result.stderr and "長すぎ" in result.stderr


@pytest.mark.integration
def test_triage_output_that_cannot_be_written_is_an_error_and_leaves_nothing(run, tmp_path):
    src = _write(tmp_path / "in.jsonl", json.dumps({"id": "1", "text": "持続化補助金の締切は？"}, ensure_ascii=False))
    target = tmp_path / "out.csv"
    target.mkdir()  # a folder where the file should go
    result = run("triage", "-o", str(target), str(src))
    _error(result, code=1)
    assert "書き込めません" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.csv"] and not any(target.iterdir())


@pytest.mark.integration
def test_triage_one_failing_inquiry_does_not_lose_the_others(run, tmp_path, monkeypatch, caplog):
    from assistant.triage.triage import Triage

    real = Triage.run

    def flaky(self, iid, text, today):
        if iid == "boom":
            raise RuntimeError(f"unexpected failure on {text}")
        return real(self, iid, text, today)

    monkeypatch.setattr(Triage, "run", flaky)
    lines = [{"id": "a", "text": "持続化補助金の締切は？"}, {"id": "boom", "text": "山田様 090-1234-5678"},
             {"id": "c", "text": "マナビDXについて"}]
    src = _write(tmp_path / "in.jsonl", "\n".join(json.dumps(x, ensure_ascii=False) for x in lines))
    out = tmp_path / "out.jsonl"
    result = run("triage", "--today", "2026-03-01", "-o", str(out), str(src))
    assert result.exit_code == 1 and "boom" in result.stderr
    assert [json.loads(x)["id"] for x in out.read_text(encoding="utf-8").splitlines()] == ["a", "c"]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "RuntimeError" in logged and "090-1234-5678" not in logged and "山田" not in logged


@pytest.mark.integration
def test_triage_bad_date_option(run, tmp_path):
    src = _write(tmp_path / "in.jsonl", json.dumps({"id": "1", "text": "x"}))
    assert "2026-03-01" in _error(run("triage", "--today", "2026-13-45", str(src)))


def test_utf16_excel_text_is_read(tmp_path):
    path = _write(tmp_path / "in.txt", "id\ttext\r\n1\tものづくり補助金について\r\n".encode("utf-16"))
    assert read_inquiries(path) == ([("1", "ものづくり補助金について")], [])


# ------------------------------------------------------------------------------------------------ app handlers


def _last(gen) -> str:
    parts = list(gen)
    return parts[-1] if parts else ""


@pytest.mark.integration
@pytest.mark.parametrize("question", list(BAD_QUESTIONS.values())[:4], ids=list(BAD_QUESTIONS)[:4])
def test_chat_handler_answers_empty_questions_with_a_message(assistant, question):
    session = chat.Session()
    text = _last(chat.respond(assistant, session, question))
    assert "質問が空です" in text and session.last is None


@pytest.mark.integration
def test_chat_handler_cuts_a_1mb_question_at_once(assistant):
    start = time.perf_counter()
    text = _last(chat.respond(assistant, chat.Session(), "持続化補助金の補助上限は？" + "あ" * 1_000_000))
    assert time.perf_counter() - start < 5
    assert "最初の2,000文字" in text and "1,000,013文字" in text


@pytest.mark.integration
def test_chat_handler_never_shows_a_trace(assistant, monkeypatch, caplog):
    def broken(*_a, **_k):
        raise RuntimeError("secret 山田太郎 090-1234-5678")

    monkeypatch.setattr(assistant, "ask_stream", broken)  # what the chat handler calls
    text = _last(chat.respond(assistant, chat.Session(), "山田太郎です。090-1234-5678。持続化補助金は？"))
    assert text == chat.INTERNAL_ERROR
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "RuntimeError" in logged and "山田太郎" not in logged and "090-1234-5678" not in logged


@pytest.mark.integration
@pytest.mark.parametrize(
    "employees, expense, expected",
    [
        (float("nan"), "800万円", "0以上の整数"),
        (-1, "800万円", "0以上の整数"),
        (2.5, "800万円", "0以上の整数"),
        (float("inf"), "800万円", "0以上の整数"),
        ("abc", "800万円", "0以上の整数"),
        (10, "nan", "金額として読めません"),
        (10, "-1", "1円以上"),
        (10, "0", "1円以上"),
        (10, "9" * 5000, "大きすぎます"),
        (10, "\x00\x1b", "金額として読めません"),
    ],
)
def test_calculator_form_bad_values(assistant, employees, expense, expected):
    md, src = chat.run_calculator(assistant, "shoryokuka", "r5_hosei", "catalog", "", employees, expense, [])
    assert md.startswith("⚠️") and expected in md and src == ""


@pytest.mark.integration
@pytest.mark.parametrize(
    "program, edition, frame, condition, expected",
    [
        ("架空補助金", "", "", [], "計算規則はありません"),
        ("shoryokuka", "r99", "catalog", [], "版は見つかりません"),
        ("shoryokuka", "", "no_such_frame", [], "枠は見つかりません"),
        ("shoryokuka", "", "catalog", ["no_such_condition"], "わかりません"),
    ],
)
def test_calculator_form_unknown_programs_editions_frames(assistant, program, edition, frame, condition, expected):
    md, _ = chat.run_calculator(assistant, program, edition, frame, "", 10, "800万円", condition)
    assert md.startswith("⚠️") and expected in md


@pytest.fixture(scope="module")
def engine(assistant):
    from assistant.triage.triage import Triage

    return Triage(assistant)


@pytest.mark.integration
@pytest.mark.parametrize("name", ["binary", "undecodable", "empty", "only bad lines"])
def test_triage_tab_unusable_uploads(engine, tmp_path, name):
    data, _ = BAD_FILES[name]
    out_dir = tmp_path / "out"
    msg, rows, path = chat.run_triage_file(engine, str(_write(tmp_path / "in.jsonl", data)), "", out_dir)
    assert msg.startswith("⚠️") and rows == [] and path is None
    assert not out_dir.exists() or not any(out_dir.iterdir())


@pytest.mark.integration
def test_triage_tab_lists_bad_lines_and_keeps_good_ones(engine, tmp_path):
    text = '{"id": "a", "text": "持続化補助金の締切は？"}\nnot json\n{"id": "b"}\n'
    msg, rows, path = chat.run_triage_file(engine, str(_write(tmp_path / "in.jsonl", text)), "2026-03-01", tmp_path)
    assert [r[0] for r in rows] == ["a"] and "2行目" in msg and "3行目" in msg and Path(path).exists()
    msg, rows, path = chat.run_triage_file(engine, str(tmp_path / "in.jsonl"), "来週", tmp_path)
    assert "2026-03-01 の形" in msg and path is None


@pytest.mark.integration
def test_feedback_bad_rating_and_huge_comment(assistant, tmp_path):
    session = chat.Session()
    _last(chat.respond(assistant, session, GOOD))
    path = tmp_path / "fb.jsonl"
    assert "選んでください" in chat.save_feedback(path, session, "excellent", "", threading.Lock())
    assert not path.exists()
    chat.save_feedback(path, session, "bad", "x" * 1_000_000, threading.Lock())
    assert len(json.loads(path.read_text(encoding="utf-8"))["comment"]) == 2000


# ------------------------------------------------------------------------------------------------ settings


@pytest.mark.parametrize(
    "env, expected",
    [
        ({"ASSISTANT_TOP_K": "abc"}, "ASSISTANT_TOP_K は数値"),
        ({"ASSISTANT_PORT": "80a"}, "ASSISTANT_PORT は数値"),
        ({"ASSISTANT_PORT": "99999"}, "ポート番号"),
        ({"ASSISTANT_RETRIEVER": "magic"}, "検索方式"),
        ({"ASSISTANT_LOG_QUESTIONS": "maybe"}, "1 か 0"),
    ],
)
def test_bad_environment_variables(env, expected):
    with pytest.raises(InputError, match=expected):
        Settings.from_env(env)


def test_app_refuses_a_bad_port_with_a_japanese_message(monkeypatch):
    from assistant.app import ui

    monkeypatch.setenv("ASSISTANT_PORT", "abc")
    with pytest.raises(SystemExit) as exc:
        ui.main([])
    assert "エラー:" in str(exc.value) and "ASSISTANT_PORT" in str(exc.value)
