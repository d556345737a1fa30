"""Build and open the index: a chromadb collection plus a BM25 index, written whole and swapped in atomically.

Layout under ``index/``::

    CURRENT                  JSON pointer {fingerprint, build, store} to the build in use (replaced with os.replace)
    builds/<fp>-<pid>-<ms>/  passages.json, bm25/, vectors.npy, chroma/ (embedded mode only), meta.json
    models/                  the default embedding model converted from ja-ginza
    .lock                    held while building, so two builds never interleave

**Fingerprint.** It hashes the segmented, tagged slides, the passage scheme and the embedding model name, so any
change to the corpus, the registry, the segmentation or the model triggers a rebuild on next use.

**Atomic builds.** A build is written into a new folder of its own; meta.json, holding the size and SHA-256 of
every other file, is written last (itself through a rename), and only then is ``CURRENT`` replaced to point to it.
A reader therefore sees the old complete build or the new complete build, never a half-built one; an interrupted
build leaves a folder that nothing points to and that the next build removes. Builds run under a file lock: a
second ``assistant index`` waits, then finds the first one's build valid and uses it.

**Integrity.** Opening a build checks meta.json, every checksum (before chromadb or bm25s read a file: chromadb can
crash the process on a damaged HNSW file), SQLite's quick_check on chromadb's database, the passage counts of
passages.json, BM25 and the collection, and a probe: the stored vectors of three passages must find themselves.
Any failure means the build is damaged and is rebuilt (under the lock) on the spot.

**Incremental embedding.** vectors.npy keeps every passage's vector (aligned with passages.json). A new build looks
up each passage by the SHA-256 of its text in the intact builds made with the same model and embeds only passages
it does not find, so adding a deck embeds only that deck. Everything else is still written afresh into the new
build folder (BM25 and the vector collection are rebuilt from the cached vectors, which takes seconds) and swapped
in as above: incremental builds keep every property of full builds. ``rebuild=True`` (``assistant index
--rebuild``) embeds everything again.

**Old builds.** After a swap the previous build is kept (when intact), so a process that opened it before the swap,
or one still running on the corpus as it was, keeps working; older builds are removed.

**Server mode.** With ``ASSISTANT_CHROMA_URL`` set the vectors go to a chromadb server, one collection
``slides-<build>`` per build; everything else stays local as above (vectors.npy included, so a collection lost on
the server is rebuilt without embedding), and the old builds' collections are dropped with their folders by the
index folder that created them.
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

import numpy as np
from filelock import FileLock, Timeout

from ..errors import IndexError_
from ..ingest.corpus import Corpus
from ..settings import Settings
from .bm25 import BM25Index
from .embedding import GINZA_FORMAT, GINZA_NAME, Embedder
from .integrity import META, damage, digests
from .passages import PASSAGE_VERSION, Passage, make_passages
from .vectors import Rows, ServerStore, StoreUnavailable, VectorStore, check_sqlite, make_store

STORE_VERSION = "4"  # bump when the build layout or the collection settings change
LOCK_TIMEOUT = 3600  # seconds a build waits for another process's build
PROBE_DISTANCE = 1e-3
Progress = Callable[[str], None]


@dataclass
class Index:
    passages: list[Passage]
    bm25: BM25Index
    collection: Any  # chromadb Collection (embedded or on a server)
    embedder: Embedder
    build_dir: Path
    fingerprint: str
    build_seconds: float | None = None
    embedded: int | None = None  # passages embedded by this build (None: opened, not built)
    reused: int | None = None  # passages whose vectors came from an earlier build (identical texts embed once)

    def dense_search(self, query: str, k: int) -> list[tuple[int, float]]:
        """(passage row, cosine similarity) best first."""
        vec = self.embedder.embed_query(query)
        res = self.collection.query(query_embeddings=[vec.tolist()], n_results=min(k, len(self.passages)),
                                    include=["distances", "metadatas"])
        return [(int(m["row"]), 1.0 - float(d)) for m, d in zip(res["metadatas"][0], res["distances"][0], strict=True)]


class _Damaged(Exception):
    """A build that exists but cannot be trusted."""


def fingerprint(corpus: Corpus, settings: Settings) -> str:
    h = hashlib.sha256()
    h.update(f"passages={PASSAGE_VERSION};model={settings.embed_model};store={STORE_VERSION}".encode())
    for s in corpus.slides:
        h.update(json.dumps([s.source_file, s.number, s.title, s.text, s.programs, s.topic]).encode())
    return h.hexdigest()[:16]


def model_key(settings: Settings) -> str:
    """Which vectors can be reused: same model (and, for the default, the same conversion)."""
    return f"{GINZA_NAME}-v{GINZA_FORMAT}" if settings.embed_model == GINZA_NAME else settings.embed_model


def passage_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def open_index(settings: Settings, corpus: Corpus, *, rebuild: bool = False, progress: Progress | None = None) -> Index:
    """Open the index for this corpus and model, building it first when missing, stale or damaged."""
    say = progress or (lambda _msg: None)
    embedder = Embedder(settings.embed_model, settings.index_dir / "models")
    store = make_store(settings.chroma_url)
    if isinstance(store, ServerStore):
        store.connect()  # a clear message now rather than a rebuild that cannot work
    fp = fingerprint(corpus, settings)
    if not rebuild:
        index = find_index(settings, corpus, progress=say, _parts=(embedder, store, fp))
        if index is not None and _current(settings.index_dir) is not None:
            return index
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    lock = _lock(settings.index_dir, say)
    try:
        if not rebuild:  # another process may have built it while we waited
            index = find_index(settings, corpus, _parts=(embedder, store, fp))
            if index is not None:
                if _current(settings.index_dir) is None:  # a lost or damaged pointer to an intact build
                    _point(settings.index_dir, fp, index.build_dir.name, store)
                return index
        return _build(settings, corpus, fp, embedder, store, say, reuse=not rebuild)
    finally:
        lock.release()


def _lock(index_dir: Path, say: Progress) -> FileLock:
    lock = FileLock(str(index_dir / ".lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        say("別の処理が索引を作成しています。終わるまで待ちます…")
        try:
            lock.acquire(timeout=LOCK_TIMEOUT)
        except Timeout as exc:
            raise IndexError_(f"索引の作成を {LOCK_TIMEOUT} 秒待ちましたが終わりません（{index_dir}）。") from exc
    return lock


def _point(index_dir: Path, fp: str, build: str, store: VectorStore) -> None:
    _write_atomic(index_dir / "CURRENT", json.dumps({"fingerprint": fp, "build": build, "store": store.location}))


def find_index(settings: Settings, corpus: Corpus, *, progress: Progress | None = None,
               _parts: tuple[Embedder, VectorStore, str] | None = None) -> Index | None:
    """The intact build for this corpus, model and store, or None; never builds and never takes the lock.

    CURRENT's build is used when it matches; otherwise a kept build with the same fingerprint (a process still on
    the corpus as it was before a deck was added)."""
    embedder, store, fp = _parts or (Embedder(settings.embed_model, settings.index_dir / "models"),
                                     make_store(settings.chroma_url), fingerprint(corpus, settings))
    current = _current(settings.index_dir)
    builds = settings.index_dir / "builds"
    if current and current.get("fingerprint") == fp and current.get("store") == store.location:
        try:
            return _open_build(builds / str(current.get("build")), fp, store, embedder, model_key(settings))
        except _Damaged as exc:
            if progress:
                progress(f"索引が壊れています（{exc}）。作り直します。")
            return None
    if not builds.is_dir():
        return None
    for build_dir in sorted(builds.glob(f"{fp}-*"), key=lambda p: p.name, reverse=True):
        try:
            return _open_build(build_dir, fp, store, embedder, model_key(settings))
        except _Damaged:
            continue
    return None


def _current(index_dir: Path) -> dict[str, Any] | None:
    try:
        value = json.loads((index_dir / "CURRENT").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _read_meta(build_dir: Path) -> dict[str, Any] | None:
    try:
        value = json.loads((build_dir / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _open_build(build_dir: Path, fp: str, store: VectorStore, embedder: Embedder, mkey: str) -> Index:
    meta = _read_meta(build_dir)
    if meta is None:
        raise _Damaged(f"{build_dir.name}/{META} を読めません")
    if (meta.get("fingerprint"), meta.get("store"), meta.get("model_key")) != (fp, store.location, mkey):
        raise _Damaged("別の資料・モデル・保存先の索引です")
    problem = damage(build_dir, meta.get("files") or {})
    if problem:
        raise _Damaged(problem)
    try:
        passages = _load_passages(build_dir)
        bm25 = BM25Index.load(build_dir / "bm25")
        collection = store.open(build_dir, meta["collection"])
        count = collection.count()
    except StoreUnavailable:
        raise
    except IndexError_ as exc:
        raise _Damaged(str(exc)) from exc
    except Exception as exc:
        raise _Damaged(f"{type(exc).__name__}: {exc}") from exc
    if not (len(passages) == meta.get("passages") == bm25.size == count):
        raise _Damaged(f"件数が合いません（passages {len(passages)}, BM25 {bm25.size}, chromadb {count}）")
    _probe(collection, passages, np.load(build_dir / "vectors.npy", mmap_mode="r"))
    return Index(passages, bm25, collection, embedder, build_dir, fp)


def _load_passages(build_dir: Path) -> list[Passage]:
    return [Passage(**p) for p in json.loads((build_dir / "passages.json").read_text(encoding="utf-8"))]


def _probe(collection: Any, passages: list[Passage], vectors: np.ndarray) -> None:
    """Three stored vectors must find a passage with their own text at distance ~0."""
    n = len(passages)
    for row in sorted({0, n // 2, n - 1}):
        try:
            res = collection.query(query_embeddings=[np.asarray(vectors[row]).tolist()], n_results=min(10, n),
                                   include=["distances", "metadatas"])
            found = [(int(m["row"]), float(d)) for m, d in zip(res["metadatas"][0], res["distances"][0], strict=True)]
        except Exception as exc:
            raise _Damaged(f"ベクトル検索に失敗しました: {type(exc).__name__}: {exc}") from exc
        if not any(d < PROBE_DISTANCE and 0 <= r < n and passages[r].text == passages[row].text for r, d in found):
            raise _Damaged(f"ベクトル検索が検索単位 {row} を見つけません")


def _cached_vectors(builds: Path, mkey: str) -> dict[str, np.ndarray]:
    """passage_key → vector, from every intact build made with the same model."""
    cache: dict[str, np.ndarray] = {}
    if not builds.is_dir():
        return cache
    for build_dir in sorted(builds.iterdir(), key=lambda p: p.name):
        meta = _read_meta(build_dir)
        if not meta or meta.get("model_key") != mkey:
            continue
        if damage(build_dir, meta.get("files") or {}, only=("passages.json", "vectors.npy")):
            continue
        try:
            passages = _load_passages(build_dir)
            vectors = np.load(build_dir / "vectors.npy")
        except Exception:
            continue
        if len(vectors) != len(passages):
            continue
        for p, v in zip(passages, vectors, strict=True):
            cache[passage_key(p.text)] = v
    return cache


def _vectors(passages: list[Passage], embedder: Embedder,
             cache: dict[str, np.ndarray]) -> tuple[np.ndarray, int, int]:
    """One vector per passage, embedding only texts the cache lacks (each distinct text once).

    Returns (vectors, texts embedded, passages whose vector came from the cache)."""
    keys = [passage_key(p.text) for p in passages]
    reused = sum(k in cache for k in keys)
    todo: dict[str, str] = {}
    for k, p in zip(keys, passages, strict=True):
        if k not in cache and k not in todo:
            todo[k] = p.text
    found = dict(cache)
    if todo:
        fresh = embedder.embed_documents(list(todo.values()))
        found.update(zip(todo, fresh, strict=True))
    dim = len(next(iter(found.values())))
    out = np.empty((len(passages), dim), dtype=np.float32)
    for i, k in enumerate(keys):
        out[i] = found[k]
    return out, len(todo), reused


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _build(settings: Settings, corpus: Corpus, fp: str, embedder: Embedder, store: VectorStore, progress: Progress,
           reuse: bool) -> Index:
    started = time.perf_counter()
    builds = settings.index_dir / "builds"
    name = f"{fp}-{os.getpid()}-{int(time.time() * 1000)}"
    build_dir = builds / name
    build_dir.mkdir(parents=True)
    collection_name = store.collection_name(name)
    created = False
    mkey = model_key(settings)
    try:
        passages = make_passages(corpus)
        progress(f"索引を作成しています: スライド {len(corpus.slides)} 枚、検索単位 {len(passages)} 件")
        (build_dir / "passages.json").write_text(
            json.dumps([p.to_dict() for p in passages], ensure_ascii=False), encoding="utf-8")
        bm25 = BM25Index.build([p.text for p in passages])
        bm25.save(build_dir / "bm25")
        cache = _cached_vectors(builds, mkey) if reuse else {}
        vectors, embedded, reused = _vectors(passages, embedder, cache)
        progress(f"埋め込みベクトル: 新たに計算 {embedded} 件、以前の索引から再利用 {reused} 件")
        np.save(build_dir / "vectors.npy", vectors)
        created = True
        store.write(build_dir, collection_name, Rows(
            ids=[str(p.row) for p in passages], vectors=vectors, documents=[p.text for p in passages],
            metadatas=[{"row": p.row, "source_file": p.source_file, "slide": p.slide} for p in passages]))
        collection = store.open(build_dir, collection_name)  # as a reader will open it
        _probe(collection, passages, vectors)
        elapsed = time.perf_counter() - started
        _write_atomic(build_dir / META, json.dumps({
            "fingerprint": fp, "embed_model": settings.embed_model, "model_key": mkey, "store": store.location,
            "collection": collection_name, "owner": str(settings.index_dir.resolve()),
            "slides": len(corpus.slides), "passages": len(passages),
            "embedded": embedded, "reused": reused, "build_seconds": round(elapsed, 3),
            "files": digests(build_dir)}, ensure_ascii=False))
    except BaseException:
        if created:
            store.drop(build_dir, collection_name)
        shutil.rmtree(build_dir, ignore_errors=True)
        raise
    previous = _current(settings.index_dir)
    _point(settings.index_dir, fp, name, store)
    keep = {name}
    if previous and _intact(builds / str(previous.get("build"))):
        keep.add(str(previous.get("build")))
    _remove_old_builds(settings.index_dir, keep, store)
    progress(f"索引を作成しました（{elapsed:.1f} 秒）")
    return Index(passages, bm25, collection, embedder, build_dir, fp, build_seconds=elapsed, embedded=embedded,
                 reused=reused)


def _intact(build_dir: Path) -> bool:
    meta = _read_meta(build_dir)
    if not meta or damage(build_dir, meta.get("files") or {}) is not None:
        return False
    sqlite = build_dir / "chroma" / "chroma.sqlite3"
    try:
        if sqlite.exists():
            check_sqlite(sqlite)
    except IndexError_:
        return False
    return True


def _remove_old_builds(index_dir: Path, keep: set[str], store: VectorStore) -> None:
    """Remove every build but ``keep`` (runs under the lock, so no other build is in progress).

    A server collection is dropped only by the index folder that created it: a copied index folder refers to
    collections it does not own."""
    owner = str(index_dir.resolve())
    for old in (index_dir / "builds").iterdir():
        if old.name in keep:
            continue
        meta = _read_meta(old)
        if meta is None:  # an interrupted build: its collection, if any, is named after the folder
            store.drop(old, store.collection_name(old.name))
        elif (meta.get("store"), meta.get("owner")) == (store.location, owner) and meta.get("collection"):
            store.drop(old, str(meta["collection"]))
        shutil.rmtree(old, ignore_errors=True)


def require_index(settings: Settings, corpus: Corpus, progress: Progress | None = None) -> Index:
    try:
        return open_index(settings, corpus, progress=progress)
    except IndexError_:
        raise
    except OSError as exc:
        raise IndexError_(f"索引を作成できません（{settings.index_dir}）: {exc}") from exc
