"""Development benchmark: citation hit@1/hit@5/MRR, answer-fragment accuracy, abstention accuracy.

Gold slides are given by source file and a quoted snippet, located in the current segmentation at run time,
so the gold survives re-segmentation.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import DataError
from .ingest.corpus import Corpus
from .service import Assistant
from .text import clean_line, nfkc

Kind = Literal["lookup", "paraphrase", "conflict", "out_of_scope"]


class Gold(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source_file: str
    quote: str
    role: Literal["newest", "older"] = "newest"


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    kind: Kind
    question: str
    gold: list[Gold] = Field(default_factory=list)
    expected: list[str] = Field(default_factory=list)
    must_abstain: bool = False
    note: str = ""


def load_dataset(path: Path) -> list[Item]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        items = [Item.model_validate(x) for x in raw]
    except (OSError, yaml.YAMLError, ValidationError, TypeError) as exc:
        raise DataError(f"評価データ {path} を読めません: {exc}") from exc
    ids = [i.id for i in items]
    if len(ids) != len(set(ids)):
        raise DataError(f"評価データ {path}: id が重複しています。")
    return items


def gold_slides(item: Item, corpus: Corpus) -> list[tuple[str, int]]:
    """The slides holding the item's gold quotes (newest-role quotes only)."""
    out: list[tuple[str, int]] = []
    for g in item.gold:
        if g.role != "newest":
            continue
        quote = clean_line(g.quote).strip()
        found = [s for s in corpus.deck_slides(g.source_file) if quote in s.text]
        if not found:
            raise DataError(f"評価データ {item.id}: 引用「{g.quote}」が {g.source_file} のスライドに見つかりません。")
        key = (found[0].source_file, found[0].number)
        if key not in out:
            out.append(key)
    return out


@dataclass
class ModeResult:
    mode: str
    n: int = 0
    hit1: float = 0.0
    hit5: float = 0.0
    mrr: float = 0.0
    fragment_accuracy: float = 0.0
    abstention_accuracy: float = 0.0
    latency_p50_ms: float = 0.0
    latency_p95_ms: float = 0.0
    failures: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items() if k != "failures"}


def evaluate(assistant: Assistant, items: list[Item], mode: str) -> ModeResult:
    res = ModeResult(mode=mode)
    hit1 = hit5 = rr = frag_ok = frag_n = abst_ok = 0.0
    latencies: list[float] = []
    retr_n = 0
    for item in items:
        started = time.perf_counter()
        hits = assistant.retriever.search(item.question, k=5, mode=mode)
        programs = assistant.retriever.programs_in(item.question)
        answer = assistant.composer.compose(item.question, hits, programs)
        latencies.append((time.perf_counter() - started) * 1000)
        # The answer's own citations come first (the composer may prefer a newer deck), then retrieval order.
        cited = [(c.source_file, c.slide) for c in answer.citations if not c.older]
        ranked = list(dict.fromkeys(cited + [(h.slide.source_file, h.slide.number) for h in hits]))[:5]
        problems: list[str] = []
        if answer.abstained == item.must_abstain:
            abst_ok += 1
        else:
            problems.append("abstained" if answer.abstained else "should_abstain")
        if not item.must_abstain:
            gold = gold_slides(item, assistant.corpus)
            retr_n += 1
            rank = next((i for i, key in enumerate(ranked, 1) if key in gold), None)
            if rank == 1:
                hit1 += 1
            if rank is not None and rank <= 5:
                hit5 += 1
                rr += 1 / rank
            if rank != 1:
                problems.append(f"gold_rank={rank}")
            if item.expected:
                frag_n += 1
                text = nfkc(answer.answer)
                missing = [f for f in item.expected if nfkc(f) not in text]
                if not missing:
                    frag_ok += 1
                else:
                    problems.append("missing=" + "|".join(missing))
        if problems:
            res.failures.append({"id": item.id, "kind": item.kind, "question": item.question,
                                 "problems": problems, "top": ranked[:3]})
    res.n = len(items)
    res.hit1 = hit1 / max(1, retr_n)
    res.hit5 = hit5 / max(1, retr_n)
    res.mrr = rr / max(1, retr_n)
    res.fragment_accuracy = frag_ok / max(1, frag_n)
    res.abstention_accuracy = abst_ok / max(1, len(items))
    latencies.sort()
    res.latency_p50_ms = statistics.median(latencies)
    res.latency_p95_ms = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    return res
