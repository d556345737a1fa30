"""Run a dataset against one or more configurations: per-question outcomes and the summary metrics.

Each question goes through the same path a user's does (``Assistant.ask``: the calculator route or the retrieval
chain; triage items through the triage engine), so the figures measure the product, not a test double.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import InputError
from ..settings import DEFAULT_EMBED_MODEL, RETRIEVER_MODES, Settings
from ..text import nfkc
from ..yamlio import first_problem, load_yaml
from .dataset import KINDS, Item, gold_slides

COMPOSERS = ("extractive", "generator")
TODAY = dt.date(2026, 3, 1)  # triage deadlines are judged against a fixed day, so runs stay comparable


class RunConfig(BaseModel):
    """One configuration to evaluate: how to retrieve and how to compose the answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = "default"
    retriever: str = "hybrid"
    embed_model: str = DEFAULT_EMBED_MODEL
    top_k: int = Field(default=5, ge=1, le=50)
    composer: str = "extractive"
    generator: str = ""  # with composer: generator, the chat model (ollama:…, openai:…, transformers:…, gemma3-270m)
    generator_url: str = ""
    generator_slides: int | None = Field(default=None, ge=1, le=20)
    generator_max_tokens: int | None = Field(default=None, ge=16, le=8192)

    def check(self) -> None:
        if self.retriever not in RETRIEVER_MODES:
            modes = " / ".join(RETRIEVER_MODES)
            raise InputError(f"設定「{self.name}」: 検索方式「{self.retriever}」は使えません（{modes}）。")
        if self.composer not in COMPOSERS:
            raise InputError(
                f"設定「{self.name}」: 回答方式「{self.composer}」は使えません（{' / '.join(COMPOSERS)}）。"
            )
        if (self.composer == "generator") != bool(self.generator):
            raise InputError(f"設定「{self.name}」: composer: generator には generator（生成モデル）の指定が必要です"
                             "（extractive では指定しません）。")
        if self.generator:
            from ..generate.spec import parse_spec

            parse_spec(self.generator)

    def settings(self, base: Settings) -> Settings:
        generation = {"generator_slides": self.generator_slides, "generator_max_tokens": self.generator_max_tokens}
        return base.with_(retriever=self.retriever, embed_model=self.embed_model, top_k=self.top_k,
                          generator=self.generator, generator_url=self.generator_url or base.generator_url,
                          **{k: v for k, v in generation.items() if v is not None})


def load_configs(path: Path | None, base: Settings) -> list[RunConfig]:
    """``configs: [{name, retriever, embed_model, top_k, composer}, …]`` (YAML or JSON), or the default."""
    if path is None:
        return [RunConfig(retriever=base.retriever, embed_model=base.embed_model, top_k=base.top_k)]
    try:
        raw = load_yaml(path)
    except OSError as exc:
        raise InputError(f"設定ファイル {path} を読めません: {exc}") from exc
    entries = raw.get("configs") if isinstance(raw, dict) else raw
    if not isinstance(entries, list) or not entries:
        raise InputError(f"設定ファイル {path.name}: configs に設定を1つ以上書いてください。")
    try:
        configs = [RunConfig.model_validate(e) for e in entries]
    except ValidationError as exc:
        raise InputError(f"設定ファイル {path.name}: {first_problem(exc)}") from exc
    names = [c.name for c in configs]
    if len(set(names)) != len(names):
        raise InputError(f"設定ファイル {path.name}: 設定名 name が重複しています。")
    for c in configs:
        c.check()
    return configs


