"""Deterministic segmentation of a deck's text into numbered slides.

The decks carry no page breaks, so slide boundaries are recovered from line patterns
(regular expressions matched against each NFKC-normalised, stripped line):

* ``slide_start``: a matching line opens a new slide.
* ``start_before``: a line whose *next non-blank line* matches opens a new slide.
* ``slide_end``: a matching line closes the slide; following lines matching
  ``slide_end`` or ``end_continuation`` stay with it (003 ends slides with source lines
  「(出典)…」 and a bare page number).

Markdown decks default to opening a slide at every ``#`` heading, at numbered section
dividers (``## 2. …``) and at flyer titles (``## 「…」``). Text decks default to closing a
slide at a bare page number. A deck's manifest entry may override the patterns. A slide's
title is the first line matching a ``title`` pattern, else its first heading or line
(skipping one-character lines and source lines such as 「(出典)…」).
Empty slides are dropped; numbering is 1-based in file order.

Decks of format ``pages`` (text extracted from a PDF by ``assistant add``) have one slide per page: a line that
starts with a form feed (``\\f``, as pdftotext writes) opens the next page, and the slide number is the page
number, so a cited slide is the same page of the PDF; pages without text are skipped (their numbers too).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..text import clean_line, display_line
from .manifest import Deck, Segmentation

MARKDOWN_DEFAULT = Segmentation(slide_start=[r"^# ", r"^## \d+\.\s", r"^## 「"])
TEXT_DEFAULT = Segmentation(slide_end=[r"^\d{1,3}$"])
MAX_TITLE = 80


@dataclass(frozen=True)
class Slide:
    """One slide: where it is, what it says, what it is about."""

    source_file: str
    number: int
    title: str
    text: str
    line_start: int
    line_end: int
    programs: tuple[str, ...] = field(default=())
    topic: tuple[str, ...] = field(default=())

    @property
    def slide_id(self) -> str:
        return f"{self.source_file}#{self.number}"


def _compile(patterns: list[str]) -> list[re.Pattern[str]]:
    return [re.compile(p) for p in patterns]


def _matches(pats: list[re.Pattern[str]], line: str) -> bool:
    return any(p.search(line) for p in pats)


def segment(raw: str, deck: Deck) -> list[Slide]:
    """Split a deck's raw text into slides (pure function of text and manifest entry)."""
    rules = deck.segmentation or (MARKDOWN_DEFAULT if deck.format == "markdown" else TEXT_DEFAULT)
    if deck.format == "pages":
        return _pages(raw, deck, _compile(rules.title if deck.segmentation else []))
    start = _compile(rules.slide_start)
    before = _compile(rules.start_before)
    end = _compile(rules.slide_end)
    cont = _compile(rules.end_continuation)
    titles = _compile(rules.title)

    lines = [clean_line(x) for x in raw.replace("\r\n", "\n").replace("\f", "\n").split("\n")]
    stripped = [x.strip() for x in lines]
    next_nonblank: list[str] = [""] * len(lines)
    upcoming = ""
    for i in range(len(lines) - 1, -1, -1):
        next_nonblank[i] = upcoming
        if stripped[i]:
            upcoming = stripped[i]

    chunks: list[tuple[int, list[tuple[int, str]]]] = []
    current: list[tuple[int, str]] = []
    closing = False

    def flush() -> None:
        nonlocal current
        if any(s for _, s in current):
            chunks.append((current[0][0], current))
        current = []

    for i, line in enumerate(lines):
        s = stripped[i]
        if not s:
            if current:
                current.append((i + 1, ""))
            continue
        if closing and not (_matches(end, s) or _matches(cont, s)):
            flush()
            closing = False
        if current and any(t for _, t in current) and (
            _matches(start, s) or (before and _matches(before, next_nonblank[i]))
        ):
            flush()
        current.append((i + 1, line))
        if _matches(end, s):
            closing = True
    flush()

    slides = []
    for n, (_first, body) in enumerate(chunks, start=1):
        text_lines = _collapse_blank([t for _, t in body])
        content = [ln for ln, t in body if t.strip()]
        slides.append(
            Slide(
                source_file=deck.file,
                number=n,
                title=_title(text_lines, titles),
                text="\n".join(text_lines),
                line_start=content[0],
                line_end=content[-1],
            )
        )
    return slides


def _pages(raw: str, deck: Deck, titles: list[re.Pattern[str]]) -> list[Slide]:
    pages: list[list[tuple[int, str]]] = [[]]
    for i, line in enumerate(raw.replace("\r\n", "\n").split("\n"), start=1):
        rest = line.lstrip("\f")
        pages.extend([] for _ in range(len(line) - len(rest)))  # "\f\f" at a line start: an empty page between
        line = rest
        pages[-1].append((i, clean_line(line.replace("\f", " "))))
    slides = []
    for number, body in enumerate(pages, start=1):
        text_lines = _collapse_blank([t for _, t in body])
        content = [ln for ln, t in body if t.strip()]
        if not content:
            continue
        slides.append(Slide(source_file=deck.file, number=number, title=_title(text_lines, titles),
                            text="\n".join(text_lines), line_start=content[0], line_end=content[-1]))
    return slides


def _collapse_blank(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if not line.strip() and (not out or not out[-1].strip()):
            continue
        out.append(line)
    while out and not out[-1].strip():
        out.pop()
    return out


_NOT_TITLE = re.compile(r"^(\(出典\)|【参考】|〃|:|https?://)")


def _title(lines: list[str], patterns: list[re.Pattern[str]]) -> str:
    candidates = [ln for ln in lines if len(ln.strip()) >= 2 and not _NOT_TITLE.match(ln.strip())]
    candidates = candidates or [ln for ln in lines if ln.strip()]
    chosen = next((ln for ln in candidates if _matches(patterns, ln.strip())), None)
    if chosen is None:
        chosen = next((ln for ln in candidates if ln.lstrip().startswith("#")), candidates[0])
    return display_line(chosen)[:MAX_TITLE]
