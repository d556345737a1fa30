"""Real chromadb, fugashi, bm25s and the default sentence-transformers model."""

import json
import shutil
from pathlib import Path

import pytest

from assistant.index.bm25 import BM25Index
from assistant.index.store import fingerprint, open_index
from assistant.ingest.corpus import load_corpus
from assistant.settings import REPO_ROOT, Settings

pytestmark = pytest.mark.integration


def test_bm25_finds_a_word_from_the_middle_of_a_japanese_sentence():
    docs = [
        "中小企業に対するサイバー攻撃への対処として不可欠なサービスをワンパッケージで提供します",
        "革新的な製品・サービスの開発に必要な設備投資等を支援します",
        "販路開拓等に取り組む小規模事業者を支援します",
    ]
    index = BM25Index.build(docs)
    assert index.search("ワンパッケージ", 3)[0][0] == 0
    assert index.search("設備投資", 3)[0][0] == 1
    assert index.search("販路開拓", 3)[0][0] == 2


def test_index_is_persistent_and_reused(assistant, settings):
    current = json.loads((settings.index_dir / "CURRENT").read_text())
    assert current["fingerprint"] == assistant.index.fingerprint
    assert (settings.index_dir / "builds" / current["build"] / "chroma").is_dir()
    again = open_index(settings, assistant.corpus)
    assert again.build_dir == assistant.index.build_dir
    assert again.collection.count() == len(assistant.index.passages)


def test_dense_search_uses_the_default_model(assistant):
    assert assistant.index.embedder.dimension == 300
    rows = assistant.index.dense_search("ネットワーク監視と端末監視", 3)
    assert assistant.index.passages[rows[0][0]].slide_id == "004_be9706bd3cebb7a2.txt#22"
    assert rows[0][1] > rows[-1][1]


def test_corpus_change_triggers_rebuild_and_old_build_is_replaced(tmp_path: Path):
    corpus_dir = tmp_path / "corpus"
    shutil.copytree(REPO_ROOT / "corpus", corpus_dir)
    settings = Settings(corpus_dir=corpus_dir, index_dir=tmp_path / "index")
    first = open_index(settings, load_corpus(corpus_dir))
    deck = corpus_dir / "004_be9706bd3cebb7a2.txt"
    deck.write_text(deck.read_text(encoding="utf-8") + "\n追加の行: テスト用の新しい記述\n", encoding="utf-8")
    corpus = load_corpus(corpus_dir)
    assert fingerprint(corpus, settings) != first.fingerprint
    second = open_index(settings, corpus)
    assert second.fingerprint != first.fingerprint
    assert second.embedded == 1 and second.reused == len(second.passages) - 1  # only the changed passage
    # the previous build is kept (a process that opened it keeps working); the one before it is removed
    assert sorted(p.name for p in (settings.index_dir / "builds").iterdir()) == sorted(
        [first.build_dir.name, second.build_dir.name])
    deck.write_text(deck.read_text(encoding="utf-8") + "もう一つの追加の行\n", encoding="utf-8")
    third = open_index(settings, load_corpus(corpus_dir))
    assert not first.build_dir.exists()
    assert sorted(p.name for p in (settings.index_dir / "builds").iterdir()) == sorted(
        [second.build_dir.name, third.build_dir.name])


def test_an_interrupted_build_is_never_used(tmp_path: Path, monkeypatch):
    settings = Settings(corpus_dir=REPO_ROOT / "corpus", index_dir=tmp_path / "index")
    corpus = load_corpus(settings.corpus_dir)
    from assistant.index import store

    def boom(*_a, **_k):
        raise KeyboardInterrupt

    monkeypatch.setattr(store.BM25Index, "build", boom)
    with pytest.raises(KeyboardInterrupt):
        open_index(settings, corpus)
    assert not (settings.index_dir / "CURRENT").exists()
    assert list((settings.index_dir / "builds").iterdir()) == []
    monkeypatch.undo()
    assert open_index(settings, corpus).collection.count() > 0


def test_a_damaged_index_is_rebuilt(tmp_path: Path):
    settings = Settings(corpus_dir=REPO_ROOT / "corpus", index_dir=tmp_path / "index")
    corpus = load_corpus(settings.corpus_dir)
    first = open_index(settings, corpus)
    (first.build_dir / "passages.json").write_text("[", encoding="utf-8")
    second = open_index(settings, corpus)
    assert second.build_dir != first.build_dir
    assert len(second.passages) == len(first.passages)