@dataclass
class ItemResult:
    """One question under one configuration: what came out and what went wrong."""

    config: str
    id: str
    kind: str
    question: str
    passed: bool
    problems: list[str]
    answer: str
    abstained: bool
    must_abstain: bool
    gold_rank: int | None = None  # 1-based rank of the first gold slide among cited-then-retrieved slides
    has_gold: bool = False
    yen: int | list[int] | None = None
    yen_exact: bool | None = None
    citations: list[str] = field(default_factory=list)
    contexts: list[str] = field(default_factory=list)  # cited slide texts (for RAGAS)
    predicted_programs: list[str] = field(default_factory=list)
    triage_top1: bool | None = None
    latency_ms: float = 0.0
    generation: str | None = None  # accepted / fallback when a chat model was asked; None otherwise
    generation_reasons: list[str] = field(default_factory=list)  # why a generated answer fell back (codes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _yen_of(tool_calls: list[dict]) -> int | list[int] | None:
    for call in reversed(tool_calls):
        out = call.get("output") or {}
        if out.get("subsidy_yen") is not None:
            return int(out["subsidy_yen"])
        if out.get("subsidy_range_yen"):
            return [int(x) if x is not None else 0 for x in out["subsidy_range_yen"]]
    return None


class Runner:
    """Evaluates items under one configuration (one loaded assistant)."""

    def __init__(self, config: RunConfig, base: Settings) -> None:
        from ..service import Assistant

        config.check()
        self.config = config
        self.assistant = Assistant.load(config.settings(base))
        self._triage = None

    def run(self, items: Iterable[Item], on_item: Callable[[ItemResult], None] | None = None) -> list[ItemResult]:
        out = []
        for item in items:
            result = self.triage(item) if item.kind == "triage" else self.ask(item)
            out.append(result)
            if on_item:
                on_item(result)
        return out

    def ask(self, item: Item) -> ItemResult:
        a = self.assistant
        started = time.perf_counter()
        context = None
        for turn in item.turns:
            context = a.ask(turn, context=context).context
        answer = a.ask(item.question, context=context)
        latency = (time.perf_counter() - started) * 1000
        text = nfkc(answer.answer)
        problems: list[str] = []
        if answer.abstained != item.must_abstain:
            problems.append("答えるべきでないのに回答" if answer.abstained is False else "回答すべきなのに回答を控えた")
        for pattern in item.forbidden:
            if re.search(pattern, text):
                problems.append(f"禁止パターン /{pattern}/ が回答にある")
        missing = [f for f in item.expected if nfkc(f) not in text]
        if missing and not answer.abstained:
            problems.append("回答に期待語がない: " + " | ".join(missing))
        yen = _yen_of(answer.tool_calls)
        exact = None
        if item.expected_yen is not None:
            exact = yen == item.expected_yen
            if not exact:
                problems.append(f"計算結果 {yen} ≠ 正解 {item.expected_yen}")
        cited = [(c.source_file, c.slide) for c in answer.citations if not c.older]
        rank = None
        has_gold = bool(item.gold) and not item.must_abstain
        if has_gold:
            gold = gold_slides(item, a.corpus)
            hits = a.retriever.search(item.question, k=self.config.top_k)
            ranked = list(dict.fromkeys(cited + [(h.slide.source_file, h.slide.number) for h in hits]))
            rank = next((i for i, key in enumerate(ranked, 1) if key in gold), None)
            if rank is None or rank > self.config.top_k:
                problems.append(f"正解スライドが上位{self.config.top_k}件にない（{_slides(gold)}）")
        return ItemResult(
            config=self.config.name, id=item.id, kind=item.kind, question=item.question, passed=not problems,
            problems=problems, answer=answer.answer, abstained=answer.abstained, must_abstain=item.must_abstain,
            gold_rank=rank, has_gold=has_gold, yen=yen, yen_exact=exact,
            citations=[f"{c.source_file}#{c.slide}" for c in answer.citations],
            contexts=[c.text for c in answer.citations], latency_ms=latency,
            generation=(answer.generation or {}).get("status"),
            generation_reasons=[r["code"] for r in (answer.generation or {}).get("reasons", [])],
        )

    def triage(self, item: Item) -> ItemResult:
        from ..triage.evaluate import judge
        from ..triage.triage import Triage

        if self._triage is None:
            self._triage = Triage(self.assistant)
        started = time.perf_counter()
        with self._triage.holding_out(item.triage_set):  # a labelled set is scored as unseen
            r = self._triage.run(item.id, item.question, TODAY)
        latency = (time.perf_counter() - started) * 1000
        predicted = [d["id"] for d in r.program_details]
        verdict = judge(r, item.programs, item.contacts)
        problems: list[str] = []
        if not verdict.top1:
            if item.programs:
                problems.append(f"1位の制度 {predicted[:1]} ≠ 正解 {item.programs}")
            else:
                problems.append(f"対象外なのに {predicted[0]} と判定（担当者確認なし）")
        elif not verdict.top3:
            problems.append(f"正解 {item.programs[0]} が上位3件にない")
        if verdict.contact is False:
            problems.append(f"連絡先に正解がない（{item.contacts[0]}）")
        return ItemResult(
            config=self.config.name, id=item.id, kind=item.kind, question=item.question, passed=not problems,
            problems=problems, answer=r.reply, abstained=not predicted, must_abstain=not item.programs,
            citations=[f"{c['source_file']}#{c['slide']}" for c in r.citations], predicted_programs=predicted,
            triage_top1=verdict.top1, latency_ms=latency,
        )


