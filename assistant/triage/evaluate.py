"""Scores triage against a labelled set (eval/triage_dev.yaml): programs top-1 / top-3, contacts, needs_human,
category."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DataError
from ..yamlio import load_yaml
from .triage import Triage, TriageResult

REQUIRED = ("id", "text", "programs", "category", "contacts", "needs_human")


def _norm(s: str) -> str:
    return s.replace("ー", "-").replace("−", "-").strip()


@dataclass(frozen=True)
class Judgement:
    """How one triage result compares with its labels."""

    top1: bool  # the first program is a gold one (off-topic: no program, or flagged for a person)
    top3: bool  # the first gold program is among the first three (off-topic: as top1)
    contact: bool | None  # a gold contact is among those given; None when the labels give none


def judge(result: TriageResult, programs: list[str], contacts: list[str]) -> Judgement:
    predicted = [d["id"] for d in result.program_details]
    if programs:
        ok1 = bool(predicted) and predicted[0] in programs
        ok3 = programs[0] in predicted[:3]
    else:
        ok1 = ok3 = not predicted or result.needs_human
    contact = None
    if contacts:
        given = {_norm(c) for c in result.contacts}
        contact = any(_norm(c) in given for c in contacts)
    return Judgement(ok1, ok3, contact)


@dataclass
class TriageScore:
    n: int = 0
    top1: float = 0.0
    top3: float = 0.0
    contact_accuracy: float = 0.0
    needs_human_accuracy: float = 0.0
    category_accuracy: float = 0.0
    per_second: float = 0.0
    failures: list[dict] = field(default_factory=list)

    def table(self) -> dict[str, float]:
        return {k: round(v, 3) for k, v in vars(self).items() if isinstance(v, float)}


def load_triage_set(path: Path) -> list[dict]:
    data = load_yaml(path)
    if not isinstance(data, list):
        raise DataError(f"{path.name}: 問い合わせのリストではありません。")
    for i, item in enumerate(data, 1):
        missing = [k for k in REQUIRED if k not in item]
        if missing:
            raise DataError(f"{path.name}: {i}件目（{item.get('id')}）に {', '.join(missing)} がありません。")
    return data


def evaluate_triage(engine: Triage, items: list[dict], today: dt.date, holdout: str | None = None) -> TriageScore:
    """Top-1: the first program is a gold one (an off-topic item: no program, or flagged for a person). Top-3: the
    first gold program is among the first three. Contacts: a gold contact is among the contacts given. ``holdout``:
    the file the items come from, whose examples the engine does not use (the set is scored as unseen)."""
    score = TriageScore(n=len(items))
    top1 = top3 = contact_n = contact_ok = human_ok = cat_ok = 0
    start = time.perf_counter()
    with engine.holding_out(holdout):
        results = [engine.run(item["id"], item["text"], today) for item in items]
    elapsed = time.perf_counter() - start
    for item, r in zip(items, results, strict=True):
        verdict = judge(r, list(item["programs"]), list(item["contacts"]))
        problems = []
        top1 += verdict.top1
        top3 += verdict.top3
        if not verdict.top1:
            problems.append(f"top1={[d['id'] for d in r.program_details][:1]} gold={item['programs']}")
        if verdict.contact is not None:
            contact_n += 1
            if verdict.contact:
                contact_ok += 1
            else:
                problems.append(f"contacts={r.contacts[:3]} gold={item['contacts']}")
        human_ok += r.needs_human == item["needs_human"]
        if r.needs_human != item["needs_human"]:
            problems.append(f"needs_human={r.needs_human} ({'; '.join(r.needs_human_reasons)})")
        cat_ok += r.category == item["category"]
        if problems:
            score.failures.append({"id": item["id"], "text": item["text"][:60], "problems": problems})
    n = max(len(items), 1)
    score.top1, score.top3 = top1 / n, top3 / n
    score.contact_accuracy = contact_ok / max(contact_n, 1)
    score.needs_human_accuracy, score.category_accuracy = human_ok / n, cat_ok / n
    score.per_second = len(items) / elapsed if elapsed else 0.0
    return score
