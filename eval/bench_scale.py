"""Scale benchmark: synthetic corpora 1×, 10× and 100× the real one, embedded store vs chromadb server.

    python eval/bench_scale.py [--factors 1 10 100] [--modes embedded server] [--questions 100]
                               [--json eval/out/scale.json] [--plot docs/scale.png]

The synthetic corpus at N× holds the four real decks plus N-1 copies of each, every copy under another bureau's
name, dated earlier (so the real decks stay the newest), with its yen amounts scaled and its phone numbers changed.
Each (factor, mode) is measured in a fresh child process, so its peak memory is its own: a full index build
(``rebuild``, nothing reused), loading the assistant, warm ``ask`` latency over dev-set questions, the vector store's
own query latency, and an incremental ``assistant add`` of one more deck. In server mode the child starts
``chroma run`` on loopback (a free port, a temp path) and samples the server's memory; the server is stopped at the
end. Prints a Markdown table, writes the figures as JSON and, with matplotlib, the plot.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
BUREAUS = ["北海道経済産業局", "東北経済産業局", "関東経済産業局", "中部経済産業局", "近畿経済産業局",
           "九州経済産業局", "沖縄総合事務局", "中国経済産業局", "四国経済産業局"]
_AMOUNT = re.compile(r"(\d[\d,]*)(万円|億円)")
_PHONE = re.compile(r"(\d{2,4}-\d{2,4}-)(\d{4})")
_ISSUER = re.compile("|".join(BUREAUS))


def _vary(text: str, k: int) -> str:
    """Copy k of a deck: another bureau, amounts scaled by (1 + k/100), other phone numbers."""
    bureau = BUREAUS[k % len(BUREAUS)]
    text = _ISSUER.sub(bureau, text)

    def amount(m: re.Match[str]) -> str:
        value = int(m.group(1).replace(",", "")) * (100 + k) // 100
        return f"{value:,}{m.group(2)}"

    text = _AMOUNT.sub(amount, text)
    return _PHONE.sub(lambda m: f"{m.group(1)}{(int(m.group(2)) + k) % 10000:04d}", text)


def synthetic_corpus(dest: Path, factor: int) -> dict[str, int]:
    """Write the N× corpus into ``dest``; returns its deck and slide counts."""
    from assistant.ingest.corpus import load_corpus

    src = REPO / "corpus"
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("*.txt", ".manifest.lock"))
    for deck in src.glob("*.txt"):
        shutil.copy(deck, dest / deck.name)
    manifest = yaml.safe_load((src / "manifest.yaml").read_text(encoding="utf-8"))
    originals = list(manifest["decks"])
    for k in range(1, factor):
        for entry in originals:
            stem = Path(entry["file"]).stem
            name = f"{stem}_x{k:03d}.txt"
            text = (src / entry["file"]).read_text(encoding="utf-8")
            (dest / name).write_text(_vary(text, k), encoding="utf-8")
            copy = dict(entry, file=name, issuer=BUREAUS[k % len(BUREAUS)],
                        date=entry["date"].replace(year=entry["date"].year - 1 - k // 12, day=1 + k % 28))
            manifest["decks"].append(copy)
    (dest / "manifest.yaml").write_text(yaml.safe_dump(manifest, allow_unicode=True, sort_keys=False),
                                        encoding="utf-8")
    corpus = load_corpus(dest)
    return {"decks": len(corpus.manifest.decks), "slides": len(corpus.slides)}




class _PeakRss(threading.Thread):
    """Samples a process's resident memory (with its children) every 0.2 s."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        import psutil

        self.proc = psutil.Process(pid)
        self.peak = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.2):
            try:
                rss = self.proc.memory_info().rss + sum(c.memory_info().rss for c in self.proc.children(True))
            except Exception:
                return
            self.peak = max(self.peak, rss)


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def measure(corpus_dir: Path, work: Path, mode: str, questions: list[str], extra_deck: Path,
            models: Path | None = None) -> dict[str, float]:
    """One (corpus, mode) measurement in this process."""
    import contextlib

    from assistant.evaluation.runner import percentiles
    from assistant.index.chroma_server import local_chroma_server
    from assistant.index.store import open_index
    from assistant.ingest.add import NewDeck, add_deck
    from assistant.ingest.corpus import load_corpus
    from assistant.service import Assistant
    from assistant.settings import Settings

    index_dir = work / "index"
    index_dir.mkdir(parents=True)
    if models is not None:
        (index_dir / "models").symlink_to(models, target_is_directory=True)
    out: dict[str, float] = {}
    with contextlib.ExitStack() as stack:
        url, sampler = "", None
        if mode == "server":
            url, proc = stack.enter_context(local_chroma_server(work / "server"))
            sampler = _PeakRss(proc.pid)
            sampler.start()
        settings = Settings(corpus_dir=corpus_dir, index_dir=index_dir, chroma_url=url)
        t = time.perf_counter()
        corpus = load_corpus(corpus_dir)
        out["corpus_load_s"] = time.perf_counter() - t
        t = time.perf_counter()
        index = open_index(settings, corpus, rebuild=True)
        out["build_s"] = time.perf_counter() - t
        out["passages"] = len(index.passages)
        out["embedded"] = index.embedded or 0
        t = time.perf_counter()
        assistant = Assistant(settings, corpus, index)
        index.embedder.warm_up()
        out["assistant_load_s"] = time.perf_counter() - t
        for q in questions[:5]:
            assistant.ask(q)
        latencies = []
        for q in questions:
            t = time.perf_counter()
            assistant.ask(q)
            latencies.append((time.perf_counter() - t) * 1000)
        out["ask_p50_ms"], out["ask_p95_ms"] = percentiles(latencies)
        vectors = [index.embedder.embed_query(q).tolist() for q in questions]
        store_lat = []
        for v in vectors:
            t = time.perf_counter()
            index.collection.query(query_embeddings=[v], n_results=60, include=["distances", "metadatas"])
            store_lat.append((time.perf_counter() - t) * 1000)
        out["vector_query_p50_ms"], out["vector_query_p95_ms"] = percentiles(store_lat)
        t = time.perf_counter()
        add_deck(corpus_dir, NewDeck(extra_deck, "沖縄総合事務局", "2026-09-01", "追加資料（ベンチマーク）"))
        added = open_index(settings, load_corpus(corpus_dir))
        out["add_s"] = time.perf_counter() - t
        out["add_embedded"] = added.embedded or 0
        out["index_mb"] = _du(added.build_dir) / 2**20
        if sampler is not None:
            sampler.stop.set()
            out["server_peak_mb"] = sampler.peak / 2**20
            out["index_mb"] += _du(work / "server") / 2**20
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def _child(args: argparse.Namespace) -> None:
    questions = json.loads(Path(args.questions_file).read_text(encoding="utf-8"))
    result = measure(Path(args.corpus), Path(args.work), args.mode, questions, Path(args.extra),
                     Path(args.models) if args.models else None)
    print(json.dumps(result))


