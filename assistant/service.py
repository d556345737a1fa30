"""The library entry point every surface calls: load the corpus and index once, answer questions."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from .answer.calc_answer import calc_answer, follow_up_answer
from .answer.compose import Composer
from .answer.grounding import USER_KINDS, Evidence, slide_evidence, tool_text
from .answer.guard import guard_answer
from .answer.types import Answer
from .directives import strip_directives
from .errors import InputError
from .generate.events import DONE, Event
from .index.store import Index, Progress, require_index
from .ingest.corpus import Corpus, load_corpus
from .privacy import QuestionLog
from .retrieve.hybrid import Hit, Retriever
from .retrieve.lexical import TermStats
from .settings import Settings
from .text import nfkc, strip_controls
from .tools.calculator import CalcRequest, CalcResult, MissingInputs, calculate
from .tools.parse import ParsedQuestion, QuestionParser
from .tools.rules import Rulebook, load_rulebook

if TYPE_CHECKING:
    from .generate.generator import Generator
    from .generate.models import ChatModel


def clean_question(question: object, max_chars: int) -> str:
    """NFKC, control characters removed, whitespace collapsed; rejects empty and over-long questions."""
    if not isinstance(question, str):
        raise InputError("質問は文字列で入力してください。")
    if len(question) > 10 * max_chars:  # refused before normalising: a 1 MB paste is answered at once
        raise InputError(f"質問が長すぎます（{len(question):,}文字）。{max_chars:,}文字以内にまとめてください。")
    q = " ".join(strip_controls(nfkc(question)).split())
    if not q:
        raise InputError("質問が空です。知りたいことを入力してください（例: ものづくり補助金の補助上限は？）。")
    if len(q) > max_chars:
        raise InputError(f"質問が長すぎます（{len(q):,}文字）。{max_chars:,}文字以内にまとめてください。")
    return q


@dataclass
class Assistant:
    settings: Settings
    corpus: Corpus
    index: Index
    retriever: Retriever = field(init=False)
    composer: Composer = field(init=False)
    rulebook: Rulebook = field(init=False)
    parser: QuestionParser = field(init=False)
    _chain: Any = field(init=False, default=None)
    _generator: Any = field(init=False, default=None)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    question_log: QuestionLog = field(init=False)

    def __post_init__(self) -> None:
        stats = TermStats(self.corpus)
        self.retriever = Retriever(self.index, self.corpus, self.settings, stats)
        self.composer = Composer(self.corpus, self.settings, stats)
        self.rulebook = load_rulebook(self.corpus, self.settings.corpus_dir)
        self.parser = QuestionParser(self.rulebook)
        self.question_log = QuestionLog.for_settings(self.settings)

    @classmethod
    def load(cls, settings: Settings | None = None, progress: Progress | None = None) -> Assistant:
        settings = settings or Settings.from_env()
        corpus = load_corpus(settings.corpus_dir)
        index = require_index(settings, corpus, progress=progress)
        index.embedder.warm_up()
        assistant = cls(settings, corpus, index)
        if settings.generator:
            if progress:
                progress("生成モデルを読み込んでいます")
            _ = assistant.generator  # a misconfigured model is reported at start, not at the first question
        return assistant

    @property
    def chain(self):
        """The LangChain runnable: {question, context} → calculator answer, or retrieval → {hits, programs} → Answer."""
        if self._chain is None:
            from langchain_core.runnables import RunnableBranch, RunnableLambda, RunnableParallel

            retrieve = RunnableParallel(
                question=RunnableLambda(lambda x: x["question"]),
                hits=RunnableLambda(lambda x: self.retriever.search(x["question"])),
                programs=RunnableLambda(lambda x: self.retriever.programs_in(x["question"])),
            )
            compose = RunnableLambda(lambda x: self._compose(x["question"], x["hits"], x["programs"]))
            rag = retrieve | compose
            route = RunnableLambda(lambda x: {**x, "calc": self._calculation(x["question"], x.get("context"))})
            calc = RunnableLambda(lambda x: self._calc_answer(x["question"], x["calc"], rag))
            self._chain = route | RunnableBranch((lambda x: x["calc"] is not None, calc), rag)
        return self._chain

    def _compose(self, question: str, hits: list[Hit], programs: list[str]) -> Answer:
        answer = self.composer.compose(question, hits, programs)
        cited = [(c.source_file, c.slide) for c in answer.citations if not c.older]
        first = [h.slide for h in hits if (h.slide.source_file, h.slide.number) in cited]
        answer.retrieved = first + [h.slide for h in hits if h.slide not in first]  # the composer's picks first
        return answer

    @property
    def generator(self) -> Generator | None:
        """The configured chat model (``settings.generator``), loaded on first use; None when none is set up."""
        if self._generator is None and self.settings.generator:
            from .generate.models import load_chat_model

            with self._lock:
                if self._generator is None:
                    self._generator = self._generator_for(load_chat_model(self.settings))
        return self._generator

    def _generator_for(self, chat: ChatModel) -> Generator:
        from .generate.generator import Generator

        return Generator(chat, self.corpus, self.rulebook, self.settings, self.composer.system_facts())

    def with_chat_model(self, chat: ChatModel) -> Assistant:
        """This assistant (same corpus, index and rules) answering through ``chat``; tests and tools inject one."""
        other = object.__new__(Assistant)  # the dataclass fields only (not attributes set on this instance)
        other.__dict__.update({f.name: getattr(self, f.name) for f in fields(self)})
        other._lock = threading.Lock()
        other._chain = None  # its own chain, bound to it
        other._generator = self._generator_for(chat)
        return other

    def search(self, question: str, k: int | None = None, mode: str | None = None) -> list[Hit]:
        return self.retriever.search(clean_question(question, self.settings.max_question_chars), k=k, mode=mode)

    def calculate(self, request: CalcRequest) -> CalcResult:
        """The deterministic calculator over the rule data (``assistant calc``, the app's calculator tab)."""
        return calculate(request, self.rulebook)

    def _calculation(self, question: str, context: ParsedQuestion | None) -> ParsedQuestion | None:
        """The calculation a question asks for, on its own or as a follow-up to the previous turn's calculation."""
        hint = context.program if context is not None else None
        parsed = self.parser.parse(question, program_hint=hint)
        if self.parser.is_calculation(parsed):
            return parsed
        named = self.corpus.registry.find(nfkc(question))
        if named and context is not None and context.program not in named:
            return None  # a question about another program (お助け隊 after an IT導入 calculation) starts afresh
        facts = (parsed.frame, parsed.size, parsed.employees, parsed.expense_yen)
        if named and all(x is None for x in facts) and not parsed.conditions:
            return None  # names the program but states no fact (its newest name is an edition alias): a new question
        if context is not None and parsed.program in (None, context.program):
            choice = self.parser.pick_choice(question, context.pending.get("frame", []))
            if choice is not None and parsed.frame is None:
                parsed.frame = choice
            if parsed.has_facts():
                return parsed.merged_over(context)
        return None

    def _calc_answer(self, question: str, parsed: ParsedQuestion, rag) -> Answer:
        req = parsed.request()
        try:
            result = calculate(req, self.rulebook)
        except MissingInputs as missing:
            rules = self.rulebook.get(req.program)
            answer = follow_up_answer(question, req, missing, rules.name if rules else "")
            parsed.pending = {m.key: list(m.choices) for m in missing.missing if m.choices}
        except InputError as exc:  # unknown frame, no rule for the stated conditions: say so, then what the decks say
            answer = rag.invoke({"question": question})
            answer.answer = f"※ 補助額を計算できませんでした: {exc}\n" + answer.answer
            answer.notes.append("calc_error")
            answer.tool_texts.append(str(exc))
        else:
            answer = calc_answer(question, req, result, self.corpus, parsed.notes)
        answer.context = parsed
        return answer

    def ask(self, question: object, qid: str | None = None, context: ParsedQuestion | None = None) -> Answer:
        """Answer one question; ``context`` is the previous turn's ``answer.context`` (conversation memory)."""
        *_, done = self.ask_stream(question, qid, context)
        return done.answer

    def ask_stream(self, question: object, qid: str | None = None,
                   context: ParsedQuestion | None = None) -> Iterator[Event]:
        """``ask`` as events: with a chat model configured, its checked lines as they come (``text``), a ``status``
        while the calculator tool runs, then ``done`` with the answer (always the last event)."""
        q = clean_question(question, self.settings.max_question_chars)
        asked, ignored = strip_directives(q)  # orders to the assistant are not searched for or parsed
        answer: Answer = self.chain.invoke({"question": asked or q, "context": context})
        if self.generator is not None and _generates(answer):
            answer.question = q
            for event in self.generator.stream(asked or q, answer.retrieved, answer):
                if event.kind == DONE:
                    answer = event.answer
                else:
                    yield event
        yield Event(DONE, answer=self._finish(answer, q, qid, ignored))

    def _finish(self, answer: Answer, q: str, qid: str | None, ignored: bool) -> Answer:
        answer.id = qid
        answer.question = q
        if ignored:
            answer.notes.append("instructions_ignored")
        answer = self.check_figures(answer, q)
        self.question_log.record(
            "ask", q, id=qid, abstained=answer.abstained, notes=answer.notes,
            citations=[f"{c.source_file}#{c.slide}" for c in answer.citations],
        )
        return answer

    def check_figures(self, answer: Answer, question: str) -> Answer:
        """The figure check on every answer: each figure must be on a cited slide or in a tool's output; a
        calculation may also echo the amounts and counts the user gave (this turn or earlier ones)."""
        tools = [tool_text(call) for call in answer.tool_calls] + list(answer.tool_texts)
        if answer.follow_up:
            tools.append(tool_text(answer.follow_up))
        user = [question]
        facts = answer.context
        if isinstance(facts, ParsedQuestion):
            user += [f"{facts.expense_yen}円" if facts.expense_yen is not None else "",
                     f"{facts.employees}人" if facts.employees is not None else ""]
        evidence = Evidence(slide_evidence(answer.citations), tuple(tools), tuple(user),
                            (self.composer.system_facts(),))
        return guard_answer(answer, evidence, USER_KINDS if facts is not None else frozenset())


def _generates(answer: Answer) -> bool:
    """A chat model rewrites retrieval answers only: never an abstention (the composer's scope checks stand), a
    calculator answer (its amounts are the calculator's) or a question asked back."""
    return not answer.abstained and answer.context is None and answer.follow_up is None and bool(answer.retrieved)
