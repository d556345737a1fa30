"""The figure check on every answer: a line stating a figure that no cited slide, tool output or (for calculations)
the user's own input supports is removed; an answer whose headline or every quoted line goes is withheld. The
result is recorded in ``answer.grounding`` (JSON ``grounding``)."""

from __future__ import annotations

from .grounding import Evidence, Grounding, check_figures
from .types import Answer

WITHHELD = (
    "資料やツールの計算結果で確認できない数値が含まれるため、この回答は表示しません。"
    "最寄りの経済産業局の相談窓口、よろず支援拠点、または中小企業119 にご相談いただくか、"
    "各事業の公募要領・事務局ホームページをご確認ください。"
)
REMOVED_NOTE = "※ 資料で確認できない数値を含む行を省きました。"


def _bad_lines(text: str, result: Grounding) -> set[int]:
    """Indices of the lines (of the NFKC text the check read; NFKC keeps line breaks) holding an ungrounded figure."""
    from ..text import nfkc

    starts = [0]
    for i, ch in enumerate(nfkc(text)):
        if ch == "\n":
            starts.append(i + 1)
    bad = set()
    for fig in result.ungrounded:
        bad.add(max(i for i, s in enumerate(starts) if s <= fig.start))
    return bad


def guard_answer(answer: Answer, evidence: Evidence, user_kinds: frozenset[str]) -> Answer:
    """Check ``answer`` in place; remove what is not grounded; record what was checked and done."""
    result = check_figures(answer.answer, evidence, user_kinds)
    record = {**result.to_dict(), "action": "none"}
    answer.grounding = record
    if result.ok:
        return answer
    lines = answer.answer.split("\n")
    bad = _bad_lines(answer.answer, result)
    kept = [line for i, line in enumerate(lines) if i not in bad]
    bullets = [i for i, line in enumerate(lines) if line.startswith("・")]
    if 0 in bad or (bullets and all(i in bad for i in bullets)):
        answer.answer = WITHHELD
        answer.abstained = True
        answer.citations = []
        answer.quotes = []
        record["action"] = "withheld"
    else:
        dropped = [lines[i] for i in sorted(bad)]
        answer.answer = "\n".join([*kept, REMOVED_NOTE])
        answer.quotes = [q for q in answer.quotes if not any(q.text in line for line in dropped)]
        record["action"] = "removed_lines"
    answer.notes.append("ungrounded_figures_" + record["action"])
    return answer
