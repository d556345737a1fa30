"""Typed results crossing into the surfaces. ``to_dict`` is the public JSON contract (extend, never break)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Citation:
    source_file: str
    slide: int
    title: str
    text: str
    issuer: str
    date: str
    date_label: str
    line_start: int
    line_end: int
    quotes: tuple[str, ...] = ()
    older: bool = False  # from an older deck than the newest one on the topic


@dataclass(frozen=True)
class Quote:
    text: str
    citation: int  # 1-based index into citations
    score: float = 0.0


@dataclass
class Answer:
    question: str
    answer: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    programs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    id: str | None = None
    follow_up: dict[str, Any] | None = None  # what the calculator still needs, when it asks back
    context: Any = field(default=None, repr=False, compare=False)  # calculation facts carried to the next turn
    grounding: dict[str, Any] | None = None  # the figure check on the answer (assistant/answer/guard.py)
    generation: dict[str, Any] | None = None  # a chat model's attempt (assistant/generate); only when one is set up
    # outputs of deterministic steps that are not tool_calls (parser notes, a calculator's error) the text states
    tool_texts: list[str] = field(default_factory=list, repr=False, compare=False)
    retrieved: list[Any] = field(default_factory=list, repr=False, compare=False)  # the slides retrieval found

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [{**asdict(c), "quotes": list(c.quotes)} for c in self.citations],
            "quotes": [asdict(q) for q in self.quotes],
            "tool_calls": self.tool_calls,
            "programs": self.programs,
            "notes": self.notes,
            "follow_up": self.follow_up,
            "grounding": self.grounding,
        } | ({"generation": self.generation} if self.generation is not None else {})
