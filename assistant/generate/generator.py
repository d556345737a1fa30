"""Generative answers with a grounding guard.

The chat model reads the retrieved slides (fenced as data, labelled S1…) and may call the calculator tool. Its text
is checked line by line as it streams (``check.py``); a line is shown only once it passes. On the first failing line,
an error, a timeout, an answer without citations or one that declines, generation stops and the extractive answer
is returned instead, with the reasons in ``answer.generation``. An accepted answer cites exactly the slides its
markers name (renumbered [1]…) and the slides behind any calculator result.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from ..answer.calc_answer import TOOL_NAME
from ..answer.citations import citation_of
from ..answer.grounding import NUMBER, extract_figures, slide_evidence, tool_text
from ..answer.types import Answer, Citation, Quote
from ..ingest.corpus import Corpus
from ..ingest.segment import Slide
from ..settings import Settings
from ..text import display_line, nfkc
from ..tools.rules import Rulebook
from .check import MARKER, MODEL_ERROR, TIMEOUT, Problem, check_line, check_whole, labels_in
from .events import DONE, STATUS, TEXT, Event
from .models import ChatModel
from .prompt import messages, sources_of
from .tools import calculator_tool

MAX_TOOL_ROUNDS = 3
DRAFT_CHARS = 2000  # of a rejected draft kept in ``generation.draft`` for evaluators
STATUS_TOOL = "計算ツールで補助額を計算しています…"


class _Rejected(Exception):
    def __init__(self, problems: list[Problem], draft: str) -> None:
        super().__init__(problems[0].code if problems else "")
        self.problems = problems
        self.draft = draft


def _text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)


class Generator:
    """One configured chat model answering over retrieved slides."""

    def __init__(self, chat: ChatModel, corpus: Corpus, rulebook: Rulebook, settings: Settings,
                 system_facts: str = "") -> None:
        self.chat = chat
        self.corpus = corpus
        self.rulebook = rulebook
        self.settings = settings
        self.system_facts = system_facts

    def stream(self, question: str, slides: Sequence[Slide], fallback: Answer) -> Iterator[Event]:
        """Events ending with ``done``: the generated answer, or ``fallback`` with the reasons recorded."""
        started = time.perf_counter()
        sources = sources_of(slides[: self.settings.generator_slides])
        evidence = {src.label: slide_evidence([citation_of(self.corpus, src.slide)])[0] for src in sources}
        calls: list[dict[str, Any]] = []
        record: dict[str, Any] = {"model": self.chat.label, "slides": [s.slide.slide_id for s in sources]}
        try:
            text = yield from self._run(question, sources, evidence, calls, started)
        except _Rejected as rejected:
            record.update(status="fallback", reasons=[p.to_dict() for p in rejected.problems],
                          draft=rejected.draft[:DRAFT_CHARS])
            fallback.generation = {**record, "tool_calls": len(calls), "latency_ms": _ms(started)}
            fallback.notes.append("generation_rejected")
            yield Event(DONE, answer=fallback)
            return
        answer = self._answer(text, sources, calls, fallback)
        answer.generation = {**record, "status": "accepted", "reasons": [], "tool_calls": len(calls),
                             "latency_ms": _ms(started)}
        yield Event(DONE, answer=answer)

    def _run(self, question: str, sources, evidence: dict[str, str], calls: list[dict[str, Any]],
             started: float) -> Iterator[Event]:
        tool = calculator_tool(self.rulebook, question, calls) if self.chat.supports_tools else None
        model = self.chat.model.bind_tools([tool]) if tool is not None else self.chat.model
        history: list[BaseMessage] = messages(question, sources, self.corpus, tools=tool is not None)
        deadline = started + self.settings.generator_timeout
        for _ in range(MAX_TOOL_ROUNDS + 1):
            shown: list[str] = []
            buffer = ""
            reply = None
            stream = iter(())
            try:
                stream = model.stream(history)
                for chunk in stream:
                    reply = chunk if reply is None else reply + chunk
                    buffer += _text(chunk)
                    while "\n" in buffer:
                        line, buffer = buffer.split("\n", 1)
                        self._check(line, evidence, calls, shown, buffer)
                        shown.append(line)
                        yield Event(TEXT, "\n".join(shown).strip())
                    if time.perf_counter() > deadline:
                        raise _Rejected([Problem(TIMEOUT, f"{self.settings.generator_timeout:g}秒")],
                                        "\n".join([*shown, buffer]))
            except _Rejected:
                raise
            except Exception as exc:  # connection refused, HTTP errors, a model that cannot run: fall back
                raise _Rejected([Problem(MODEL_ERROR, f"{type(exc).__name__}: {str(exc)[:200]}")], "") from exc
            finally:
                close = getattr(stream, "close", None)
                if close:
                    close()  # stops a remote stream at once when a line fails
            tool_calls = getattr(reply, "tool_calls", None) or []
            if tool is not None and tool_calls:
                history.append(AIMessage(content=_text(reply), tool_calls=tool_calls))
                yield Event(STATUS, STATUS_TOOL)
                for call in tool_calls:
                    history.append(tool.invoke({**call, "type": "tool_call"}))
                continue
            if buffer.strip():
                self._check(buffer, evidence, calls, shown, "")
                shown.append(buffer)
            text = "\n".join(shown).strip()
            cited = [label for label in labels_in(text) if label in evidence]
            problems = check_whole(text, cited, sum("error" not in c["output"] for c in calls))
            if problems:
                raise _Rejected(problems, text)
            if shown:
                yield Event(TEXT, text)
            return text
        raise _Rejected([Problem(TIMEOUT, f"計算ツールの呼び出しが{MAX_TOOL_ROUNDS}回を超えた")], "")

    def _check(self, line: str, evidence: dict[str, str], calls: list[dict[str, Any]], shown: list[str],
               rest: str) -> None:
        facts = [tool_text(c) for c in calls if "error" not in c["output"]]  # a refused call grounds nothing
        problems = check_line(line, evidence, facts, (self.system_facts,))
        if problems:
            raise _Rejected(problems, "\n".join([*shown, line, rest]))

    def _answer(self, text: str, sources, calls: list[dict[str, Any]], fallback: Answer) -> Answer:
        text = nfkc(text)
        by_label = {src.label: src.slide for src in sources}
        order = [label for label in labels_in(text) if label in by_label]
        number = {label: i for i, label in enumerate(order, 1)}

        def renumber(m) -> str:
            return "".join(f"[{number[label]}]" for label in labels_in(m.group(0)) if label in number)

        citations: list[Citation] = [citation_of(self.corpus, by_label[label], _quotes(text, label, by_label[label]))
                                     for label in order]
        seen = {(c.source_file, c.slide) for c in citations}
        for call in calls:
            for src in call["output"].get("sources", []) if "error" not in call["output"] else []:
                key = (src["source_file"], src["slide"])
                if key not in seen:
                    seen.add(key)
                    citations.append(citation_of(self.corpus, self.corpus.slide(*key), [src["quote"]]))
        body = MARKER.sub(renumber, text)
        refs = " / ".join(f"[{i}] {c.source_file} スライド{c.slide}「{c.title}」（{c.issuer}、{c.date_label}）"
                          for i, c in enumerate(citations, 1))
        quotes = [Quote(q, i, 1.0) for i, c in enumerate(citations, 1) for q in c.quotes]
        return Answer(
            question=fallback.question, answer=f"{body}\n出典: {refs}", abstained=False, citations=citations,
            quotes=quotes,
            tool_calls=[c for c in calls if c["tool"] == TOOL_NAME and "error" not in c["output"]],
            programs=fallback.programs, notes=["generated"],
        )


def _quotes(text: str, label: str, slide: Slide, limit: int = 5) -> list[str]:
    """The slide's lines that state a figure the answer's lines citing it state (highlighted in the sources panel)."""
    said = "\n".join(MARKER.sub(" ", line) for line in text.split("\n") if label in labels_in(line))
    keys = {k for f in extract_figures(said) if f.kind != NUMBER for k in f.keys}
    out: list[str] = []
    for raw in slide.text.split("\n"):
        shown = display_line(raw)
        if shown and shown not in out and keys & {k for f in extract_figures(shown) for k in f.keys}:
            out.append(shown)
    return out[:limit]


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
