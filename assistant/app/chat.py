"""What the Gradio handlers do, without Gradio: answer a chat turn, render sources, run the calculator form, save
feedback. Each function takes the loaded Assistant and per-session state explicitly, so sessions never share state and
the handlers are testable without launching the UI."""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..answer.types import Answer
from ..errors import AssistantError, InputError
from ..generate.events import DONE, TEXT
from ..generate.note import generation_note
from ..privacy import log_failure, mask_personal
from ..service import Assistant
from ..text import display_line, nfkc, strip_controls
from ..tools.calculator import CalcRequest, yen_ja
from ..tools.parse import parse_expense

log = logging.getLogger("assistant.app")

NOTICE = (
    "表示する金額・条件は経済産業局の資料に基づく参考情報です。"
    "申請前に必ず最新の公募要領・事務局の案内で確認してください。"
)
INTERNAL_ERROR = "申し訳ありません。内部でエラーが起きました。質問を短くするか、時間をおいてもう一度お試しください。"
OLDER_BADGE = "🕘 古い資料の数値を含みます"
STREAM_CHUNK = 24  # characters per streamed update
GENERATING = "生成中… 出典のスライドと照合できた行だけを表示しています"


@dataclass
class Session:
    """One browser session's conversation: the calculator facts carried between turns and the last answer."""

    context: object | None = None
    last: Answer | None = None


def cut_question(question: str, max_chars: int) -> tuple[str, str | None]:
    """An over-long question is cut (not refused) in the app, with a message saying so. Measured after NFKC and
    without control characters, as the assistant counts it; a 1 MB paste is cut before it is normalised."""
    raw = question or ""
    q = " ".join(strip_controls(nfkc(raw[: 10 * max_chars])).split())
    if len(q) <= max_chars and len(raw) <= 10 * max_chars:
        return q, None
    total = max(len(raw), len(q))
    note = f"質問が長すぎるため、最初の{max_chars:,}文字だけを使って回答しました（全体で{total:,}文字）。"
    return q[:max_chars], note


def answer_markdown(answer: Answer) -> str:
    """The chat bubble: the answer with its [n] markers, a badge when an older deck's figure is shown, a note on
    generation when a chat model is set up."""
    text = answer.answer
    if any(c.older for c in answer.citations):
        text = f"**{OLDER_BADGE}**\n\n{text}"
    note = generation_note(answer)
    if note:
        text = f"{text}\n\n_※ {note}_"
    return text.replace("\n", "  \n")  # markdown line breaks


def respond(assistant: Assistant, session: Session, question: str) -> Iterator[str]:
    """Answer one chat turn, yielding the growing reply (the answer streams); updates ``session``."""
    q, cut_note = cut_question(question, assistant.settings.max_question_chars)
    prefix = f"※ {cut_note}  \n\n" if cut_note else ""
    answer = None
    streamed = False
    try:
        for event in assistant.ask_stream(q, context=session.context):
            if event.kind == DONE:
                answer = event.answer
            elif event.kind == TEXT:  # a chat model's lines, each already checked against its cited slides
                streamed = True
                yield f"{prefix}_{GENERATING}_  \n\n" + event.text.replace("\n", "  \n")
            else:
                yield f"{prefix}_{event.text}_"
    except AssistantError as exc:
        yield str(exc)
        return
    except Exception as exc:  # a user never sees a stack trace; the log gets it (without the question text)
        log_failure(log, "chat turn failed", exc)
        yield INTERNAL_ERROR
        return
    session.context = answer.context if answer.context is not None else session.context
    session.last = answer
    full = prefix + answer_markdown(answer)
    if streamed:  # the model's text was shown as it came; the final answer (or the fallback) replaces it at once
        yield full
        return
    for end in range(STREAM_CHUNK, len(full) + STREAM_CHUNK, STREAM_CHUNK):
        yield full[:end]


def _highlight(text: str, quotes: tuple[str, ...]) -> str:
    squashed = [" ".join(q.split()) for q in quotes]
    rows = []
    for raw in text.split("\n"):
        shown = display_line(raw)
        if not shown:
            continue
        flat = " ".join(shown.split())
        used = any(q and (q in flat or flat in q) and len(flat) >= 2 for q in squashed)
        esc = html.escape(shown)
        rows.append(f'<mark class="used">{esc}</mark>' if used else esc)
    return "<br>".join(rows)


