"""A smoke run of eval/bench_scale.py at 1× (the 100× run is for the README, not for the test suite)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from assistant.ingest.corpus import load_corpus
from assistant.settings import REPO_ROOT, Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_scale", REPO_ROOT / "eval" / "bench_scale.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_synthetic_corpus_copies_every_deck_under_other_bureaus(tmp_path: Path):
    bench = _bench()
    counts = bench.synthetic_corpus(tmp_path / "corpus", 3)
    assert counts == {"decks": 12, "slides": 3 * 97}
    corpus = load_corpus(tmp_path / "corpus")
    copy = corpus.deck("004_be9706bd3cebb7a2_x001.txt")
    assert copy.issuer != "中国経済産業局" and copy.date < corpus.deck("004_be9706bd3cebb7a2.txt").date
    # every copy segments like its original
    original = corpus.deck_slides("003_3603fba03cb2dc61.txt")
    assert len(corpus.deck_slides("003_3603fba03cb2dc61_x002.txt")) == len(original)
    assert "1,262万円" in (tmp_path / "corpus" / "000_cbe6c34ac374a521_x001.txt").read_text(encoding="utf-8")


def test_measure_both_modes_and_plot(tmp_path: Path, settings: Settings, assistant):
    bench = _bench()
    extra = tmp_path / "extra.md"
    extra.write_text("# 追加資料\n\nものづくり補助金の説明会を開催します。\n", encoding="utf-8")
    rows = []
    for mode in ("embedded", "server"):
        corpus_dir = tmp_path / f"corpus-{mode}"
        counts = bench.synthetic_corpus(corpus_dir, 1)
        row = bench.measure(corpus_dir, tmp_path / f"work-{mode}", mode, ["ものづくり補助金の補助率は？"] * 6, extra,
                            models=settings.index_dir / "models")
        assert row["passages"] == len(assistant.index.passages)
        assert row["add_embedded"] >= 1 and row["ask_p95_ms"] > 0 and row["peak_mb"] > 0
        rows.append({"factor": 1, "mode": mode, **counts, **row})
    assert rows[1]["server_peak_mb"] > 0
    bench.plot(rows, tmp_path / "scale.png")
    assert (tmp_path / "scale.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| 1× | 97 |" in bench._table(rows)
