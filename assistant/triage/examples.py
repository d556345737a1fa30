"""Past inquiries with the programs a person chose for them: the labelled triage sets in ``eval/`` or a help desk's
own file in the same format (``id``, ``text``, ``programs`` best first). An inquiry worded like earlier ones probably
needs what they needed, in the callers' words rather than the slides'. BM25 (bm25s) over the same key terms the other
signals use; an example never counts for the inquiry it is (the same text), and evaluation holds out a whole set."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import bm25s
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import DataError
from ..text import nfkc
from ..yamlio import first_problem, load_yaml

EXAMPLE_FILES = "triage_*.yaml"  # in a folder: every labelled triage set
NEIGHBOURS = 5  # the most similar examples that vote


@dataclass(frozen=True)
class Example:
    id: str
    text: str  # NFKC, whitespace collapsed, as triage reads an inquiry
    programs: tuple[str, ...]  # best first; empty for an inquiry no program fits
    source: str  # the file's name


@dataclass(frozen=True)
class Vote:
    program: str  # "" for no program: the similar inquiries were out of scope
    share: float  # of the best-voted program's vote, 0–1
    examples: tuple[str, ...]  # the ids of the similar inquiries that voted for it, most similar first


class _Entry(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)  # a labelled set also has category, contacts, note …
    id: str = Field(min_length=1)
    text: str = Field(min_length=1)
    programs: list[str]


def inquiry_text(text: str) -> str:
    """An inquiry as triage reads it: NFKC, whitespace collapsed."""
    return " ".join(nfkc(text).split())


def example_files(path: Path) -> list[Path]:
    """The files of a folder of labelled sets (``triage_*.yaml``), or the one file given."""
    if path.is_dir():
        return sorted(path.glob(EXAMPLE_FILES))
    if path.is_file():
        return [path]
    raise DataError(f"過去の問い合わせ事例 {path} が見つかりません（ASSISTANT_TRIAGE_EXAMPLES を確認してください）。")


def load_examples(path: Path, known: set[str]) -> list[Example]:
    """Every example under ``path``, strictly: an entry without id, text or programs, or a program not in
    ``programs.yaml`` (``known``), is a DataError naming the file and the entry."""
    examples: list[Example] = []
    for file in example_files(path):
        rows = load_yaml(file) or []
        if not isinstance(rows, list):
            raise DataError(f"{file.name}: 問い合わせのリストではありません。")
        for n, row in enumerate(rows, 1):
            where = row.get("id", f"{n}件目") if isinstance(row, dict) else f"{n}件目"
            try:
                entry = _Entry.model_validate(row)
            except ValidationError as exc:
                raise DataError(f"{file.name}: {where} の {first_problem(exc)}") from exc
            unknown = [p for p in entry.programs if p not in known]
            if unknown:
                raise DataError(f"{file.name}: {where} の制度 {', '.join(unknown)} は programs.yaml にありません。")
            examples.append(Example(entry.id, inquiry_text(entry.text), tuple(entry.programs), file.name))
    return examples


class ExampleMemory:
    """The examples most like an inquiry, and the programs they vote for."""

    def __init__(self, examples: list[Example], key: Callable[[str], list[str]],
                 _terms: list[list[str]] | None = None) -> None:
        self.examples = examples
        self._key = key
        self._terms = _terms if _terms is not None else [key(e.text) for e in examples]
        self._texts = Counter(e.text for e in examples)
        self._index = bm25s.BM25()
        if examples:
            self._index.index([t or ["∅"] for t in self._terms], show_progress=False)
        self._held_out: dict[str, ExampleMemory] = {}

    def __len__(self) -> int:
        return len(self.examples)

    def without(self, source: str) -> ExampleMemory:
        """The memory less one file's examples: a labelled set is scored without itself."""
        if source not in self._held_out:
            kept = [i for i, e in enumerate(self.examples) if e.source != source]
            self._held_out[source] = ExampleMemory(
                [self.examples[i] for i in kept], self._key, [self._terms[i] for i in kept]
            )
        return self._held_out[source]

    def similar(self, text: str, key: list[str] | None = None, k: int = NEIGHBOURS) -> list[tuple[Example, float]]:
        """The ``k`` examples most like ``text`` (its ``key`` terms when the caller has them) with their BM25 scores,
        best first; never ``text`` itself."""
        vocab = self._index.vocab_dict if self.examples else {}
        query = [t for t in dict.fromkeys(self._key(text) if key is None else key) if t in vocab]
        if not query:
            return []
        same = self._texts[text]  # the inquiry itself, when it is one of the examples
        docs, scores = self._index.retrieve(
            [query], k=min(k + same, len(self.examples)), show_progress=False, n_threads=1
        )
        found = [(self.examples[int(d)], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]
        return [(e, s) for e, s in found if e.text != text][:k]

    def votes(self, text: str, key: list[str] | None = None, k: int = NEIGHBOURS) -> list[Vote]:
        """The programs of the similar examples, best first: each example votes its score for its first program,
        half of it for its second, a third for its third; shares are of the best program's vote."""
        total: dict[str, float] = defaultdict(float)
        voters: dict[str, list[str]] = defaultdict(list)
        for example, score in self.similar(text, key, k):
            for rank, pid in enumerate(example.programs or ("",)):  # "": no program fits
                total[pid] += score / (1 + rank)
                voters[pid].append(example.id)
        if not total:
            return []
        best = max(total.values())
        ranked = sorted(total, key=lambda p: -total[p])
        return [Vote(p, total[p] / best, tuple(voters[p])) for p in ranked]
