"""Triage throughput: 1,000 inquiries (the labelled set's texts, cycled) through the engine on this machine.

python eval/bench_triage.py [--n 1000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

from assistant.evaluation.runner import percentiles
from assistant.service import Assistant
from assistant.triage.evaluate import load_triage_set
from assistant.triage.triage import Triage

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    args = ap.parse_args()
    texts = [item["text"] for item in load_triage_set(HERE / "triage_dev.yaml")]
    start = time.perf_counter()
    engine = Triage(Assistant.load())
    load_s = time.perf_counter() - start
    today = dt.date(2026, 3, 1)
    times = []
    start = time.perf_counter()
    for i in range(args.n):
        t0 = time.perf_counter()
        engine.run(str(i), texts[i % len(texts)] + f"（受付番号{i}）", today)
        times.append((time.perf_counter() - t0) * 1000)
    total = time.perf_counter() - start
    p50, p95 = percentiles(times)
    print("| figure | value |\n|---|---|")
    print(f"| load (corpus, index, model, directory) | {load_s:.1f} s |")
    print(f"| {args.n} inquiries | {total:.1f} s ({args.n / total:.0f} per second) |")
    print(f"| per inquiry p50 / p95 | {p50:.0f} ms / {p95:.0f} ms |")


if __name__ == "__main__":
    main()
