"""The default composer: extractive and grounded.

It answers with the sentences and table rows of the best slides that share the most weighted terms with the
question, each with its citation; prefers the newest deck; notes an older deck that states different figures;
and abstains when no slide covers the question's key terms well enough.
"""

from __future__ import annotations

from ..errors import AssistantError
from ..ingest.corpus import Corpus
from ..ingest.segment import Slide
from ..retrieve.edition import asked_years
from ..retrieve.hybrid import Hit
from ..retrieve.lexical import _NUMBER, TermStats, Unit, gives_answer, intent_of
from ..settings import Settings
from ..text import display_line, nfkc
from .citations import citation_of
from .scope import ScopeCheck
from .types import Answer, Citation, Quote

MAX_CITATIONS = 3
NEWER_DECK_SHARE = 0.5  # a newer deck's best line scoring this share of the best line's score takes precedence


class Composer:
    """Composes answers from retrieval hits; pure apart from the corpus statistics it holds."""

    def __init__(self, corpus: Corpus, settings: Settings, stats: TermStats | None = None) -> None:
        self.corpus = corpus
        self.settings = settings
        self.stats = stats or TermStats(corpus)
        self._newest = {d.file: i for i, d in enumerate(corpus.manifest.newest_first())}
        self.scope = ScopeCheck(corpus, self.stats)

    def compose(self, question: str, hits: list[Hit], programs: list[str]) -> Answer:
        q = nfkc(question)
        key = self.stats.key_terms(q)
        if not hits or not key:
            return self.abstain(question, programs, "質問の要点となる語が見つかりませんでした。")
        reason = self.scope.reason_to_abstain(q, hits, programs)
        if reason:
            return self.abstain(question, programs, reason)
        intent = intent_of(q)
        best = self._prefer_newest(q, hits, programs, key, intent)
        scored = self.stats.best_units(best.slide, key, intent)
        if not scored:
            return self.abstain(question, programs, "該当する記述が見つかりませんでした。")
        top_score = scored[0][0]
        chosen: list[tuple[float, Unit]] = [x for x in scored[:3] if x[0] >= 0.5 * top_score]
        cited: list[Slide] = [best.slide]
        for hit in hits:
            if hit.slide == best.slide:
                continue
            if len(cited) >= MAX_CITATIONS - 1:
                break
            if self._older(hit.slide, best.slide):
                continue  # older decks are handled below, as differing editions
            cand = self.stats.best_units(hit.slide, key, intent)
            if cand and cand[0][0] >= 0.8 * top_score and cand[0][1].text not in {u.text for _, u in chosen}:
                chosen.append(cand[0])
                cited.append(hit.slide)

        reason = self.scope.off_slide_reason(q, cited)
        if reason:
            return self.abstain(question, programs, reason)
        older = self._older_edition(hits, best.slide, programs, key, intent, chosen)
        return self._render(question, programs, cited, chosen, older)

    def _prefer_newest(self, q: str, hits: list[Hit], programs: list[str], key: list[str],
                       intent: set[str]) -> Hit:
        """The top hit, unless a newer deck's slide on the same program answers nearly as well (no edition asked)."""
        best = hits[0]
        if not programs or asked_years(q):
            return best
        first = self.stats.best_units(best.slide, key, intent)
        top = first[0][0] if first else 0.0
        answers = bool(first) and gives_answer(first[0][1], intent)
        numbered = [t for t in key if any(c.isdigit() for c in t) and t in self.stats.slide_terms[best.slide.slide_id]]
        for hit in hits[1:5]:
            if not self._older(best.slide, hit.slide) or programs[0] not in (*hit.slide.topic, *hit.slide.programs):
                continue
            if any(t not in self.stats.slide_terms[hit.slide.slide_id] for t in numbered):
                continue  # the question names a round (第14回) the newer slide does not mention
            units = self.stats.best_units(hit.slide, key, intent)
            if not units or (answers and not gives_answer(units[0][1], intent)):
                continue  # the newer slide does not give the kind of answer the older one gives
            if units[0][0] >= NEWER_DECK_SHARE * top:
                best = hit
        return best

    def _older(self, a: Slide, b: Slide) -> bool:
        return self._newest[a.source_file] > self._newest[b.source_file]

    def _older_edition(self, hits: list[Hit], best: Slide, programs: list[str], key: list[str],
                       intent: set[str], chosen: list[tuple[float, Unit]]) -> tuple[float, Unit] | None:
        """The best unit of an older deck on the same program whose figures differ from the answer's."""
        if not programs:
            return None
        shown_numbers = {n for _, u in chosen for n in _NUMBER.findall(u.text)}
        for hit in hits[:8]:
            s = hit.slide
            if not self._older(s, best) or programs[0] not in s.topic:
                continue
            cand = self.stats.best_units(s, key, intent)
            if not cand or cand[0][0] < 0.6 * chosen[0][0]:
                continue
            numbers = set(_NUMBER.findall(cand[0][1].text))
            if numbers and not numbers <= shown_numbers:
                return cand[0]
        return None

    def _citation(self, slide: Slide, quotes: list[str], older: bool = False) -> Citation:
        return citation_of(self.corpus, slide, quotes, older)

    def _render(self, question: str, programs: list[str], cited: list[Slide],
                chosen: list[tuple[float, Unit]], older: tuple[float, Unit] | None) -> Answer:
        index = {s.slide_id: i for i, s in enumerate(cited, start=1)}
        shown = {u.text for _, u in chosen}
        headers = []
        for sc, u in chosen:  # a table row is shown under its header row, so its columns can be read
            if u.header and u.header not in shown:
                shown.add(u.header)
                headers.append((sc, Unit(u.slide, u.header, u.position - 0.5, frozenset())))
        ordered = sorted(chosen + headers, key=lambda x: (index[x[1].slide.slide_id], x[1].position))
        quotes = [Quote(u.text, index[u.slide.slide_id], round(sc, 3)) for sc, u in ordered]
        citations = [self._citation(s, [q.text for q in quotes if q.citation == i]) for i, s in enumerate(cited, 1)]
        first = citations[0]
        lines = [f"{first.issuer}（{first.date_label}）の資料によると:"]
        lines += [f"・{q.text} [{q.citation}]" for q in quotes]
        notes: list[str] = []
        if older is not None:
            score, unit = older
            citations.append(self._citation(unit.slide, [unit.text], older=True))
            n = len(citations)
            quotes.append(Quote(unit.text, n, round(score, 3)))
            old = citations[-1]
            lines.append(f"※ より古い資料（{old.issuer}、{old.date_label}）では記載が異なります: {unit.text} [{n}]")
            notes.append("older_deck_differs")
        lines.append("出典: " + " / ".join(
            f"[{i}] {c.source_file} スライド{c.slide}「{c.title}」（{c.issuer}、{c.date_label}）"
            for i, c in enumerate(citations, 1)))
        answer = Answer(question=question, answer="\n".join(lines), abstained=False, citations=citations,
                        quotes=quotes, programs=programs, notes=notes)
        check_grounded(answer)
        return answer

    def system_facts(self) -> str:
        """What answers may state about the collection itself (the abstention message names its size and span)."""
        decks = self.corpus.manifest.decks
        parts = [f"{len(decks)}件", "中小企業119"]
        parts += [f"{d.issuer} {d.date_label} {d.date.isoformat()} {d.file} {d.title}" for d in decks]
        return "\n".join(parts)

    def abstain(self, question: str, programs: list[str], reason: str) -> Answer:
        decks = self.corpus.manifest.newest_first()
        span = f"{decks[-1].date_label}〜{decks[0].date_label}" if decks else ""
        names = "、".join(self.corpus.registry.get(p).name for p in programs)
        about = f"（{names}について）" if names else ""
        text = (
            f"ご質問{about}に答える記述は、収録している資料（{len(decks)}件、{span}）には見当たりませんでした。"
            "推測での回答は控えます。最寄りの経済産業局の相談窓口、よろず支援拠点、または中小企業119 に"
            "ご相談いただくか、"
            "各事業の公募要領・事務局ホームページをご確認ください。"
        )
        return Answer(question=question, answer=text, abstained=True, programs=programs, notes=[reason])


def check_grounded(answer: Answer) -> None:
    """Every quoted line must occur in its cited slide (runs on every answer, not only in tests)."""
    for q in answer.quotes:
        c = answer.citations[q.citation - 1]
        quote = " ".join(q.text.split())
        shown = " ".join(" ".join(display_line(x) for x in c.text.split("\n")).split())
        if quote not in shown and quote not in " ".join(c.text.split()):
            raise AssistantError(f"内部エラー: 引用がスライドに見つかりません（{c.source_file} スライド{c.slide}）。")
