"""Development benchmark by retriever mode (eval/run_dev.py): citation hit@1/hit@5/MRR, answer fragments, abstention.

Gold slides are given by source file and a quoted snippet, located in the current segmentation at run time,
so the gold survives re-segmentation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ..service import Assistant
from ..text import nfkc
from .dataset import Item, gold_slides
from .runner import percentiles


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
    res.latency_p50_ms, res.latency_p95_ms = percentiles(latencies)
    return res
