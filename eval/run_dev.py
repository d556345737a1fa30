"""Run the development benchmark (eval/qa_dev.yaml) for BM25-only, dense-only and hybrid, side by side.

    python eval/run_dev.py [--dataset eval/qa_dev.yaml] [--json eval/out/dev.json] [--failures]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from assistant.evaluation import evaluate, load_dataset
from assistant.service import Assistant

MODES = ("bm25", "dense", "hybrid")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", type=Path, default=Path(__file__).parent / "qa_dev.yaml")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--failures", action="store_true")
    args = ap.parse_args()
    assistant = Assistant.load()
    items = load_dataset(args.dataset)
    results = [evaluate(assistant, items, mode) for mode in MODES]
    cols = ["hit1", "hit5", "mrr", "fragment_accuracy", "abstention_accuracy", "latency_p50_ms", "latency_p95_ms"]
    print(f"{len(items)} questions, embedding model {assistant.settings.embed_model}")
    print("| metric | " + " | ".join(MODES) + " |")
    print("|---|" + "---|" * len(MODES))
    for c in cols:
        print(f"| {c} | " + " | ".join(f"{getattr(r, c):.3f}" for r in results) + " |")
    if args.failures:
        for r in results:
            print(f"\n## failures: {r.mode} ({len(r.failures)})")
            for f in r.failures:
                print(json.dumps(f, ensure_ascii=False))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({r.mode: r.summary() for r in results}, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
