"""Privacy: questions and inquiries are not logged by default; the evaluators' log (ASSISTANT_LOG_QUESTIONS=1) and
the feedback file hold them with personal data masked."""

from __future__ import annotations

import json
import logging
import threading

import pytest
from click.testing import CliRunner

from assistant.app import chat
from assistant.cli import cli
from assistant.privacy import QuestionLog, mask_personal, without_contact_details
from assistant.settings import Settings

PERSONAL = "山田太郎様（090-1234-5678、yamada@example.co.jp、〒700-0024、1丁目2番3号）より"
SECRETS = ("山田太郎", "090-1234-5678", "yamada@example.co.jp", "700-0024", "1丁目2番3号")


@pytest.mark.parametrize(
    "text, masked",
    [
        ("山田太郎様より電話", "[氏名]様より電話"),
        ("田中 花子さんから", "[氏名]さんから"),
        ("スミスさんの件", "[氏名]さんの件"),
        ("私は鈴木一郎と申します", "私は[氏名]と申します"),
        ("電話 090-1234-5678 まで", "電話 [電話番号] まで"),
        ("TEL 086(223)1234", "TEL [電話番号]"),
        ("詳細は https://example.jp/a（第2版）をご覧ください", "詳細は [URL](第2版)をご覧ください"),
        ("携帯09012345678", "携帯[電話番号]"),
        ("+81-3-1234-5678", "[電話番号]"),
        ("ito@example.co.jp へ", "[メール] へ"),
        ("〒700-0024 岡山市", "[郵便番号] 岡山市"),
        ("霞が関1丁目3番1号", "霞が関[番地]"),
        ("カード 4111-1111-1111-1111", "カード [番号]"),
        ("お客様、担当者様、皆様", "お客様、担当者様、皆様"),
    ],
)
def test_mask_personal(text, masked):
    assert mask_personal(text) == masked


def test_masking_keeps_what_the_answer_needs():
    text = "ものづくり補助金で1,000万円の設備、従業員5名。2026年3月1日締切、補助率2/3、0570-666-376 は事務局？"
    out = mask_personal(text)
    for kept in ("ものづくり補助金", "1,000万円", "5名", "2026年3月1日", "2/3"):
        assert kept in out
    assert "0570-666-376" not in out  # a phone number in a question is masked whoever it belongs to


def test_settings_switch():
    assert Settings.from_env({}).log_questions is False
    assert Settings.from_env({"ASSISTANT_LOG_QUESTIONS": "1"}).log_questions is True
    assert Settings.from_env({"ASSISTANT_LOG_QUESTIONS": "off"}).log_questions is False
    assert QuestionLog.for_settings(Settings.from_env({})).enabled is False


def _run(settings, *args, env=None):
    return CliRunner().invoke(cli, ["--index-dir", str(settings.index_dir), *args], env=env)


@pytest.mark.integration
def test_nothing_is_logged_by_default(settings, tmp_path, caplog, monkeypatch):
    monkeypatch.chdir(tmp_path)
    question = PERSONAL + "持続化補助金の補助上限は？"
    inquiries = tmp_path / "in.jsonl"
    inquiries.write_text(json.dumps({"id": "p", "text": question}, ensure_ascii=False), encoding="utf-8")
    log = tmp_path / "questions.jsonl"
    env = {"ASSISTANT_QUESTION_LOG": str(log), "ASSISTANT_LOG_QUESTIONS": ""}
    with caplog.at_level(logging.DEBUG):
        asked = _run(settings, "ask", question, env=env)
        triaged = _run(settings, "triage", "--json", "--today", "2026-03-01", str(inquiries), env=env)
    assert asked.exit_code == 0 and triaged.exit_code == 0
    logged = "\n".join(r.getMessage() for r in caplog.records) + asked.stderr + triaged.stderr
    assert not any(s in logged for s in SECRETS)
    assert not log.exists()


@pytest.mark.integration
def test_evaluators_log_is_masked(settings, tmp_path):
    log = tmp_path / "logs" / "questions.jsonl"
    env = {"ASSISTANT_LOG_QUESTIONS": "1", "ASSISTANT_QUESTION_LOG": str(log)}
    inquiries = tmp_path / "in.jsonl"
    inquiries.write_text(json.dumps({"id": "p", "text": PERSONAL + "チラシを作りたい"}, ensure_ascii=False),
                         encoding="utf-8")
    assert _run(settings, "ask", PERSONAL + "持続化補助金の補助上限は？", env=env).exit_code == 0
    assert _run(settings, "triage", "--json", "--today", "2026-03-01", str(inquiries), env=env).exit_code == 0
    entries = [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines()]
    assert [e["surface"] for e in entries] == ["ask", "triage"]
    raw = log.read_text(encoding="utf-8")
    assert not any(s in raw for s in SECRETS)
    text = entries[0]["text"]
    assert "[氏名]様" in text and "[電話番号]" in text and "持続化補助金" in text
    assert entries[0]["citations"] and entries[1]["programs"]  # a caller's name does not make it abstain


@pytest.mark.integration
def test_feedback_stores_the_question_and_comment_masked(assistant, tmp_path):
    session = chat.Session()
    list(chat.respond(assistant, session, PERSONAL + "マナビDXとは何ですか"))
    path = tmp_path / "feedback.jsonl"
    chat.save_feedback(path, session, "good", "折り返しは 03-9876-5432 の佐藤さんまで", threading.Lock())
    raw = path.read_text(encoding="utf-8")
    assert not any(s in raw for s in (*SECRETS, "03-9876-5432", "佐藤"))
    record = json.loads(raw)
    assert "マナビDX" in record["question"] and "[電話番号]" in record["comment"] and record["citations"]


def test_an_unwritable_question_log_never_stops_an_answer(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    log = QuestionLog(blocker / "questions.jsonl")  # a path under a file cannot be created
    with caplog.at_level(logging.WARNING):
        log.record("ask", "山田太郎様の質問")
    assert "question log not written" in caplog.text and "山田" not in caplog.text


def test_contact_details_are_left_out_of_the_words_of_an_inquiry():
    text = "DX認定について（yamada@example.co.jp、090-1234-5678、https://example.jp/a）教えてください"
    left = without_contact_details(text)
    assert all(s not in left for s in ("yamada", "example", "090-1234-5678", "https"))
    assert left.startswith("DX認定について") and left.endswith("教えてください")
    assert without_contact_details("令和7年度 第3回 20日締切") == "令和7年度 第3回 20日締切"  # dates are not phones
