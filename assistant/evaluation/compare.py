"""``assistant eval diff A B``: which questions changed outcome between two runs, and RAGAS export."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError


def read_results(path: Path) -> dict[tuple[str, str], dict]:
    """A run's per-question results by (config, id); ``path`` is the run folder or its results.jsonl."""
    file = path / "results.jsonl" if path.is_dir() else path
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"評価結果 {file} を読めません: {exc.strerror or exc}") from exc
    out: dict[tuple[str, str], dict] = {}
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out[(row["config"], row["id"])] = row
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise InputError(f"評価結果 {file.name} の {n} 行目が読めません: {exc}") from exc
    return out


@dataclass(frozen=True)
class Change:
    config: str
    id: str
    kind: str
    question: str
    before: str  # 正解 / 不正解 / なし
    after: str
    problems: list[str]


def diff(a: dict[tuple[str, str], dict], b: dict[tuple[str, str], dict]) -> list[Change]:
    """Questions whose outcome differs (fixed, broken, added or removed), in B's order."""
    def state(row: dict | None) -> str:
        return "なし" if row is None else ("正解" if row["passed"] else "不正解")

    keys = list(dict.fromkeys(list(b) + list(a)))
    out = []
    for key in keys:
        ra, rb = a.get(key), b.get(key)
        if state(ra) != state(rb):
            row = rb or ra
            out.append(Change(key[0], key[1], row["kind"], row["question"], state(ra), state(rb),
                              (rb or {}).get("problems", []) or (ra or {}).get("problems", [])))
    return out


def to_ragas(results: list[dict], references: dict[str, str]) -> list[dict]:
    """Rows of the RAGAS single-turn dataset format (``EvaluationDataset.from_list``): user_input,
    retrieved_contexts, response, reference."""
    return [
        {
            "user_input": r["question"],
            "retrieved_contexts": r.get("contexts", []),
            "response": r["answer"],
            "reference": references.get(r["id"], ""),
        }
        for r in results
        if r["kind"] != "triage"
    ]


LOWER_IS_BETTER = ("latency_p50_ms", "latency_p95_ms")
QUALITY = ("passed", "hit@1", "hit@5", "mrr", "calculator_exact", "abstention_precision", "abstention_recall",
           "triage_top1")


def regressions(summary: dict, baseline: dict, tolerance: float) -> list[str]:
    """Quality figures (overall and by kind) more than ``tolerance`` below the baseline's, per configuration.
    Latency is not compared: it depends on the machine."""
    out = []
    for name, base in baseline.get("configs", {}).items():
        now = summary.get("configs", {}).get(name)
        if now is None:
            out.append(f"設定「{name}」の結果がありません")
            continue
        pairs = [(k, base.get(k), now.get(k)) for k in QUALITY]
        pairs += [(f"accuracy:{k}", v, now.get("accuracy_by_kind", {}).get(k))
                  for k, v in base.get("accuracy_by_kind", {}).items()]
        for key, was, is_ in pairs:
            if was is None:
                continue
            if is_ is None or is_ < was - tolerance:
                out.append(f"{name}: {key} {was} → {is_}（許容差 {tolerance}）")
    return out
