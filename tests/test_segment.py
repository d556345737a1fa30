from pathlib import Path

import pytest

from assistant.ingest.corpus import load_corpus
from assistant.ingest.manifest import load_manifest
from assistant.ingest.segment import segment
from assistant.settings import REPO_ROOT

CORPUS = REPO_ROOT / "corpus"
SLIDE_COUNTS = {
    "000_cbe6c34ac374a521.txt": 24,
    "002_1ca539d7a2e31e25.txt": 22,
    "003_3603fba03cb2dc61.txt": 27,
    "004_be9706bd3cebb7a2.txt": 24,
}
TITLES = [
    ("000_cbe6c34ac374a521.txt", 9, "成長型中小企業等研究開発支援事業(Go-Tech事業)"),
    ("000_cbe6c34ac374a521.txt", 21, "「小規模事業者持続化補助金」 が拡充されます"),
    ("002_1ca539d7a2e31e25.txt", 14, "中小企業省力化投資補助事業 (中小企業等事業再構築促進事業を再編)"),
    ("002_1ca539d7a2e31e25.txt", 20, "「デジタル アメーバ」の「入会」の方法と課題の提出方法"),
    ("003_3603fba03cb2dc61.txt", 9, "(7) DX認定制度"),
    ("003_3603fba03cb2dc61.txt", 26, "(2)情報処理推進機構(IPA)のセキュリティ支援施策"),
    ("004_be9706bd3cebb7a2.txt", 7, "補助上限、補助率等"),
    ("004_be9706bd3cebb7a2.txt", 21, "サイバーセキュリティお助け隊サービス"),
]


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(CORPUS)


def test_every_deck_has_its_pinned_slide_count(corpus):
    counts = {f: len(corpus.deck_slides(f)) for f in SLIDE_COUNTS}
    assert counts == SLIDE_COUNTS


@pytest.mark.parametrize(("deck", "number", "title"), TITLES)
def test_sample_titles(corpus, deck, number, title):
    assert corpus.slide(deck, number).title == title


def test_segmentation_is_deterministic_and_covers_the_deck():
    manifest = load_manifest(CORPUS)
    for deck in manifest.decks:
        raw = (CORPUS / deck.file).read_text(encoding="utf-8")
        first, second = segment(raw, deck), segment(raw, deck)
        assert first == second
        assert [s.number for s in first] == list(range(1, len(first) + 1))
        starts = [s.line_start for s in first]
        assert starts == sorted(starts)
        assert all(s.line_start <= s.line_end for s in first)


def test_slide_text_is_nfkc_normalised(corpus):
    text = "\n".join(s.text for s in corpus.deck_slides("003_3603fba03cb2dc61.txt"))
    assert "支援" in text and "⽀" not in text
    assert "民間" in text and "⺠" not in text


def test_a_deck_is_findable_from_its_citation(corpus):
    """line_start/line_end point at the slide's lines in the original file."""
    s = corpus.slide("004_be9706bd3cebb7a2.txt", 7)
    raw = (CORPUS / s.source_file).read_text(encoding="utf-8").split("\n")
    assert raw[s.line_start - 1].strip() == "補助上限、補助率等"


def test_manifest_rejects_unknown_keys(tmp_path: Path):
    from assistant.errors import DataError

    (tmp_path / "a.txt").write_text("# t\n本文", encoding="utf-8")
    (tmp_path / "manifest.yaml").write_text(
        "decks:\n  - {file: a.txt, issuer: x, date: 2024-01-01, date_label: x, title: t, format: markdown,"
        " colour: red}\n", encoding="utf-8")
    with pytest.raises(DataError, match="manifest"):
        load_manifest(tmp_path)


def test_manifest_rejects_missing_deck_file(tmp_path: Path):
    from assistant.errors import DataError

    (tmp_path / "manifest.yaml").write_text(
        "decks:\n  - {file: none.txt, issuer: x, date: 2024-01-01, date_label: x, title: t, format: text}\n",
        encoding="utf-8")
    with pytest.raises(DataError, match=r"none\.txt"):
        load_manifest(tmp_path)
