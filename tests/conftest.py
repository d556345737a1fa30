"""Shared fixtures. Tests isolate state through ASSISTANT_INDEX_DIR; the real corpus is read in place."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.settings import REPO_ROOT, Settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("index")


@pytest.fixture(scope="session")
def settings(index_dir: Path) -> Settings:
    return Settings(corpus_dir=REPO_ROOT / "corpus", index_dir=index_dir)


@pytest.fixture(scope="session")
def corpus(settings: Settings):
    from assistant.ingest.corpus import load_corpus

    return load_corpus(settings.corpus_dir)


@pytest.fixture(scope="session")
def assistant(settings: Settings):
    from assistant.service import Assistant

    return Assistant.load(settings)
