"""Build and open the index: a persistent chromadb collection plus a BM25 index, swapped in atomically.

Layout under ``index/``::

    CURRENT                  JSON pointer to the build in use (replaced atomically with os.replace)
    builds/<fingerprint>/    chroma/ (embedded chromadb), bm25/, passages.json, meta.json
    models/                  the default embedding model converted from ja-ginza
    .lock                    held while building, so two builds never interleave

The fingerprint hashes the segmented, tagged slides, the passage scheme and the embedding model name, so any
change to the corpus, the registry, the segmentation or the model triggers a rebuild on next use. A build is
written into its own folder and only then pointed to: an interrupted build is never used.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from ..errors import IndexError_
from ..ingest.corpus import Corpus
from ..settings import Settings
from .bm25 import BM25Index
from .embedding import Embedder
from .passages import PASSAGE_VERSION, Passage, make_passages

COLLECTION = "slides"
STORE_VERSION = "3"  # bump when the collection settings change
Progress = Callable[[str], None]


@dataclass
class Index:
    passages: list[Passage]
    bm25: BM25Index
    collection: Any  # chromadb Collection
    embedder: Embedder
    build_dir: Path
    fingerprint: str
    build_seconds: float | None = None

    def dense_search(self, query: str, k: int) -> list[tuple[int, float]]:
        """(passage row, cosine similarity) best first."""
        vec = self.embedder.embed_query(query)
        res = self.collection.query(query_embeddings=[vec.tolist()], n_results=min(k, len(self.passages)),
                                    include=["distances", "metadatas"])
        return [(int(m["row"]), 1.0 - float(d)) for m, d in zip(res["metadatas"][0], res["distances"][0], strict=True)]


def fingerprint(corpus: Corpus, settings: Settings) -> str:
    h = hashlib.sha256()
    h.update(f"passages={PASSAGE_VERSION};model={settings.embed_model};store={STORE_VERSION}".encode())
    for s in corpus.slides:
        h.update(json.dumps([s.source_file, s.number, s.title, s.text, s.programs, s.topic]).encode())
    return h.hexdigest()[:16]


def _chroma_client(path: Path):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))


def _current(index_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((index_dir / "CURRENT").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def open_index(settings: Settings, corpus: Corpus, *, rebuild: bool = False, progress: Progress | None = None) -> Index:
    """Open the index for this corpus and model, building it first when missing, stale or damaged."""
    embedder = Embedder(settings.embed_model, settings.index_dir / "models")
    fp = fingerprint(corpus, settings)
    if not rebuild:
        index = _try_open(settings.index_dir, fp, embedder)
        if index is not None:
            return index
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(settings.index_dir / ".lock"), timeout=600):
        if not rebuild:  # another process may have built it while we waited
            index = _try_open(settings.index_dir, fp, embedder)
            if index is not None:
                return index
        return _build(settings, corpus, fp, embedder, progress or (lambda _msg: None))


def _try_open(index_dir: Path, fp: str, embedder: Embedder) -> Index | None:
    current = _current(index_dir)
    if not current or current.get("fingerprint") != fp:
        return None
    build_dir = index_dir / "builds" / current["build"]
    try:
        passages = [Passage(**p) for p in json.loads((build_dir / "passages.json").read_text(encoding="utf-8"))]
        bm25 = BM25Index.load(build_dir / "bm25")
        collection = _chroma_client(build_dir / "chroma").get_collection(COLLECTION)
        if not (len(passages) == bm25.size == collection.count()):
            return None
    except Exception:
        return None
    return Index(passages, bm25, collection, embedder, build_dir, fp)


def _build(settings: Settings, corpus: Corpus, fp: str, embedder: Embedder, progress: Progress) -> Index:
    started = time.perf_counter()
    builds = settings.index_dir / "builds"
    build_dir = builds / f"{fp}-{os.getpid()}-{int(time.time() * 1000)}"
    build_dir.mkdir(parents=True)
    try:
        passages = make_passages(corpus)
        progress(f"索引を作成しています: スライド {len(corpus.slides)} 枚、検索単位 {len(passages)} 件")
        (build_dir / "passages.json").write_text(
            json.dumps([p.to_dict() for p in passages], ensure_ascii=False), encoding="utf-8")
        bm25 = BM25Index.build([p.text for p in passages])
        bm25.save(build_dir / "bm25")
        progress("埋め込みベクトルを計算しています")
        vectors = embedder.embed_documents([p.text for p in passages])
        client = _chroma_client(build_dir / "chroma")
        # HNSW is approximate; a wide search beam keeps results exact and stable across builds at this size.
        collection = client.create_collection(COLLECTION, metadata={
            "hnsw:space": "cosine", "hnsw:construction_ef": 256, "hnsw:search_ef": 256, "hnsw:M": 32})
        batch = 1000
        for i in range(0, len(passages), batch):
            part = passages[i : i + batch]
            collection.add(
                ids=[str(p.row) for p in part],
                embeddings=vectors[i : i + batch].tolist(),
                documents=[p.text for p in part],
                metadatas=[{"row": p.row, "source_file": p.source_file, "slide": p.slide} for p in part],
            )
        elapsed = time.perf_counter() - started
        (build_dir / "meta.json").write_text(json.dumps({
            "fingerprint": fp, "embed_model": settings.embed_model, "slides": len(corpus.slides),
            "passages": len(passages), "build_seconds": round(elapsed, 3)}), encoding="utf-8")
    except BaseException:
        shutil.rmtree(build_dir, ignore_errors=True)
        raise
    pointer = settings.index_dir / "CURRENT.tmp"
    pointer.write_text(json.dumps({"fingerprint": fp, "build": build_dir.name}), encoding="utf-8")
    os.replace(pointer, settings.index_dir / "CURRENT")
    _remove_old_builds(builds, keep=build_dir.name)
    progress(f"索引を作成しました（{elapsed:.1f} 秒）")
    return Index(passages, bm25, collection, embedder, build_dir, fp, build_seconds=elapsed)


def _remove_old_builds(builds: Path, keep: str) -> None:
    for old in builds.iterdir():
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)


def require_index(settings: Settings, corpus: Corpus, progress: Progress | None = None) -> Index:
    try:
        return open_index(settings, corpus, progress=progress)
    except IndexError_:
        raise
    except OSError as exc:
        raise IndexError_(f"索引を作成できません（{settings.index_dir}）: {exc}") from exc
