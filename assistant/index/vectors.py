"""Where passage vectors live: an embedded chromadb folder inside each build, or one collection per build on a
chromadb server (``ASSISTANT_CHROMA_URL``). Both give the same chromadb ``Collection`` to the rest of the index."""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import IndexError_, InputError

EMBEDDED = "embedded"
ADD_BATCH = 1000
# HNSW is approximate; a wide search beam keeps results exact and stable across builds at this size.
COLLECTION_METADATA = {"hnsw:space": "cosine", "hnsw:construction_ef": 256, "hnsw:search_ef": 256, "hnsw:M": 32}
# Files chromadb rewrites on every open: not checksummed, checked with SQLite's own quick_check instead.
VOLATILE = ("chroma.sqlite3", "chroma.sqlite3-wal", "chroma.sqlite3-shm", "chroma.sqlite3-journal")


class StoreUnavailable(IndexError_):
    """The chromadb server cannot be reached: rebuilding would not help."""


def _telemetry_off():
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False)


@dataclass
class EmbeddedStore:
    """chromadb's PersistentClient in ``<build>/chroma``: the folder goes away with the build."""

    location: str = EMBEDDED

    def collection_name(self, build_name: str) -> str:
        return "slides"

    def write(self, build_dir: Path, name: str, rows: Rows) -> None:
        """Create the collection and close the client: chromadb has flushed every file when this returns."""
        client = self._client(build_dir)
        try:
            _add(client.create_collection(name, metadata=_metadata(rows)), rows)
        finally:
            client.close()

    def open(self, build_dir: Path, name: str) -> Any:
        sqlite = build_dir / "chroma" / "chroma.sqlite3"
        if not sqlite.is_file():
            raise IndexError_(f"{sqlite} がありません。")
        check_sqlite(sqlite)
        return self._client(build_dir).get_collection(name)

    def drop(self, build_dir: Path, name: str) -> None:
        """Nothing to do: the collection lives in the build folder."""

    @staticmethod
    def _client(build_dir: Path) -> Any:
        import chromadb

        return chromadb.PersistentClient(path=str(build_dir / "chroma"), settings=_telemetry_off())


@dataclass
class ServerStore:
    """chromadb's HttpClient: each build is a collection ``slides-<build>`` on the server."""

    url: str
    _client: Any = field(default=None, repr=False)

    @property
    def location(self) -> str:
        return self.url

    def collection_name(self, build_name: str) -> str:
        return f"slides-{build_name}"

    def connect(self) -> Any:
        if self._client is None:
            import chromadb

            parts = urlsplit(self.url)
            try:
                self._client = chromadb.HttpClient(host=parts.hostname or "", port=parts.port or 8000,
                                                   ssl=parts.scheme == "https", settings=_telemetry_off())
                self._client.heartbeat()
            except Exception as exc:
                self._client = None
                raise StoreUnavailable(
                    f"chromadb サーバー {self.url} に接続できません。サーバーが起動しているか、"
                    f"ASSISTANT_CHROMA_URL（--chroma-url）を確認してください。詳細: {exc}") from exc
        return self._client

    def write(self, build_dir: Path, name: str, rows: Rows) -> None:
        _add(self.connect().create_collection(name, metadata=_metadata(rows)), rows)

    def open(self, build_dir: Path, name: str) -> Any:
        return self.connect().get_collection(name)

    def drop(self, build_dir: Path, name: str) -> None:
        with contextlib.suppress(Exception):  # already gone, or the server is down: nothing else refers to it
            self.connect().delete_collection(name)


VectorStore = EmbeddedStore | ServerStore


@dataclass(frozen=True)
class Rows:
    """What goes into a collection: ids, vectors, documents and metadata, aligned."""

    ids: list[str]
    vectors: Any  # numpy array (n, dim)
    documents: list[str]
    metadatas: list[dict[str, Any]]


def _metadata(rows: Rows) -> dict[str, Any]:
    """One HNSW batch and one sync for the whole collection: chromadb writes the complete HNSW index to disk once,
    and nothing is left in its log to replay (and rewrite the files) when a reader opens it."""
    whole = max(2, len(rows.ids))
    return {**COLLECTION_METADATA, "hnsw:batch_size": whole, "hnsw:sync_threshold": whole}


def _add(collection: Any, rows: Rows, batch: int = ADD_BATCH) -> None:
    for i in range(0, len(rows.ids), batch):
        collection.add(ids=rows.ids[i : i + batch], embeddings=rows.vectors[i : i + batch].tolist(),
                       documents=rows.documents[i : i + batch], metadatas=rows.metadatas[i : i + batch])


def check_chroma_url(url: str) -> str:
    """``http(s)://host:port`` with nothing after it, normalised; anything else is an input error."""
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in ("http", "https") or not parts.hostname or port is None or parts.path not in ("", "/"):
        raise InputError(
            f"chromadb サーバーのアドレス「{url}」が正しくありません。http://127.0.0.1:8000 の形で指定してください。")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}:{port}"


def make_store(chroma_url: str) -> VectorStore:
    return ServerStore(check_chroma_url(chroma_url)) if chroma_url else EmbeddedStore()


def check_sqlite(path: Path) -> None:
    """SQLite's own page-level check, run before chromadb opens the file (it reads a damaged file badly)."""
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = con.execute("PRAGMA quick_check").fetchone()
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise IndexError_(f"{path} が壊れています: {exc}") from exc
    if not result or result[0] != "ok":
        raise IndexError_(f"{path} が壊れています: {result}")
