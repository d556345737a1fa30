"""Write a run: per-question results (JSONL), the summary (JSON), and a side-by-side report (Markdown and HTML)
with PNG plots."""

from __future__ import annotations

import html
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .runner import ItemResult

HEADLINE = ("passed", "hit@1", "hit@5", "mrr", "calculator_exact", "abstention_precision", "abstention_recall",
            "triage_top1", "latency_p50_ms", "latency_p95_ms", "generation_asked", "generation_accepted",
            "generation_fallback_reasons")


def _atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def write_run(out_dir: Path, dataset: str, results: dict[str, list[ItemResult]],
              summaries: dict[str, dict[str, Any]]) -> list[Path]:
    """Everything about a run into ``out_dir``; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(r.to_dict(), ensure_ascii=False) for rs in results.values() for r in rs]
    _atomic(out_dir / "results.jsonl", "\n".join(lines) + "\n")
    summary = {"dataset": dataset, "configs": summaries}
    _atomic(out_dir / "summary.json", json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
    plots = _plots(out_dir, results, summaries)
    _atomic(out_dir / "report.md", markdown(dataset, results, summaries, plots))
    _atomic(out_dir / "report.html", html_report(dataset, results, summaries, plots))
    return [out_dir / n for n in ("results.jsonl", "summary.json", "report.md", "report.html")] + plots


def _fmt(v: object) -> str:
    if v is None:
        return "–"
    if isinstance(v, dict):  # fallback reasons: code × count
        return ", ".join(f"{k} {n}" for k, n in v.items()) or "–"
    return f"{v:.3f}" if isinstance(v, float) and v <= 1.0 else str(v)


def _rows(summaries: dict[str, dict[str, Any]]) -> list[tuple[str, list[str]]]:
    names = list(summaries)
    keys = [k for k in HEADLINE if any(k in s for s in summaries.values())]
    rows = [(k, [_fmt(summaries[n].get(k)) for n in names]) for k in keys]
    kinds = sorted({kind for s in summaries.values() for kind in s.get("accuracy_by_kind", {})})
    for kind in kinds:
        counts = {summaries[n].get("counts_by_kind", {}).get(kind, 0) for n in names}
        label = f"accuracy: {kind} ({max(counts)})"
        rows.append((label, [_fmt(summaries[n]["accuracy_by_kind"].get(kind)) for n in names]))
    return rows


def markdown(dataset: str, results: dict[str, list[ItemResult]], summaries: dict[str, dict[str, Any]],
             plots: list[Path]) -> str:
    names = list(summaries)
    out = [f"# 評価レポート: {dataset}", "", "| 指標 | " + " | ".join(names) + " |",
           "|---|" + "---|" * len(names)]
    out += [f"| {k} | " + " | ".join(v) + " |" for k, v in _rows(summaries)]
    out += [""] + [f"![{p.stem}](plots/{p.name})" for p in plots]
    for name, rs in results.items():
        failed = [r for r in rs if not r.passed]
        out += ["", f"## 不正解の質問: {name}（{len(failed)} 件）", ""]
        if failed:
            out += ["| id | 種類 | 質問 | 問題 |", "|---|---|---|---|"]
            out += [f"| {r.id} | {r.kind} | {_cell(r.question, 60)} | {_cell('; '.join(r.problems), 160)} |"
                    for r in failed]
    return "\n".join(out) + "\n"


def _cell(text: str, limit: int) -> str:
    text = " ".join(text.split()).replace("|", "｜")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def html_report(dataset: str, results: dict[str, list[ItemResult]], summaries: dict[str, dict[str, Any]],
                plots: list[Path]) -> str:
    e = html.escape
    names = list(summaries)
    head = "".join(f"<th>{e(n)}</th>" for n in names)
    body = "".join(f"<tr><th>{e(k)}</th>" + "".join(f"<td>{e(x)}</td>" for x in v) + "</tr>"
                   for k, v in _rows(summaries))
    figs = "".join(f'<figure><img src="plots/{e(p.name)}" alt="{e(p.stem)}"></figure>' for p in plots)
    sections = []
    for name, rs in results.items():
        failed = [r for r in rs if not r.passed]
        rows = "".join(f"<tr><td>{e(r.id)}</td><td>{e(r.kind)}</td><td>{e(r.question)}</td>"
                       f"<td>{e('; '.join(r.problems))}</td></tr>" for r in failed)
        sections.append(f"<h2>不正解の質問: {e(name)}（{len(failed)} 件）</h2>"
                        f"<table><tr><th>id</th><th>種類</th><th>質問</th><th>問題</th></tr>{rows}</table>")
    style = ("body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin:1em 0}"
             "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
             "figure{display:inline-block;margin:0 1em 1em 0}img{max-width:560px}")
    return (f'<!doctype html><html lang="ja"><meta charset="utf-8"><title>評価レポート {e(dataset)}</title>'
            f"<style>{style}</style><h1>評価レポート: {e(dataset)}</h1>"
            f"<table><tr><th>指標</th>{head}</tr>{body}</table>{figs}{''.join(sections)}</html>\n")


def _plots(out_dir: Path, results: dict[str, list[ItemResult]], summaries: dict[str, dict[str, Any]]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plot_dir = out_dir / "plots"
    plot_dir.mkdir(exist_ok=True)
    names = list(summaries)
    written: list[Path] = []

    def bars(filename: str, labels: list[str], values: dict[str, list[float]], title: str, ylabel: str) -> None:
        fig, ax = plt.subplots(figsize=(8, 4))
        width = 0.8 / max(1, len(values))
        for i, (name, vals) in enumerate(values.items()):
            ax.bar([x + i * width for x in range(len(labels))], vals, width, label=name)
        ax.set_xticks([x + width * (len(values) - 1) / 2 for x in range(len(labels))], labels, rotation=20,
                      ha="right")
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        ax.legend()
        fig.tight_layout()
        path = plot_dir / filename
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)

    quality = [k for k in ("passed", "hit@1", "hit@5", "mrr", "calculator_exact", "abstention_precision",
                           "abstention_recall", "triage_top1") if any(summaries[n].get(k) is not None for n in names)]
    bars("quality.png", quality, {n: [summaries[n].get(k) or 0.0 for k in quality] for n in names},
         "Quality by configuration", "share")
    kinds = sorted({k for n in names for k in summaries[n]["accuracy_by_kind"]})
    bars("accuracy_by_kind.png", kinds, {n: [summaries[n]["accuracy_by_kind"].get(k, 0.0) for k in kinds]
                                         for n in names}, "Accuracy by question kind", "share passed")
    fig, ax = plt.subplots(figsize=(8, 4))
    for name, rs in results.items():
        ax.hist([r.latency_ms for r in rs], bins=30, alpha=0.6, label=name)
    ax.set_title("Latency per question")
    ax.set_xlabel("ms")
    ax.legend()
    fig.tight_layout()
    path = plot_dir / "latency.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    written.append(path)
    return written
