"""Checksums of a build's files: recorded in its meta.json when the build is complete, checked on every open.

Every file of a build is hashed except meta.json and the SQLite files chromadb rewrites on each open (those get
SQLite's own quick_check). The HNSW files are written once, complete, when the build's collection is created (see
vectors.py), so they never change afterwards. A missing, truncated or overwritten file means the build is damaged;
checking before chromadb or bm25s read the files matters, since chromadb can crash the process on a damaged HNSW
file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .vectors import VOLATILE

META = "meta.json"
_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def digests(build_dir: Path) -> dict[str, list]:
    """{relative path: [size, sha256]} for every checksummed file of the build."""
    out: dict[str, list] = {}
    for path in sorted(build_dir.rglob("*")):
        if not path.is_file() or path.name in VOLATILE or path.name.endswith(".tmp"):
            continue
        rel = path.relative_to(build_dir).as_posix()
        if rel == META:
            continue
        out[rel] = [path.stat().st_size, sha256_file(path)]
    return out


def damage(build_dir: Path, recorded: dict[str, list], only: tuple[str, ...] | None = None) -> str | None:
    """What is wrong with the recorded files (``only`` these, if given), or None when all are intact."""
    if not recorded:
        return "チェックサムの記録がありません"
    for rel, (size, digest) in recorded.items():
        if only is not None and rel not in only:
            continue
        path = build_dir / rel
        try:
            if path.stat().st_size != size:
                return f"{rel} の大きさが違います"
        except OSError:
            return f"{rel} がありません"
        if sha256_file(path) != digest:
            return f"{rel} の内容が変わっています"
    return None
