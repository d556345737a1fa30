"""Lexical statistics shared by reranking and answer extraction: term weights (IDF over slides), the key terms
of a question, its intent (amount, date, contact) and the score of one sentence or table row for a question."""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from dataclasses import dataclass

from ..directives import is_directive_line
from ..index.bm25 import terms
from ..index.passages import leads
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
# 何者, 何件 … ask for a count; a lone kana is a verb stem or ending (い, し, さ).
_FILLER = re.compile(r"^何.|^[ぁ-ん]$")
_PUNCTUATION = re.compile(r"^[^\w]+$")  # the comma of 1,500 is no word
_CLAUSE = re.compile(r"[、。!?！？「」『』()（）\n]+")
# What kind of answer the question asks for (its intent), and how a line that gives one looks.
_INTENTS: dict[str, re.Pattern[str]] = {
    "amount": re.compile(r"いくら|上限|下限|金額|補助額|率|万円|円|予算|要求額|費用|料金|受講料|会費|割合|何割|何%"),
    "duration": re.compile(r"どれくらい|どのくらい|どれぐらい|期間|何か月|何ヶ月"),
    "date": re.compile(r"いつ|締切|締め切り|期限|期間|日程|スケジュール|日時|開始|開催|開設"),
    "phone": re.compile(r"電話|番号|コールセンター"),
    "email": re.compile(r"メール|アドレス"),
    "url": re.compile(r"URL|サイト|ホームページ|HP|ウェブ|リンク"),
    "contact": re.compile(r"問い?合わ?せ|連絡|窓口|相談先|担当"),
    "org": re.compile(r"どこが|どこの|誰が|運営|実施主体|担当"),
}
_HAS: dict[str, re.Pattern[str]] = {
    "amount": re.compile(r"\d[\d,.]*\s*(万|億|兆)?円|\d[\d,.]*\s*(万|億)(?!人|者|件)|\d+/\d+|\d+%|定額|無料|不要"),
    "duration": re.compile(r"\d+\s*(ヶ月|か月|カ月|日間|年間|週間|時間|日|年)|最短|最長"),
    "date": re.compile(r"\d+\s*[月日年]|\d+/\d+\s*\(|令和\d+年|\d+年度"),
    "phone": re.compile(r"\d{2,4}\s*[-ー–−]\s*\d{2,4}\s*[-ー–−]\s*\d{3,4}"),
    "email": re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"),
    "url": re.compile(r"https?://"),
    "org": re.compile(r"省|局|機構|協会|協議会|センター|事務局|法人|課|機関"),
    "contact": re.compile(r"https?://|@|\d{2,4}\s*[-ー–−]\s*\d{2,4}\s*[-ー–−]\s*\d{3,4}|電話|お問(い)?合(わ)?せ"),
}
# 「何人」「何件」「何時間」…: the counter a figure in the answer must carry.
_COUNTER = re.compile(r"何\s*(時間|段階|ヶ月|か月|カ月|講座|[年件者回名人次日社個点])|([件人者社])数|いくつ()")
_NUMBER = re.compile(r"\d[\d,.]*(?:万|億)?円?|\d+/\d+")
ANSWER_BOOST = 1.8     # a line that gives the kind of answer asked for
ANSWER_MISSING = 0.6   # a line that does not
CONTEXT_SHARE = 0.7    # weight of a key term found only in the line's label or table header
TITLE_SHARE = 0.3      # weight of a key term found only in the slide title
ECHO_PENALTY = 0.5     # a line that only repeats the question's words (a heading) says nothing new
LABEL_CHARS = 40       # a line this short, not a sentence, labels the lines that follow it
MAX_UNIT_CHARS = 320


class TermStats:
    """IDF over slides (title, topic names and text) and the scoring built on it."""

    def __init__(self, corpus: Corpus) -> None:
        df: Counter[str] = Counter()
        self.synonyms = corpus.synonyms
        self.slide_terms: dict[str, set[str]] = {}
        self.title_terms: dict[str, frozenset[str]] = {}
        lead = leads(corpus)
        for s in corpus.slides:
            header = " ".join([lead.get(s.slide_id, ""), s.title, *(corpus.registry.get(p).name for p in s.topic)])
            t = set(terms(f"{header}\n{s.text}"))
            self.slide_terms[s.slide_id] = t
            self.title_terms[s.slide_id] = frozenset(terms(header))
            df.update(t)
        n = max(1, len(corpus.slides))
        self._idf = {t: math.log(1 + n / c) for t, c in df.items()}
        self._unknown_idf = math.log(1 + n)
        self._units: dict[str, list[Unit]] = {}

    def key_terms(self, question: str) -> list[str]:
        """Content terms of the question and of its paraphrase synonyms: words other than question words, plus
        bigrams of adjacent ones."""
        question = f"{question} {self.synonyms.expansion(question)}".strip()
        words: list[str] = []
        pairs: list[str] = []
        for clause in _CLAUSE.split(question):  # no bigram across 、 or 。 (投資をしたときに、補助金 is no 投資補助)
            tokens = [
                t for t in tokenize(clause) if t not in _QUESTION_WORDS and not _FILLER.match(t)
                and not _PUNCTUATION.match(t)
            ]
            words += tokens
            pairs += [a + b for a, b in itertools.pairwise(tokens) if not b.isdigit()]  # 14回, 23次 stay whole
        return list(dict.fromkeys([t for t in words if not t.isdigit()] + pairs))

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
        """Weighted key terms on the line, plus a share of those only in its label or slide title, times the
        answer-type factor and the echo penalty, normalised by length."""
        direct = context = title = 0.0
        title_terms = self.title_terms.get(unit.slide.slide_id, frozenset())
        for t in key:
            if t in unit.terms:
                direct += self.weight(t)
            elif t in unit.context:
                context += self.weight(t)
            elif t in title_terms:
                title += self.weight(t)
        if direct + context <= 0:
            return 0.0
        score = direct + CONTEXT_SHARE * context + TITLE_SHARE * title
        score *= answer_factor(unit, intent)
        if _echoes(unit, set(key) | title_terms):
            score *= ECHO_PENALTY
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
    position: float
    terms: frozenset[str]
    header: str | None = None  # the table's first row (for a row) or the label line above, shown with it
    context: frozenset[str] = frozenset()  # terms of the two label lines, table header and previous line
    words: tuple[str, ...] = ()  # unigrams of the text


