"""Server mode: a real chromadb server (`chroma run` on loopback, a free port, a temp path) behind the same
retrieval, the same benchmark figures, incremental `assistant add` and integrity checks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_pdf

from assistant.cli import cli
from assistant.evaluation import evaluate, load_dataset
from assistant.index.chroma_server import free_port, local_chroma_server
from assistant.index.store import find_index, open_index
from assistant.ingest.corpus import load_corpus
from assistant.settings import REPO_ROOT, Settings

pytestmark = pytest.mark.integration

DATASET = REPO_ROOT / "eval" / "qa_dev.yaml"
FIGURES = ("hit1", "hit5", "mrr", "fragment_accuracy", "abstention_accuracy")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    with local_chroma_server(tmp_path_factory.mktemp("chroma-server")) as (url, proc):
        yield url
    assert proc.poll() is not None  # stopped, nothing left running


@pytest.fixture(scope="module")
def server_settings(server: str, settings: Settings, assistant, tmp_path_factory) -> Settings:
    index_dir = tmp_path_factory.mktemp("server-index")
    shutil.copytree(settings.index_dir / "models", index_dir / "models")  # the converted model, not the build
    return Settings(corpus_dir=settings.corpus_dir, index_dir=index_dir, chroma_url=server)


@pytest.fixture(scope="module")
def server_assistant(server_settings: Settings):
    from assistant.service import Assistant

    return Assistant.load(server_settings)


def _client(url: str):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    host, port = url.removeprefix("http://").split(":")
    return chromadb.HttpClient(host=host, port=int(port), settings=ChromaSettings(anonymized_telemetry=False))


def _collections(url: str) -> set[str]:
    return {c.name for c in _client(url).list_collections()}


def test_the_index_lives_on_the_server(server_assistant, server_settings: Settings):
    index = server_assistant.index
    meta = json.loads((index.build_dir / "meta.json").read_text())
    assert meta["store"] == server_settings.chroma_url and not (index.build_dir / "chroma").exists()
    assert meta["collection"] in _collections(server_settings.chroma_url)
    assert index.collection.count() == len(index.passages)
    rows = index.dense_search("ネットワーク監視と端末監視", 3)
    assert index.passages[rows[0][0]].slide_id == "004_be9706bd3cebb7a2.txt#22"


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["dense", "hybrid"])
def test_the_dev_benchmark_gives_the_same_figures_as_the_embedded_store(mode, assistant, server_assistant):
    items = load_dataset(DATASET)
    embedded, served = evaluate(assistant, items, mode), evaluate(server_assistant, items, mode)
    assert {f: getattr(served, f) for f in FIGURES} == {f: getattr(embedded, f) for f in FIGURES}


def test_same_answers_and_citations_as_the_embedded_store(assistant, server_assistant):
    for q in ["ものづくり補助金の補助率は？", "デジタル化・AI導入補助金の事務局の電話番号を教えて",
              "マナビDXとは何ですか", "持続化補助金の賃金引上げ特例の要件は？", "北海道経済産業局の補助金は？"]:
        a, b = assistant.ask(q), server_assistant.ask(q)
        assert (b.answer, b.abstained) == (a.answer, a.abstained)
        assert [(c.source_file, c.slide) for c in b.citations] == [(c.source_file, c.slide) for c in a.citations]


def _home(tmp_path: Path, server_settings: Settings) -> Settings:
    """A copy of the corpus and the index folder, with a collection of its own on the server."""
    shutil.copytree(REPO_ROOT / "corpus", tmp_path / "corpus", ignore=shutil.ignore_patterns(".manifest.lock"))
    shutil.copytree(server_settings.index_dir, tmp_path / "index", ignore=shutil.ignore_patterns(".lock"))
    home = server_settings.with_(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    open_index(home, load_corpus(home.corpus_dir), rebuild=True)
    # the copied build's collection belongs to the other index folder: it was not dropped
    assert json.loads((server_settings.index_dir / "CURRENT").read_text())["build"] in {
        p.name for p in (server_settings.index_dir / "builds").iterdir()}
    return home


def test_add_a_pdf_in_server_mode_is_incremental_and_old_collections_go(server_assistant, tmp_path: Path,
                                                                        server_settings: Settings):
    from assistant.service import Assistant

    home = _home(tmp_path, server_settings)
    first = find_index(home, load_corpus(home.corpus_dir))
    assert first is not None
    first_collection = json.loads((first.build_dir / "meta.json").read_text())["collection"]
    pdf = write_pdf(tmp_path / "r8_jizokuka.pdf", [
        ["小規模事業者持続化補助金（第20回公募）", "補助上限：80万円", "賃金引上げ特例：事業場内最低賃金を+70円以上"],
        ["お問い合わせ", "持続化補助金事務局 電話：050-1111-2222"]])
    result = CliRunner().invoke(cli, ["--corpus-dir", str(home.corpus_dir), "--index-dir", str(home.index_dir),
                                      "--chroma-url", home.chroma_url, "add", str(pdf), "--issuer", "関東経済産業局",
                                      "--date", "2026-07-01"])
    assert result.exit_code == 0, result.output
    second = find_index(home, load_corpus(home.corpus_dir))
    assert second is not None
    meta = json.loads((second.build_dir / "meta.json").read_text())
    assert meta["embedded"] == 2 and meta["reused"] == len(first.passages)
    assert {first_collection, meta["collection"]} <= _collections(home.chroma_url)  # the previous one is kept
    answer = Assistant.load(home).ask("持続化補助金の事務局の電話番号は？")
    assert answer.citations[0].source_file == "r8_jizokuka.txt" and "050-1111-2222" in answer.answer

    with (home.corpus_dir / "r8_jizokuka.txt").open("a", encoding="utf-8") as f:
        f.write("追記: 申請受付中\n")
    third = open_index(home, load_corpus(home.corpus_dir))
    assert third.embedded == 1
    names = _collections(home.chroma_url)
    assert first_collection not in names and meta["collection"] in names  # two builds kept, the first one dropped


def test_a_collection_deleted_on_the_server_is_rebuilt(server_assistant, server_settings: Settings, tmp_path: Path):
    home = _home(tmp_path, server_settings)
    corpus = load_corpus(home.corpus_dir)
    before = find_index(home, corpus)
    assert before is not None
    _client(home.chroma_url).delete_collection(json.loads((before.build_dir / "meta.json").read_text())["collection"])
    assert find_index(home, corpus) is None
    after = open_index(home, corpus)
    assert after.build_dir != before.build_dir and after.embedded == 0  # vectors came from the local build
    assert after.collection.count() == len(after.passages)


def test_an_unreachable_or_malformed_server_address_is_a_japanese_error(settings: Settings):
    down = CliRunner().invoke(cli, ["--index-dir", str(settings.index_dir), "--chroma-url",
                                    f"http://127.0.0.1:{free_port()}", "ask", "ものづくり補助金の補助率は？"])
    assert down.exit_code == 1 and "接続できません" in down.output and "Traceback" not in down.output
    for bad in ["ftp://127.0.0.1:8000", "127.0.0.1:8000", "http://127.0.0.1", "http://127.0.0.1:8000/api"]:
        result = CliRunner().invoke(cli, ["--chroma-url", bad, "index"])
        assert result.exit_code == 2 and "アドレス" in result.output, (bad, result.output)
