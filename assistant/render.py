"""Readable terminal rendering of an answer."""

from __future__ import annotations

from .answer.types import Answer


def render_answer(answer: Answer) -> str:
    head = f"[{answer.id}] " if answer.id else ""
    lines = [f"{head}Q: {answer.question}", "", answer.answer]
    if answer.citations:
        lines.append("")
        for i, c in enumerate(answer.citations, 1):
            mark = "（古い資料）" if c.older else ""
            lines.append(f"[{i}] {c.source_file} スライド{c.slide}「{c.title}」{mark} {c.issuer} {c.date_label}"
                         f"（{c.line_start}〜{c.line_end}行目）")
            for q in c.quotes:
                lines.append(f"    > {q}")
    lines.append("")
    return "\n".join(lines)
