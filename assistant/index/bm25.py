"""BM25 over fugashi tokens (bm25s). Unigrams plus adjacent-word bigrams, so 「補助金」 split by UniDic into
補助/金 still matches as a unit while a word from the middle of a sentence matches on its own."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import bm25s

from ..text import tokenize


def terms(text: str) -> list[str]:
    words = tokenize(text)
    return words + [a + b for a, b in itertools.pairwise(words)]


@dataclass
class BM25Index:
    retriever: bm25s.BM25
    size: int

    @classmethod
    def build(cls, texts: list[str]) -> BM25Index:
        retriever = bm25s.BM25()
        retriever.index([terms(t) or ["∅"] for t in texts], show_progress=False)
        return cls(retriever=retriever, size=len(texts))

    def save(self, path: Path) -> None:
        self.retriever.save(str(path), show_progress=False)

    @classmethod
    def load(cls, path: Path) -> BM25Index:
        retriever = bm25s.BM25.load(str(path))
        size = int(retriever.scores["num_docs"])
        return cls(retriever=retriever, size=size)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """(document row, score) best first; only documents sharing a term with the query."""
        vocab = self.retriever.vocab_dict
        q = [t for t in terms(query) if t in vocab]
        if not q:
            return []
        k = min(k, self.size)
        docs, scores = self.retriever.retrieve([q], k=k, show_progress=False, n_threads=1)
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]
