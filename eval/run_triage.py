"""Triage benchmark on eval/triage_dev.yaml: program top-1 / top-3, contact accuracy, needs_human and category.

python eval/run_triage.py [--failures] [--today 2026-03-01]
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--failures", action="store_true")
    ap.add_argument("--today", type=dt.date.fromisoformat, default=TODAY)
    ap.add_argument("--dataset", type=Path, default=HERE / "triage_dev.yaml")
    args = ap.parse_args()
    items = load_triage_set(args.dataset)
    engine = Triage(Assistant.load())
    score = evaluate_triage(engine, items, args.today)
    print(f"{score.n} inquiries")
    print("| metric | value |\n|---|---|")
    for k, v in score.table().items():
        print(f"| {k} | {v} |")
    if args.failures:
        for f in score.failures:
            print(json.dumps(f, ensure_ascii=False))


if __name__ == "__main__":
    main()
