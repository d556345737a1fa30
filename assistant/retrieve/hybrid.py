"""Rank slides for a question: BM25 over fugashi terms, dense over embeddings, fused by reciprocal rank.

The question is expanded with the names of the programs it mentions (IT導入補助金 ↔ デジタル化・AI導入補助金),
slides about those programs get a bonus, and among comparable slides the newer deck wins unless the
question names an older edition.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from ..index.store import Index
from ..ingest.corpus import Corpus
from ..ingest.segment import Slide
from ..settings import Settings
from ..text import nfkc, proper_nouns
from .edition import asked_years
from .lexical import TermStats, intent_of

CANDIDATES = 60
RERANK = 30           # fused slides re-scored by their best sentence or table row
RERANK_WEIGHT = 1.5   # in units of a first-rank RRF contribution
COVERAGE_WEIGHT = 3.0  # share of the question's term weight found anywhere on the slide, same units
DENSE_WEIGHT = 0.5    # the static word-vector model is weaker than BM25 on this corpus (see README)
PROGRAM_BONUS = 0.6   # in units of a first-rank RRF contribution
RECENCY_BONUS = 0.6   # per step of deck recency (newest deck gets the most)
NAME_BONUS = 0.6      # a slide naming the question's proper nouns (中国経済産業局, 香川), in RRF units


@dataclass(frozen=True)
class Hit:
    slide: Slide
    score: float
    rows: tuple[int, ...] = field(default=())  # matching passages, best first
    bm25_rank: int | None = None
    dense_rank: int | None = None


@dataclass
class Retriever:
    index: Index
    corpus: Corpus
    settings: Settings

    stats: TermStats | None = None

    def __post_init__(self) -> None:
        self.stats = self.stats or TermStats(self.corpus)
        newest = self.corpus.manifest.newest_first()
        n = max(1, len(newest) - 1)
        self._recency = {d.file: (len(newest) - 1 - i) / n for i, d in enumerate(newest)}
        self._year = {d.file: d.date.year for d in newest}
        self._slides = {(s.source_file, s.number): s for s in self.corpus.slides}

    def programs_in(self, question: str) -> list[str]:
        return self.corpus.registry.find(question)

    def search(self, question: str, k: int | None = None, mode: str | None = None) -> list[Hit]:
        k = k or self.settings.top_k
        mode = mode or self.settings.retriever
        q = nfkc(question)
        programs = self.programs_in(q)
        expanded = f"{q} {self.corpus.registry.expansion(programs, q)} {self.corpus.synonyms.expansion(q)}".strip()
        lists: dict[str, list[int]] = {}
        if mode in ("hybrid", "bm25"):
            lists["bm25"] = [row for row, _ in self.index.bm25.search(expanded, CANDIDATES)]
        if mode in ("hybrid", "dense"):
            lists["dense"] = [row for row, _ in self.index.dense_search(expanded, CANDIDATES)]
        hits = self._fuse(lists, programs, asked_years(q), proper_nouns(q))
        return self._rerank(q, hits)[:k]

    def _rerank(self, q: str, hits: list[Hit]) -> list[Hit]:
        """Re-score the leading slides by their best sentence or table row for this question and its intent."""
        head, tail = hits[:RERANK], hits[RERANK:]
        key = self.stats.key_terms(q)
        if not head or not key:
            return hits
        intent = intent_of(q)
        best = [max((s for s, _ in self.stats.best_units(h.slide, key, intent)), default=0.0) for h in head]
        top = max(best) or 1.0
        unit = 1.0 / (self.settings.rrf_k + 1)
        head = [Hit(h.slide, h.score + unit * (RERANK_WEIGHT * b / top + COVERAGE_WEIGHT * self.stats.coverage(
                    key, h.slide)), h.rows, h.bm25_rank, h.dense_rank) for h, b in zip(head, best, strict=True)]
        head.sort(key=lambda h: (-h.score, h.slide.source_file, h.slide.number))
        return head + tail

    def _fuse(self, lists: dict[str, list[int]], programs: list[str], years: list[int],
              names: list[str]) -> list[Hit]:
        rrf_k = self.settings.rrf_k
        unit = 1.0 / (rrf_k + 1)
        score: dict[tuple[str, int], float] = defaultdict(float)
        rows: dict[tuple[str, int], list[int]] = defaultdict(list)
        ranks: dict[str, dict[tuple[str, int], int]] = {name: {} for name in lists}
        for name, ranked in lists.items():
            slide_rank = 0
            for row in ranked:
                p = self.index.passages[row]
                key = (p.source_file, p.slide)
                rows[key].append(row)
                if key in ranks[name]:
                    continue
                slide_rank += 1
                ranks[name][key] = slide_rank
                score[key] += (DENSE_WEIGHT if name == "dense" else 1.0) / (rrf_k + slide_rank)
        hits = []
        for key, base in score.items():
            slide = self._slides[key]
            bonus = 0.0
            if programs:
                if programs[0] in slide.topic:
                    bonus += PROGRAM_BONUS
                elif set(programs) & set(slide.topic):
                    bonus += PROGRAM_BONUS / 2
                elif set(programs) & set(slide.programs) and len(slide.programs) <= 2:
                    bonus += PROGRAM_BONUS / 3
            if names:
                bonus += NAME_BONUS * sum(n in slide.text for n in names) / len(names)
            if years:
                bonus += RECENCY_BONUS * (1.0 if self._year[slide.source_file] in years else 0.0)
            else:
                bonus += RECENCY_BONUS * self._recency[slide.source_file]
            hits.append(Hit(slide, base + bonus * unit, tuple(dict.fromkeys(rows[key])),
                            ranks.get("bm25", {}).get(key), ranks.get("dense", {}).get(key)))
        hits.sort(key=lambda h: (-h.score, h.slide.source_file, h.slide.number))
        return hits
