"""Paraphrase synonyms (corpus/synonyms.yaml): everyday words → the words the decks use, for query expansion."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import DataError
from ..text import nfkc

SYNONYMS_NAME = "synonyms.yaml"


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    words: list[str] = Field(min_length=1)
    means: list[str] = Field(min_length=1)
    source: str


@dataclass(frozen=True)
class Synonyms:
    entries: tuple[Entry, ...] = ()

    def expansion(self, question: str) -> str:
        """The deck words for the everyday words in ``question`` (パソコン → PC 端末), not already in it. A word
        "A+B" is there when both parts are (専門家+来てもら: 専門家にお店まで来てもらう)."""
        q = nfkc(question).lower()
        out: list[str] = []
        for e in self.entries:
            if any(all(part in q for part in nfkc(w).lower().split("+")) for w in e.words):
                out += [m for m in e.means if nfkc(m).lower() not in q and m not in out]
        return " ".join(out)

    def means_of(self, word: str) -> list[str]:
        """The deck words for one word of a question, also when the word is part of an entry (墨付き ⊂ お墨付き)."""
        w = nfkc(word).lower()
        if len(w) < 2:
            return []
        return [m for e in self.entries if any(w in nfkc(x).lower() for x in e.words) for m in e.means]


def load_synonyms(corpus_dir: Path, corpus_text: str) -> Synonyms:
    """Load and check the file: unknown keys, or a deck word that no deck contains, are errors naming the file."""
    path = corpus_dir / SYNONYMS_NAME
    if not path.exists():
        return Synonyms()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        entries = tuple(Entry.model_validate(e) for e in raw.get("synonyms", []))
    except (yaml.YAMLError, ValidationError, AttributeError) as exc:
        raise DataError(f"同義語ファイル {path} の形式が正しくありません: {exc}") from exc
    text = nfkc(corpus_text)
    for e in entries:
        for m in e.means:
            if nfkc(m) not in text:
                raise DataError(f"{path}: 「{m}」（{e.words[0]} の言い換え先）はどの資料にも出てきません。")
    return Synonyms(entries)
