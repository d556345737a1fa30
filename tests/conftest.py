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


def write_pdf(path: Path, pages: list[list[str]]) -> Path:
    """A real PDF with Japanese text (reportlab's built-in Heisei CID font: no font file needed); [] = a blank page."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("HeiseiKakuGo-W5"))
    c = canvas.Canvas(str(path))
    for lines in pages:
        c.setFont("HeiseiKakuGo-W5", 14)
        for i, line in enumerate(lines):
            c.drawString(50, 780 - 24 * i, line)
        if not lines:
            c.rect(100, 300, 300, 200, fill=1)  # an image-like page: drawing, no text
        c.showPage()
    c.save()
    return path


@pytest.fixture
def home(tmp_path: Path, assistant, settings: Settings) -> Settings:
    """A copy of the corpus and of the built index (with the converted model) in a temp dir."""
    import shutil

    shutil.copytree(settings.corpus_dir, tmp_path / "corpus", ignore=shutil.ignore_patterns(".manifest.lock"))
    shutil.copytree(settings.index_dir, tmp_path / "index", ignore=shutil.ignore_patterns(".lock"))
    return Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
