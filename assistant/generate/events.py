"""What a streamed answer yields (``Assistant.ask_stream``)."""

from __future__ import annotations

from dataclasses import dataclass

from ..answer.types import Answer

TEXT, STATUS, DONE = "text", "status", "done"


@dataclass(frozen=True)
class Event:
    """One step: ``text`` (the answer's checked lines so far), ``status`` (what is running) or ``done`` (the answer;
    always the last event)."""

    kind: str
    text: str = ""
    answer: Answer | None = None
