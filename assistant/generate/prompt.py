"""The Japanese prompt: rules in the system message; the retrieved slides (with ids) and the question fenced as data.

Nothing inside a fence can close it: ``<`` and ``>`` in slide text and in the question are replaced by their
full-width forms, so a slide or a question that writes ``</資料>`` or 「前の指示を無視して」 stays data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files

import yaml
from langchain_core.messages import BaseMessage
from langchain_core.prompts import ChatPromptTemplate

from ..ingest.corpus import Corpus
from ..ingest.segment import Slide

MAX_SLIDE_CHARS = 1800  # longer slide texts are cut for the model; figures are checked against the whole slide
PROMPT = yaml.safe_load(files("assistant.generate").joinpath("prompt_ja.yaml").read_text(encoding="utf-8"))
TEMPLATE = ChatPromptTemplate.from_messages([("system", PROMPT["system"]), ("human", PROMPT["human"])])


@dataclass(frozen=True)
class Source:
    """A retrieved slide as the model sees it: its label (S1…) and the slide."""

    label: str
    slide: Slide


def fence(text: str) -> str:
    return text.replace("<", "＜").replace(">", "＞")


def slide_block(source: Source, corpus: Corpus) -> str:
    s = source.slide
    deck = corpus.deck(s.source_file)
    body = s.text if len(s.text) <= MAX_SLIDE_CHARS else s.text[:MAX_SLIDE_CHARS] + "…（以下省略）"
    head = (f'<スライド id="{source.label}" 資料="{s.source_file}" 番号="{s.number}" '
            f'発行="{fence(deck.issuer)} {fence(deck.date_label)}" 題名="{fence(s.title)}">')
    return f"{head}\n{fence(body)}\n</スライド>"


def sources_of(slides: Sequence[Slide]) -> list[Source]:
    return [Source(f"S{i}", s) for i, s in enumerate(slides, 1)]


def messages(question: str, sources: Sequence[Source], corpus: Corpus, tools: bool) -> list[BaseMessage]:
    """The system and human messages for one question."""
    return TEMPLATE.format_messages(
        tool_rule=PROMPT["tool_rule"] if tools else "",
        slides="\n".join(slide_block(src, corpus) for src in sources),
        question=fence(question),
    )
