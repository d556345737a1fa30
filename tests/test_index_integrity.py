"""Index integrity on the real chromadb, bm25s and model: damage is detected and rebuilt, concurrent builds take turns,
and a reader only ever sees complete builds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.index.store import find_index, open_index
from assistant.ingest.corpus import load_corpus
from assistant.settings import REPO_ROOT, Settings

pytestmark = pytest.mark.integration


def _build(home: Settings) -> Path:
    current = json.loads((home.index_dir / "CURRENT").read_text())
    return home.index_dir / "builds" / current["build"]


def _garbage(path: Path) -> None:
    path.write_bytes(os.urandom(max(4096, path.stat().st_size)))


def _hnsw(build: Path, name: str) -> Path:
    found = sorted((build / "chroma").glob(f"*/{name}"))
    assert found, f"no HNSW {name} in {build}"
    return found[0]


DAMAGE = {
    # what is done to the build CURRENT points to, and whether its vectors can still be reused
    "garbage chroma sqlite": (lambda b: _garbage(b / "chroma" / "chroma.sqlite3"), True),
    "truncated chroma sqlite": (lambda b: os.truncate(b / "chroma" / "chroma.sqlite3", 8192), True),
    "garbage HNSW data": (lambda b: _garbage(_hnsw(b, "data_level0.bin")), True),
    "HNSW folder deleted": (lambda b: shutil.rmtree(_hnsw(b, "header.bin").parent), True),
    "chroma folder deleted": (lambda b: shutil.rmtree(b / "chroma"), True),
    "bm25 files deleted": (lambda b: shutil.rmtree(b / "bm25"), True),
    "passages.json deleted": (lambda b: (b / "passages.json").unlink(), False),
    "passages.json truncated": (lambda b: os.truncate(b / "passages.json", 100), False),
    "vectors.npy garbage": (lambda b: _garbage(b / "vectors.npy"), False),
    "meta.json deleted": (lambda b: (b / "meta.json").unlink(), False),
    "build folder deleted": (lambda b: shutil.rmtree(b), False),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_index_is_detected_and_rebuilt(case: str, home: Settings):
    damage, reusable = DAMAGE[case]
    corpus = load_corpus(home.corpus_dir)
    before = _build(home)
    n = len(json.loads((before / "passages.json").read_text()))
    damage(before)
    assert find_index(home, corpus) is None  # a reader never gets the damaged build
    messages: list[str] = []
    index = open_index(home, corpus, progress=messages.append)
    assert index.build_dir != before and _build(home) == index.build_dir
    assert len(index.passages) == n and index.collection.count() == n
    if reusable:
        assert index.embedded == 0  # the intact vectors of the damaged build were reused
    assert not before.exists()  # a damaged build is not kept as the previous one
    top = index.dense_search("ネットワーク監視と端末監視", 3)[0][0]
    assert index.passages[top].slide_id == "004_be9706bd3cebb7a2.txt#22"
    again = find_index(home, corpus)
    assert again is not None and again.build_dir == index.build_dir


def test_a_garbage_pointer_is_repaired_without_a_rebuild(home: Settings):
    corpus = load_corpus(home.corpus_dir)
    before = _build(home)
    (home.index_dir / "CURRENT").write_text("{garbage", encoding="utf-8")
    index = open_index(home, corpus)
    assert index.build_dir == before and _build(home) == before


def _cli(home: Settings, *args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, "-m", "assistant.cli", "--corpus-dir", str(home.corpus_dir),
                             "--index-dir", str(home.index_dir), *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


@pytest.mark.slow
def test_damage_found_by_a_new_process_is_rebuilt_through_the_cli(home: Settings):
    before = _build(home)
    _garbage(before / "chroma" / "chroma.sqlite3")
    proc = _cli(home, "index")
    _out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "索引が壊れています" in err and "再利用" in err
    assert _build(home) != before and find_index(home, load_corpus(home.corpus_dir)) is not None


@pytest.mark.slow
def test_two_index_runs_at_once_leave_exactly_one_valid_build(home: Settings):
    shutil.rmtree(home.index_dir / "builds")
    (home.index_dir / "CURRENT").unlink()
    procs = [_cli(home, "index") for _ in range(2)]
    results = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    builds = list((home.index_dir / "builds").iterdir())
    assert len(builds) == 1 and _build(home) == builds[0]
    assert sum("索引を作成しました" in err for _, err in results) == 1  # the second one found the first one's build
    index = find_index(home, load_corpus(home.corpus_dir))
    assert index is not None and index.build_dir == builds[0]


@pytest.mark.slow
def test_a_reader_never_sees_a_half_built_index(home: Settings):
    """While another process rebuilds three times, every open finds a complete, verified build."""
    corpus = load_corpus(home.corpus_dir)
    code = ("import sys; from pathlib import Path; from assistant.settings import Settings; "
            "from assistant.ingest.corpus import load_corpus; from assistant.index.store import open_index; "
            "s = Settings(corpus_dir=Path(sys.argv[1]), index_dir=Path(sys.argv[2])); "
            "c = load_corpus(s.corpus_dir); [open_index(s, c, rebuild=True) for _ in range(3)]")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1"}
    writer = subprocess.Popen([sys.executable, "-c", code, str(home.corpus_dir), str(home.index_dir)], env=env,
                              stderr=subprocess.PIPE, text=True)
    seen: set[str] = set()
    opens = 0
    deadline = time.monotonic() + 300
    while writer.poll() is None and time.monotonic() < deadline:
        problems: list[str] = []
        index = find_index(home, corpus, progress=problems.append)
        assert index is not None, f"a reader found no complete build: {problems}"
        assert len(index.passages) == index.collection.count() == index.bm25.size
        seen.add(index.build_dir.name)
        opens += 1
    assert writer.wait(timeout=60) == 0, writer.stderr.read() if writer.stderr else ""
    assert opens > 3 and len(seen) >= 2  # the reader saw builds being swapped while it read
