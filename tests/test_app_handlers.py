"""The app's handlers without the UI: streaming, over-long questions, per-session memory, calculator form, feedback."""

from __future__ import annotations

import json
import threading

import pytest

from assistant.app import chat

pytestmark = pytest.mark.integration


def _last(gen) -> str:
    parts = list(gen)
    return parts[-1] if parts else ""


def test_answer_streams_in_growing_chunks(assistant):
    session = chat.Session()
    parts = list(chat.respond(assistant, session, "ものづくり補助金の補助率は？"))
    assert len(parts) > 1 and all(parts[i] == parts[i + 1][: len(parts[i])] for i in range(len(parts) - 1))
    assert "[1]" in parts[-1] and session.last is not None


def test_over_long_question_is_cut_with_a_message(assistant):
    text = _last(chat.respond(assistant, chat.Session(), "持続化補助金の締切は？" + "あ" * 5000))
    assert "最初の2,000文字" in text


def test_sessions_keep_their_own_calculation_context(assistant):
    a, b = chat.Session(), chat.Session()
    first = "令和5年度補正の省力化投資補助金 カタログ型 従業員10名で2,000万円の機械ならいくら？"
    _last(chat.respond(assistant, a, first))
    assert "750万円 です" in _last(chat.respond(assistant, a, "賃上げもする場合は？"))
    assert "750万円" not in _last(chat.respond(assistant, b, "賃上げもする場合は？"))


def test_older_deck_badge_and_highlighted_sources(assistant):
    session = chat.Session()
    _last(chat.respond(assistant, session, "ものづくり補助金のグローバル枠の補助上限はいくらですか？"))
    html = chat.sources_html(session.last)
    assert '<mark class="used">' in html and "スライド" in html
    if any(c.older for c in session.last.citations):
        assert chat.OLDER_BADGE in chat.answer_markdown(session.last)


def test_calculator_form(assistant):
    md, src = chat.run_calculator(assistant, "shoryokuka", "r5_hosei", "catalog", "", 10, "800万円", [])
    assert "補助額: 400万円" in md and "002_1ca539d7a2e31e25.txt" in src
    md, _ = chat.run_calculator(assistant, "shoryokuka", "", "general", "", None, "-3", [])
    assert md.startswith("⚠️") and "1円以上" in md
    md, _ = chat.run_calculator(assistant, None, "", "", "", None, "", [])
    assert "制度を選んでください" in md


def test_feedback_appends_jsonl_and_refuses_without_an_answer(assistant, tmp_path):
    path = tmp_path / "fb" / "feedback.jsonl"
    lock = threading.Lock()
    session = chat.Session()
    assert "まだありません" in chat.save_feedback(path, session, "good", "", lock)
    _last(chat.respond(assistant, session, "マナビDXとは何ですか"))
    assert "保存しました" in chat.save_feedback(path, session, "good", "わかりやすい", lock)
    record = json.loads(path.read_text(encoding="utf-8"))
    assert record["rating"] == "good" and record["question"] == "マナビDXとは何ですか"
