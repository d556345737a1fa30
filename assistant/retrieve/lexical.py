"""Lexical statistics shared by reranking and answer extraction: term weights (IDF over slides), the key terms
of a question, its intent (amount, date, contact) and the score of one sentence or table row for a question."""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from dataclasses import dataclass

from ..index.bm25 import terms
from ..ingest.corpus import Corpus
from ..ingest.segment import Slide
from ..text import display_line, sentences, tokenize

# Words that say what kind of answer is wanted, not what it is about.
_QUESTION_WORDS = {
    "教え", "教える", "ください", "下さい", "何", "なに", "いくら", "幾ら", "どこ", "いつ", "どう", "どの", "どれ",
    "ある", "する", "なる", "いる", "できる", "出来る", "知り", "知る", "たい", "もの", "こと", "ため", "場合",
    "方法", "とき", "時", "よう", "どんな", "どういう", "誰", "だれ", "ですか", "ます", "です", "について",
    "お願い", "願い", "聞き", "聞く", "使う", "使える", "利用", "ぐらい", "くらい", "程度", "まで", "中", "的",
    "最新", "資料", "内容", "具体", "の", "か", "?", "会社", "当社", "うち", "弊社", "私", "者",
}
_AMOUNT = re.compile(r"いくら|上限|金額|補助額|補助率|率|万円|円|予算|費用|割合|何割")
_DATE = re.compile(r"いつ|締切|締め切り|期限|期間|日程|スケジュール|公募|受付|開始|開催")
_CONTACT = re.compile(r"問い?合わ?せ|電話|連絡|窓口|URL|サイト|ホームページ|HP|相談先|番号|メール")
_HAS_AMOUNT = re.compile(r"\d[\d,.]*\s*(万|億)?円|\d+/\d+|\d+%|定額")
_HAS_DATE = re.compile(r"\d+\s*[月日年]|\d+/\d+\s*\(|令和\d+年")
_HAS_CONTACT = re.compile(r"https?://|\d{2,4}[-ー–]\d{2,4}[-ー–]\d{3,4}|電話|お問(い)?合(わ)?せ")
_NUMBER = re.compile(r"\d[\d,.]*(?:万|億)?円?|\d+/\d+")
MAX_UNIT_CHARS = 320


class TermStats:
    """IDF over slides (title, topic names and text) and the scoring built on it."""

    def __init__(self, corpus: Corpus) -> None:
        df: Counter[str] = Counter()
        self.slide_terms: dict[str, set[str]] = {}
        for s in corpus.slides:
            header = " ".join([s.title, *(corpus.registry.get(p).name for p in s.topic)])
            t = set(terms(f"{header}\n{s.text}"))
            self.slide_terms[s.slide_id] = t
            df.update(t)
        n = max(1, len(corpus.slides))
        self._idf = {t: math.log(1 + n / c) for t, c in df.items()}
        self._unknown_idf = math.log(1 + n)
        self._units: dict[str, list[Unit]] = {}

    def key_terms(self, question: str) -> list[str]:
        """Content terms of the question: words other than question words, plus bigrams of adjacent ones."""
        words = [t for t in tokenize(question) if t not in _QUESTION_WORDS and not t.isdigit()]
        return list(dict.fromkeys(words + [a + b for a, b in itertools.pairwise(words)]))

    def known(self, term: str) -> bool:
        """Whether the term occurs on any slide."""
        return term in self._idf

    def weight(self, term: str) -> float:
        return self._idf.get(term, self._unknown_idf)

    def coverage(self, key: list[str], slide: Slide) -> float:
        """Share of the question's word weight (unigrams) found on the slide."""
        unigrams = unigrams_of(key)
        if not unigrams:
            return 0.0
        have = self.slide_terms[slide.slide_id]
        total = sum(self.weight(t) for t in unigrams)
        return sum(self.weight(t) for t in unigrams if t in have) / total

    def units(self, slide: Slide) -> list[Unit]:
        cached = self._units.get(slide.slide_id)
        if cached is None:
            cached = self._units[slide.slide_id] = units_of(slide)
        return cached

    def score_unit(self, unit: Unit, key: list[str], intent: set[str]) -> float:
        score = sum(self.weight(t) for t in key if t in unit.terms)
        if score <= 0:
            return 0.0
        if "amount" in intent:
            score *= 1.6 if _HAS_AMOUNT.search(unit.text) else 0.6
        if "date" in intent and _HAS_DATE.search(unit.text):
            score *= 1.6
        if "contact" in intent and _HAS_CONTACT.search(unit.text):
            score *= 1.8
        return score / (1.0 + len(unit.text) / 400)

    def best_units(self, slide: Slide, key: list[str], intent: set[str]) -> list[tuple[float, Unit]]:
        scored = [(self.score_unit(u, key, intent), u) for u in self.units(slide)]
        scored = [x for x in scored if x[0] > 0]
        scored.sort(key=lambda x: (-x[0], x[1].position))
        return scored


@dataclass(frozen=True)
class Unit:
    slide: Slide
    text: str
    position: int
    terms: frozenset[str]
    header: str | None = None  # for a table row: the table's first row, shown with it


def units_of(slide: Slide) -> list[Unit]:
    """Sentences and table rows of a slide, as displayed."""
    out: list[Unit] = []
    header: str | None = None
    for line in slide.text.split("\n"):
        shown = display_line(line)
        is_row = "\t" in line or line.lstrip().startswith("|")
        if not is_row:
            header = None
        if len(shown) < 2 or set(shown) <= set("-|: "):
            continue
        pieces = sentences(shown) if len(shown) > MAX_UNIT_CHARS else [shown]
        for piece in pieces:
            text = piece[:MAX_UNIT_CHARS]
            row_header = header if is_row and header != text else None
            out.append(Unit(slide, text, len(out), frozenset(terms(text)), row_header))
        if is_row and header is None:
            header = shown[:MAX_UNIT_CHARS]
    return out


def unigrams_of(key: list[str]) -> list[str]:
    """The unigrams among key terms (a bigram is two adjacent key words joined)."""
    uni = set(key)
    return [t for t in key if not any(t != u and t.startswith(u) and t[len(u):] in uni for u in uni)]


def intent_of(question: str) -> set[str]:
    out = set()
    if _AMOUNT.search(question):
        out.add("amount")
    if _DATE.search(question):
        out.add("date")
    if _CONTACT.search(question):
        out.add("contact")
    return out
