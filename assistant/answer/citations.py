"""A slide as a citation: the one place that turns a corpus slide into the contract's ``Citation``."""

from __future__ import annotations

from collections.abc import Sequence

from ..ingest.corpus import Corpus
from ..ingest.segment import Slide
from .types import Citation


def citation_of(corpus: Corpus, slide: Slide, quotes: Sequence[str] = (), older: bool = False) -> Citation:
    deck = corpus.deck(slide.source_file)
    return Citation(slide.source_file, slide.number, slide.title, slide.text, deck.issuer, deck.date.isoformat(),
                    deck.date_label, slide.line_start, slide.line_end, tuple(quotes), older)
