"""Readable terminal rendering of an answer."""

from __future__ import annotations

from .answer.types import Answer
from .generate.note import generation_note


def render_answer(answer: Answer) -> str:
    head = f"[{answer.id}] " if answer.id else ""
    lines = [f"{head}Q: {answer.question}", "", answer.answer]
    note = generation_note(answer)
    if note:
        lines += ["", f"※ {note}"]
    if answer.citations:
        lines.append("")
        for i, c in enumerate(answer.citations, 1):
            mark = "（古い資料）" if c.older else ""
            lines.append(
                f"[{i}] {c.source_file} スライド{c.slide}「{c.title}」{mark} {c.issuer} {c.date_label}"
                f"（{c.line_start}〜{c.line_end}行目）"
            )
            for q in c.quotes:
                lines.append(f"    > {q}")
    lines.append("")
    return "\n".join(lines)


def render_calc(result) -> str:
    """The calculator's result for a terminal: amount, steps, warnings, sources."""
    amount = result.amount_ja()
    if result.subsidy_yen is not None:
        head = f"補助額: {amount}"
    elif amount:
        head = f"補助額: {amount}（1つに決まりません）"
    else:
        head = "補助額: （経費の指定なし）"
    lines = [f"{result.program_name}「{result.frame_name}」 {result.edition['label']}", head, "", "計算:"]
    lines += [f"  {s}" for s in result.steps]
    if result.warnings or result.missing:
        lines += ["", "注意:"] + [f"  {w}" for w in result.warnings] + [f"  不足: {m}" for m in result.missing]
    lines += ["", "出典:"]
    for src in result.sources:
        lines.append(f"  {src['source_file']} スライド{src['slide']}「{src.get('title', '')}」: {src['quote']}")
    return "\n".join(lines)


def render_rules(book, as_json: bool = False) -> str:
    """Programs, editions and frames the calculator knows."""
    import json

    rows = [
        {
            "program": p.program,
            "name": p.name,
            "edition": e.id,
            "edition_label": e.label,
            "date": e.date.isoformat(),
            "frame": f.id,
            "frame_name": f.name,
        }
        for p in book.programs.values()
        for e in p.newest_first()
        for f in e.frames
    ]
    if as_json:
        return "\n".join(json.dumps(r, ensure_ascii=False) for r in rows)
    lines = []
    for r in rows:
        lines.append(
            f"{r['program']:<14} {r['edition']:<12} {r['frame']:<22} "
            f"{r['name']} / {r['edition_label']} / {r['frame_name']}"
        )
    return "\n".join(lines)
