"""Answers from the calculator: the amount, the arithmetic and the slides the rules cite, or the follow-up question."""

from __future__ import annotations

from ..ingest.corpus import Corpus
from ..tools.calculator import (
    STATUS_BELOW_MINIMUM,
    STATUS_CAP_ONLY,
    STATUS_OK,
    CalcRequest,
    CalcResult,
    MissingInputs,
    range_ja,
    yen_ja,
)
from .citations import citation_of
from .types import Answer, Citation, Quote

TOOL_NAME = "subsidy_calculator"
CONFIRM = "※ 金額は資料の記載に基づく試算です。申請前に必ず最新の公募要領・事務局の案内で確認してください。"


def _citations(result: CalcResult, corpus: Corpus) -> tuple[list[Citation], list[Quote]]:
    order: list[tuple[str, int]] = []
    quotes_by: dict[tuple[str, int], list[str]] = {}
    for src in result.sources:
        key = (src["source_file"], src["slide"])
        if key not in quotes_by:
            order.append(key)
            quotes_by[key] = []
        if src["quote"] not in quotes_by[key]:
            quotes_by[key].append(src["quote"])
    citations: list[Citation] = []
    quotes: list[Quote] = []
    for i, key in enumerate(order, start=1):
        citations.append(citation_of(corpus, corpus.slide(*key), quotes_by[key]))
        quotes.extend(Quote(" ".join(q.split()), i, 1.0) for q in quotes_by[key])
    return citations, quotes


def _headline(result: CalcResult) -> str:
    name = f"{result.program_name}「{result.frame_name}」"
    if result.status == STATUS_OK:
        return f"{name}の補助額は {yen_ja(result.subsidy_yen)} です（試算）。"
    if result.status == STATUS_BELOW_MINIMUM:
        return f"{name}では、この経費だと補助額が補助下限額に届かないため対象になりません。"
    if result.status == STATUS_CAP_ONLY:
        cap = yen_ja(result.cap_yen) if result.cap_yen is not None else _range(result.cap_range_yen)
        return f"{name}の補助上限は {cap}、補助率は {result.rate} です。"
    return f"{name}の補助額は {_range(result.subsidy_range_yen)} です。資料の情報だけでは1つに決まりません。"


def _range(pair: list[int | None] | None) -> str:
    if not pair:
        return "不明"
    return range_ja(*pair)


def calc_answer(question: str, req: CalcRequest, result: CalcResult, corpus: Corpus, notes: list[str]) -> Answer:
    citations, quotes = _citations(result, corpus)
    ed = result.edition
    marks = "".join(f"[{i}]" for i in range(1, len(citations) + 1))
    lines = [_headline(result) + f" {marks}", f"根拠: {ed['issuer']}の資料（{ed['label']}）"]
    lines += ["計算:"] + [f"・{s}" for s in result.steps]
    extra = [*notes, *result.warnings] + [f"不足している情報: {m}" for m in result.missing]
    if extra:
        lines += ["注意:"] + [f"・{w}" for w in extra]
    lines.append("引用: " + " / ".join(f"「{q.text}」[{q.citation}]" for q in quotes))
    lines.append(
        "出典: "
        + " / ".join(
            f"[{i}] {c.source_file} スライド{c.slide}「{c.title}」（{c.issuer}、{c.date_label}）"
            for i, c in enumerate(citations, 1)
        )
    )
    lines.append(CONFIRM)
    call = {"tool": TOOL_NAME, "input": req.to_dict(), "output": result.to_dict()}
    return Answer(
        question=question,
        answer="\n".join(lines),
        abstained=False,
        citations=citations,
        quotes=quotes,
        tool_calls=[call],
        programs=[result.program],
        notes=["calculation", result.status],
        tool_texts=list(notes),  # the parser's notes (小規模事業者 by the vocabulary's definition)
    )


def follow_up_answer(question: str, req: CalcRequest, missing: MissingInputs, program_name: str) -> Answer:
    known = []
    if program_name:
        known.append(f"制度: {program_name}" + (f"（{missing.frame}）" if missing.frame else ""))
    if req.expense_yen is not None:
        known.append(f"補助対象経費: {yen_ja(req.expense_yen)}")
    if req.employees is not None:
        known.append(f"従業員数: {req.employees}名")
    lines = ["補助額を計算するには、次の情報を教えてください。"]
    lines += [f"・{m.question}" for m in missing.missing]
    if known:
        lines.append("（わかっている条件: " + "、".join(known) + "）")
    answer = Answer(
        question=question,
        answer="\n".join(lines),
        abstained=False,
        programs=[req.program] if req.program else [],
        notes=["needs_input"],
    )
    answer.follow_up = {
        "missing": [m.key for m in missing.missing],
        "questions": [m.question for m in missing.missing],
        "choices": {m.key: list(m.choices) for m in missing.missing if m.choices},
    }
    return answer