def sources_html(answer: Answer | None) -> str:
    """The sources panel: each cited slide with issuer, date, slide number, title and full text, used lines marked."""
    if answer is None or not answer.citations:
        return '<div class="sources-empty">出典はまだありません。</div>'
    parts = []
    for i, c in enumerate(answer.citations, 1):
        badge = f' <span class="badge-older">{OLDER_BADGE}</span>' if c.older else ""
        parts.append(
            f'<details class="source" open><summary><b>[{i}]</b> {html.escape(c.issuer)}（{html.escape(c.date_label)}）'
            f" — {html.escape(c.source_file)} スライド{c.slide}「{html.escape(c.title)}」{badge}</summary>"
            f'<div class="slide-text">{_highlight(c.text, c.quotes)}</div></details>'
        )
    return '<div class="sources">' + "".join(parts) + "</div>"


def save_feedback(path: Path, session: Session, rating: str, comment: str, lock: threading.Lock) -> str:
    """Append one good/bad rating (with an optional comment) on the last answer to a local JSONL file."""
    if session.last is None:
        return "評価する回答がまだありません。先に質問してください。"
    if rating not in ("good", "bad"):
        return "「良い」か「良くない」を選んでください。"
    record = {  # the question and comment with personal data masked (names, phones, e-mails, addresses)
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "rating": rating,
        "comment": mask_personal((comment or "").strip()[:2000]),
        "question": mask_personal(session.last.question),
        "answer": session.last.answer,
        "abstained": session.last.abstained,
        "citations": [{"source_file": c.source_file, "slide": c.slide} for c in session.last.citations],
        "tool_calls": [c["tool"] for c in session.last.tool_calls],
    }
    with lock:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return "ありがとうございます。評価を保存しました。"


# ------------------------------------------------------------------------------------------------ calculator tab


def program_choices(assistant: Assistant) -> list[tuple[str, str]]:
    return [(p.name, pid) for pid, p in assistant.rulebook.programs.items()]


def edition_choices(assistant: Assistant, program: str | None) -> list[tuple[str, str]]:
    rules = assistant.rulebook.get(program or "")
    if rules is None:
        return []
    return [("最新の資料", "")] + [(f"{e.label}（{e.date:%Y年%-m月}）", e.id) for e in rules.newest_first()]


def frame_choices(assistant: Assistant, program: str | None, edition: str | None) -> list[tuple[str, str]]:
    rules = assistant.rulebook.get(program or "")
    if rules is None:
        return []
    eds = [rules.edition(edition)] if edition else rules.newest_first()
    seen: dict[str, str] = {}
    for ed in eds:
        for f in ed.frames if ed else []:
            seen.setdefault(f.id, f.name)
    return [(name, fid) for fid, name in seen.items()]


def size_choices(assistant: Assistant) -> list[tuple[str, str]]:
    return [("指定なし", "")] + [(t.label, sid) for sid, t in assistant.rulebook.vocabulary.sizes.items()]


def condition_choices(assistant: Assistant) -> list[tuple[str, str]]:
    return [(t.label, cid) for cid, t in assistant.rulebook.vocabulary.conditions.items()]