def _is_label(raw: str, shown: str) -> bool:
    """A heading, or a short line that is neither a sentence nor a value (申請受付開始:令和8年2月2日): it names
    what the following lines give."""
    if raw.lstrip().startswith("#"):
        return True
    if len(shown) > LABEL_CHARS or shown.endswith("。") or ":" in shown:
        return False
    return not any(_HAS[name].search(shown) for name in ("date", "phone", "url", "email"))


def units_of(slide: Slide) -> list[Unit]:
    """Sentences and table rows of a slide, as displayed, each with the terms of the line that labels it."""
    out: list[Unit] = []
    header: str | None = None
    label: str | None = None
    outer: str | None = None  # the label before ``label`` (四国経済産業局 above 製造産業・情報政策課)
    previous = ""
    for line in slide.text.split("\n"):
        shown = display_line(line)
        is_row = "\t" in line or line.lstrip().startswith("|")
        if not is_row:
            header = None
        if len(shown) < 2 or set(shown) <= set("-|: "):
            continue
        if is_directive_line(shown):
            continue  # orders to an AI reader are data: searchable, never quoted as an answer
        pieces = sentences(shown) if len(shown) > MAX_UNIT_CHARS else [shown]
        for piece in pieces:
            text = piece[:MAX_UNIT_CHARS]
            row_header = header if is_row and header != text else None
            shown_with = row_header or (label if label != text and not is_row else None)
            context = frozenset(terms(" ".join(x for x in (row_header, outer, label, previous) if x)))
            out.append(Unit(slide, text, len(out), frozenset(terms(text)), shown_with, context,
                            tuple(tokenize(text))))
            previous = text
        if is_row and header is None:
            header = shown[:MAX_UNIT_CHARS]
        if not is_row and _is_label(line, shown):
            outer, label = label, shown
    return out


def _echoes(unit: Unit, known: set[str]) -> bool:
    """Whether the line says little beyond the question's words and the slide title (a heading)."""
    if not unit.words:
        return True
    new = [w for w in unit.words if w not in known and not w.isdigit()]
    return len(new) < 0.25 * len(unit.words)


def answer_factor(unit: Unit, intent: set[str]) -> float:
    """Geometric mean over the asked answer types of ANSWER_BOOST (the line or its label gives one) or
    ANSWER_MISSING; 1.0 when the question asks for no particular type."""
    wanted = answer_patterns(intent)
    if not wanted:
        return 1.0
    text = f"{unit.header or ''}\n{unit.text}"
    hits = sum(1 for p in wanted if p.search(text))
    return (ANSWER_BOOST ** hits * ANSWER_MISSING ** (len(wanted) - hits)) ** (1 / len(wanted))


def gives_answer(unit: Unit, intent: set[str]) -> bool:
    """Whether the line gives every kind of answer asked for (or none is asked)."""
    return answer_factor(unit, intent) >= ANSWER_BOOST - 1e-9 or not answer_patterns(intent)


def answer_patterns(intent: set[str]) -> list[re.Pattern[str]]:
    """Patterns a line must match to give the kind of answer asked for."""
    out = [_HAS[name] for name in sorted(intent) if name in _HAS]
    out += [re.compile(rf"\d[\d,.]*\s*[万千億]?\s*{re.escape(name[6:])}") for name in intent
            if name.startswith("count:")]
    return out


def unigrams_of(key: list[str]) -> list[str]:
    """The unigrams among key terms (a bigram is two adjacent key words joined)."""
    uni = set(key)
    return [t for t in key if not any(t != u and t.startswith(u) and t[len(u):] in uni for u in uni)]


def intent_of(question: str) -> set[str]:
    """Kinds of answer the question asks for: amount, date, phone, email, url, contact, count:<counter>."""
    out = {name for name, pattern in _INTENTS.items() if pattern.search(question)}
    out |= {f"count:{m.group(1) or m.group(2) or ''}" for m in _COUNTER.finditer(question)}
    return out