def _table(rows: list[dict]) -> str:
    lines = ["| corpus | slides | passages | mode | build | ask p50 / p95 | vector query p50 / p95 | add 1 deck "
             "| peak memory (assistant + server) | index on disk |", "|" + "---|" * 10]
    for r in rows:
        server = f" + {r['server_peak_mb']:.0f}" if "server_peak_mb" in r else ""
        lines.append(
            f"| {r['factor']}× | {r['slides']:,} | {r['passages']:,.0f} | {r['mode']} | {r['build_s']:.1f} s "
            f"| {r['ask_p50_ms']:.0f} / {r['ask_p95_ms']:.0f} ms "
            f"| {r['vector_query_p50_ms']:.1f} / {r['vector_query_p95_ms']:.1f} ms "
            f"| {r['add_s']:.1f} s ({r['add_embedded']:.0f} embedded) | {r['peak_mb']:.0f}{server} MB "
            f"| {r['index_mb']:.0f} MB |")
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("build_s", "index build (s)"), ("ask_p95_ms", "ask p95 (ms)"), ("ask_p50_ms", "ask p50 (ms)"),
              ("vector_query_p95_ms", "vector query p95 (ms)"), ("peak_mb", "peak memory (MB)"),
              ("add_s", "add one deck (s)")]
    fig, axes = plt.subplots(2, 3, figsize=(13, 7))
    for ax, (key, label) in zip(axes.flat, panels, strict=True):
        for mode, style in (("embedded", "o-"), ("server", "s--")):
            pts = sorted((r["slides"], r[key] + (r.get("server_peak_mb", 0) if key == "peak_mb" else 0))
                         for r in rows if r["mode"] == mode)
            if pts:
                extra = " (assistant + chromadb server)" if key == "peak_mb" and mode == "server" else ""
                ax.plot(*zip(*pts, strict=True), style, label=mode + extra)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("slides")
        ax.set_title(label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("support-measure assistant: scale 1× / 10× / 100× (2 cores, no GPU)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--factors", type=int, nargs="+", default=[1, 10, 100])
    ap.add_argument("--modes", nargs="+", default=["embedded", "server"], choices=["embedded", "server"])
    ap.add_argument("--questions", type=int, default=100)
    ap.add_argument("--json", default=str(REPO / "eval" / "out" / "scale.json"))
    ap.add_argument("--plot", default=str(REPO / "docs" / "scale.png"))
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    for name in ("corpus", "work", "mode", "questions-file", "extra", "models"):
        ap.add_argument(f"--{name}", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args)
        return

    from assistant.evaluation import load_dataset
    from assistant.index.embedding import ensure_ginza_model

    questions = [i.question for i in load_dataset(REPO / "eval" / "qa_dev.yaml")][: args.questions]
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        base = Path(tmp)
        models = base / "models"
        ensure_ginza_model(models)  # converted once, outside the measured builds
        qfile = base / "questions.json"
        qfile.write_text(json.dumps(questions, ensure_ascii=False), encoding="utf-8")
        extra = base / "extra_deck.md"
        extra.write_text(_vary((REPO / "corpus" / "002_1ca539d7a2e31e25.txt").read_text(encoding="utf-8"), 999),
                         encoding="utf-8")
        for factor in args.factors:
            for mode in args.modes:
                corpus_dir = base / f"corpus-{factor}-{mode}"
                counts = synthetic_corpus(corpus_dir, factor)
                work = base / f"work-{factor}-{mode}"
                cmd = [sys.executable, __file__, "--child", "--corpus", str(corpus_dir), "--work", str(work),
                       "--mode", mode, "--questions-file", str(qfile), "--extra", str(extra),
                       "--models", str(models)]
                print(f"{factor}× {mode}: {counts['slides']} slides …", file=sys.stderr, flush=True)
                done = subprocess.run(cmd, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    print(done.stderr[-3000:], file=sys.stderr)
                    raise SystemExit(f"{factor}× {mode} failed")
                row = {"factor": factor, "mode": mode, **counts, **json.loads(done.stdout.strip().splitlines()[-1])}
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
                shutil.rmtree(work, ignore_errors=True)
                shutil.rmtree(corpus_dir, ignore_errors=True)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(rows, indent=1), encoding="utf-8")
    print(_table(rows))
    try:
        plot(rows, Path(args.plot))
    except ImportError:
        print("matplotlib がないため図は作りません。", file=sys.stderr)


if __name__ == "__main__":
    main()