def _employees(value: object) -> int | None:
    """The form's employee count: empty → None; not a whole number of 0 or more → a Japanese error."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError("従業員数は0以上の整数で入力してください。") from None
    if not math.isfinite(number) or number < 0 or not number.is_integer():
        raise InputError("従業員数は0以上の整数で入力してください。")
    return int(number)


def run_calculator(
    assistant: Assistant,
    program: str | None,
    edition: str | None,
    frame: str | None,
    size: str | None,
    employees: float | None,
    expense: str | None,
    conditions: list[str] | None,
) -> tuple[str, str]:
    """The calculator form → (result markdown, sources html). Errors come back as a message, never a trace."""
    try:
        if not program:
            return "制度を選んでください。", ""
        yen = parse_expense(expense)
        req = CalcRequest(
            program=program,
            frame=frame or None,
            edition=edition or None,
            size=size or None,
            employees=_employees(employees),
            expense_yen=yen,
            conditions=frozenset(conditions or []),
        )
        result = assistant.calculate(req)
    except AssistantError as exc:
        return f"⚠️ {exc}", ""
    except Exception as exc:
        log_failure(log, "calculator form failed", exc)
        return INTERNAL_ERROR, ""
    amount = result.amount_ja()
    if result.subsidy_yen is not None:
        head = f"### 補助額: {amount}"
    elif amount:
        head = f"### 補助額: {amount}（資料だけでは1つに決まりません）"
    else:
        cap = yen_ja(result.cap_yen) if result.cap_yen is not None else "範囲のみ"
        head = f"### 補助上限: {cap}（補助率 {result.rate}）"
    lines = [head, f"{result.program_name}「{result.frame_name}」— {result.edition['label']}", "", "**計算**"]
    lines += [f"1. {s}" for s in result.steps]
    if result.warnings or result.missing:
        lines += ["", "**注意**"] + [f"- {w}" for w in result.warnings] + [f"- 不足: {m}" for m in result.missing]
    lines += ["", f"_{NOTICE}_"]
    src = []
    for i, s in enumerate(result.sources, 1):
        src.append(
            f'<div class="source"><b>[{i}]</b> {html.escape(s.get("issuer", ""))}'
            f"（{html.escape(s.get('date_label', ''))}）"
            f" — {html.escape(s['source_file'])} スライド{s['slide']}「{html.escape(s.get('title', ''))}」<br>"
            f'<mark class="used">{html.escape(s["quote"])}</mark></div>'
        )
    return "\n".join(lines), '<div class="sources">' + "".join(src) + "</div>"


# ------------------------------------------------------------------------------------------------ triage tab

TRIAGE_HEADERS = ["id", "要確認", "分類", "制度（上位）", "連絡先", "締切", "返信案"]


def run_triage_file(
    engine, path: str | None, today_text: str | None, out_dir: Path
) -> tuple[str, list[list[str]], str | None]:
    """An uploaded CSV/JSONL → (message, table rows, path of the CSV to download). Bad lines are listed, not fatal."""
    from ..triage.io import csv_text, read_inquiries, write_atomic

    if not path:
        return "ファイルを選んでください（CSV または JSONL、列は id, text）。", [], None
    try:
        today = dt.date.fromisoformat(today_text.strip()) if today_text and today_text.strip() else dt.date.today()
    except ValueError:
        return "日付は 2026-03-01 の形で入力してください。", [], None
    try:
        items, problems = read_inquiries(Path(path))
        results, failed = engine.run_all(items, today)
    except AssistantError as exc:
        return f"⚠️ {exc}", [], None
    except Exception as exc:
        log_failure(log, "triage upload failed", exc)
        return INTERNAL_ERROR, [], None
    problems = problems + [f"問い合わせ {iid}: 内部エラーのため振り分けられませんでした。" for iid in failed]
    rows = [
        [
            r["id"],
            "要確認" if r["needs_human"] else "",
            r["category"],
            " / ".join(r["programs"]),
            " / ".join(r["contacts"][:3]),
            " / ".join(f"{d['date']}{'（終了）' if d['past'] else ''}" for d in r["deadlines"] if d["kind"] == "締切"),
            r["reply"],
        ]
        for r in results
    ]
    out = out_dir / f"triage-{dt.datetime.now():%Y%m%d-%H%M%S-%f}.csv"
    try:
        write_atomic(out, [csv_text(results)], encoding="utf-8-sig")
    except OSError as exc:
        log_failure(log, "triage result not written", exc)
        return "結果のファイルを書き込めませんでした。空き容量と権限を確認してください。", [], None
    msg = f"{len(results)}件を振り分けました（要確認 {sum(r['needs_human'] for r in results)}件）。"
    if problems:
        msg += "\n\n読めなかった行:\n" + "\n".join(f"- {p}" for p in problems)
    return msg, rows, str(out)
