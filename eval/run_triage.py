"""Triage benchmark: program top-1 / top-3, contact accuracy, needs_human and category, per labelled set.

python eval/run_triage.py [--dataset FILE ...] [--failures] [--today 2026-03-01]

Without --dataset it runs the development sets (eval/triage_dev.yaml, dev2, dev3, dev4); the held-out set is
run only when named: --dataset eval/triage_test.yaml. Each set is scored without its own examples (the engine's
memory of past inquiries holds the other sets), as an unseen set would be.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

from assistant.service import Assistant
from assistant.triage.evaluate import evaluate_triage, load_triage_set
from assistant.triage.triage import Triage

HERE = Path(__file__).resolve().parent
TODAY = dt.date(2026, 3, 1)  # fixed, so deadlines in the decks are judged the same way on every run
DEV_SETS = tuple(HERE / f"triage_{name}.yaml" for name in ("dev", "dev2", "dev3", "dev4"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--failures", action="store_true")
    ap.add_argument("--today", type=dt.date.fromisoformat, default=TODAY)
    ap.add_argument("--dataset", type=Path, action="append", help="a labelled set (repeatable); default: dev sets")
    args = ap.parse_args()
    engine = Triage(Assistant.load())
    for path in args.dataset or DEV_SETS:
        score = evaluate_triage(engine, load_triage_set(path), args.today, holdout=path.name)
        print(f"\n{path.name}: {score.n} inquiries")
        print("| metric | value |\n|---|---|")
        for k, v in score.table().items():
            print(f"| {k} | {v} |")
        if args.failures:
            for f in score.failures:
                print(json.dumps(f, ensure_ascii=False))


if __name__ == "__main__":
    main()
