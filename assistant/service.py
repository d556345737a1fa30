"""The library entry point every surface calls: load the corpus and index once, answer questions."""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from .answer.compose import Composer
from .answer.types import Answer
from .errors import InputError
from .index.store import Index, Progress, require_index
from .ingest.corpus import Corpus, load_corpus
from .retrieve.hybrid import Hit, Retriever
from .retrieve.lexical import TermStats
from .settings import Settings
from .text import nfkc


def clean_question(question: object, max_chars: int) -> str:
    """NFKC, control characters removed, whitespace collapsed; rejects empty and over-long questions."""
    if not isinstance(question, str):
        raise InputError("質問は文字列で入力してください。")
    q = "".join(ch for ch in nfkc(question) if unicodedata.category(ch)[0] != "C" or ch in "\n\t")
    q = " ".join(q.split())
    if not q:
        raise InputError("質問が空です。知りたいことを入力してください（例: ものづくり補助金の補助上限は？）。")
    if len(q) > max_chars:
        raise InputError(f"質問が長すぎます（{len(q)}文字）。{max_chars}文字以内にまとめてください。")
    return q


@dataclass
class Assistant:
    settings: Settings
    corpus: Corpus
    index: Index
    retriever: Retriever = field(init=False)
    composer: Composer = field(init=False)
    _chain: Any = field(init=False, default=None)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        stats = TermStats(self.corpus)
        self.retriever = Retriever(self.index, self.corpus, self.settings, stats)
        self.composer = Composer(self.corpus, self.settings, stats)

    @classmethod
    def load(cls, settings: Settings | None = None, progress: Progress | None = None) -> Assistant:
        settings = settings or Settings.from_env()
        corpus = load_corpus(settings.corpus_dir)
        index = require_index(settings, corpus, progress=progress)
        index.embedder.warm_up()
        return cls(settings, corpus, index)

    @property
    def chain(self):
        """The LangChain runnable: question → {hits, programs} → Answer."""
        if self._chain is None:
            from langchain_core.runnables import RunnableLambda, RunnableParallel, RunnablePassthrough

            retrieve = RunnableParallel(
                question=RunnablePassthrough(),
                hits=RunnableLambda(lambda q: self.retriever.search(q)),
                programs=RunnableLambda(self.retriever.programs_in),
            )
            compose = RunnableLambda(lambda x: self.composer.compose(x["question"], x["hits"], x["programs"]))
            self._chain = retrieve | compose
        return self._chain

    def search(self, question: str, k: int | None = None, mode: str | None = None) -> list[Hit]:
        return self.retriever.search(clean_question(question, self.settings.max_question_chars), k=k, mode=mode)

    def ask(self, question: object, qid: str | None = None) -> Answer:
        q = clean_question(question, self.settings.max_question_chars)
        answer: Answer = self.chain.invoke(q)
        answer.id = qid
        return answer
