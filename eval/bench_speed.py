"""Speed benchmark: index build time, cold start of `assistant ask`, warm per-question latency p50/p95.

    python eval/bench_speed.py [--runs 3]
Writes a Markdown table to stdout (copy it into the README).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from assistant.evaluation import load_dataset
from assistant.evaluation.runner import percentiles
from assistant.index.store import open_index
from assistant.ingest.corpus import load_corpus
from assistant.service import Assistant
from assistant.settings import Settings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    base = Settings.from_env()
    with tempfile.TemporaryDirectory() as tmp:
        settings = base.with_(index_dir=Path(tmp) / "index")
        # the embedding model conversion is a one-off cost; measure it apart from the index build
        t = time.perf_counter()
        from assistant.index.embedding import Embedder

        Embedder(settings.embed_model, settings.index_dir / "models").warm_up()
        model_s = time.perf_counter() - t
        corpus = load_corpus(settings.corpus_dir)
        builds = []
        for _ in range(args.runs):
            t = time.perf_counter()
            open_index(settings, corpus, rebuild=True)
            builds.append(time.perf_counter() - t)
        env = {**os.environ, "ASSISTANT_INDEX_DIR": str(settings.index_dir), "HF_HUB_OFFLINE": "1"}
        colds = []
        for _ in range(args.runs):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "assistant.cli", "ask", "--json", "ものづくり補助金の補助率は？"],
                           env=env, check=True, capture_output=True)
            colds.append(time.perf_counter() - t)
        assistant = Assistant.load(settings)
        questions = [i.question for i in load_dataset(Path(__file__).parent / "qa_dev.yaml")]
        for q in questions[:10]:
            assistant.ask(q)
        lat = []
        for _ in range(args.runs):
            for q in questions:
                t = time.perf_counter()
                assistant.ask(q)
                lat.append((time.perf_counter() - t) * 1000)
    p50, p95 = percentiles(lat)
    print("| figure | value |\n|---|---|")
    print(f"| default model conversion from ja-ginza (once) | {model_s:.1f} s |")
    print(f"| index build ({len(corpus.slides)} slides, median of {args.runs}) | {statistics.median(builds):.1f} s |")
    print(f"| cold start `assistant ask` (process start to answer, median) | {statistics.median(colds):.1f} s |")
    print(f"| warm latency p50 ({len(lat)} questions) | {p50:.0f} ms |")
    print(f"| warm latency p95 | {p95:.0f} ms |")


if __name__ == "__main__":
    main()