def _slides(keys: list[tuple[str, int]]) -> str:
    return ", ".join(f"{f[:3]}#{n}" for f, n in keys)


def summarize(results: list[ItemResult], k: int = 5) -> dict[str, Any]:
    """The summary metrics of one configuration's results."""
    ranked = [r for r in results if r.has_gold]
    ranks = [r.gold_rank for r in ranked]
    qa = [r for r in results if r.kind != "triage"]
    abstained = [r for r in qa if r.abstained]
    should = [r for r in qa if r.must_abstain]
    calc = [r for r in results if r.yen_exact is not None]
    triage = [r for r in results if r.kind == "triage"]
    p50, p95 = percentiles([r.latency_ms for r in results])
    by_kind = {
        kind: round(sum(r.passed for r in rs) / len(rs), 3)
        for kind in KINDS
        if (rs := [r for r in results if r.kind == kind])
    }
    return {
        "n": len(results),
        "passed": round(sum(r.passed for r in results) / max(1, len(results)), 3),
        "hit@1": _share(sum(x == 1 for x in ranks), len(ranks)),
        f"hit@{k}": _share(sum(x is not None and x <= k for x in ranks), len(ranks)),
        "mrr": _share(sum(1 / x for x in ranks if x is not None and x <= k), len(ranks)),
        "calculator_exact": _share(sum(bool(r.yen_exact) for r in calc), len(calc)),
        "abstention_precision": _share(sum(r.must_abstain for r in abstained), len(abstained)),
        "abstention_recall": _share(sum(r.abstained for r in should), len(should)),
        "triage_top1": _share(sum(bool(r.triage_top1) for r in triage), len(triage)),
        "latency_p50_ms": round(p50, 1),
        "latency_p95_ms": round(p95, 1),
        "accuracy_by_kind": by_kind,
        "counts_by_kind": {kind: sum(r.kind == kind for r in results) for kind in by_kind},
    } | _generation_summary(results)


def _generation_summary(results: list[ItemResult]) -> dict[str, Any]:
    """With a chat model: the share of its answers the guard accepted and why the others fell back."""
    asked = [r for r in results if r.generation is not None]
    if not asked:
        return {}
    reasons = Counter(code for r in asked for code in dict.fromkeys(r.generation_reasons))
    return {
        "generation_asked": len(asked),
        "generation_accepted": _share(sum(r.generation == "accepted" for r in asked), len(asked)),
        "generation_fallback_reasons": dict(reasons.most_common()),
    }


def percentiles(values: list[float]) -> tuple[float, float]:
    """(median, 95th percentile: the value at rank ⌊0.95·n⌋) of a sample; (0, 0) when empty."""
    ordered = sorted(values) or [0.0]
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def _share(num: float, den: int) -> float | None:
    return round(num / den, 3) if den else None


def check_dataset(items: list[Item], base: Settings) -> None:
    """Fail early, before a long run, on gold quotes that no slide holds."""
    from ..ingest.corpus import load_corpus

    corpus = load_corpus(base.corpus_dir)
    for item in items:
        if item.gold and not item.must_abstain:
            gold_slides(item, corpus)  # raises DataError naming the item
