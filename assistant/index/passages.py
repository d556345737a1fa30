"""Passages: the retrieval unit. Long slides are cut at headings and blank lines into passages of a few
hundred characters, each headed by its slide's title and topic so a passage never loses its context.
Citations always name the whole slide."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from ..ingest.corpus import Corpus
from ..ingest.segment import Slide
from ..text import display_line

MAX_PASSAGE_CHARS = 400
PASSAGE_VERSION = "2"
LEAD_CHARS = 30  # a heading this short (PDF text wraps at about 40) at the end of a slide may introduce the next one
_NOT_LEAD = re.compile(r"^\d+$|^\(出典\)|https?://|:|[。、]$")


@dataclass(frozen=True)
class Passage:
    row: int
    source_file: str
    slide: int
    text: str

    @property
    def slide_id(self) -> str:
        return f"{self.source_file}#{self.slide}"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def slide_header(slide: Slide, corpus: Corpus, lead: str = "") -> str:
    names = [corpus.registry.get(pid).name for pid in slide.topic]
    return " ".join([x for x in (lead, slide.title) if x] + [f"[{n}]" for n in names])


def leads(corpus: Corpus) -> dict[str, str]:
    """For a slide naming no program (◆実施概要), the last short heading of the slide before it in the same deck:
    slide boundaries are heuristic, and such a slide often continues what that heading introduced."""
    out: dict[str, str] = {}
    previous: Slide | None = None
    for slide in corpus.slides:
        continues = previous is not None and previous.source_file == slide.source_file
        if previous is not None and continues and not slide.topic and not slide.programs:
            lines = [display_line(x) for x in previous.text.split("\n")]
            heads = [x for x in lines if 2 <= len(x) <= LEAD_CHARS and not _NOT_LEAD.search(x)]
            if heads:
                out[slide.slide_id] = heads[-1]
        previous = slide
    return out


def _blocks(slide: Slide) -> list[str]:
    blocks: list[list[str]] = [[]]
    for line in slide.text.split("\n"):
        if not line.strip() or line.lstrip().startswith("#"):
            if blocks[-1]:
                blocks.append([])
            if not line.strip():
                continue
        shown = display_line(line)
        if shown:
            blocks[-1].append(shown)
    return ["\n".join(b) for b in blocks if b]


def make_passages(corpus: Corpus) -> list[Passage]:
    out: list[Passage] = []
    lead = leads(corpus)
    for slide in corpus.slides:
        header = slide_header(slide, corpus, lead.get(slide.slide_id, ""))
        chunk = ""
        pieces: list[str] = []
        for block in _blocks(slide):
            if chunk and len(chunk) + len(block) > MAX_PASSAGE_CHARS:
                pieces.append(chunk)
                chunk = ""
            chunk = f"{chunk}\n{block}" if chunk else block
        if chunk or not pieces:
            pieces.append(chunk)
        for piece in pieces:
            out.append(Passage(row=len(out), source_file=slide.source_file, slide=slide.number,
                               text=f"{header}\n{piece}".strip()))
    return out
