"""Is the question answerable from the decks? Rules, each naming why it abstains.

1. Nothing to go on: no content noun and no program.
2. A proper noun (place, organisation) that occurs in no deck: 北海道経済産業局, 東京都 ….
3. A named measure (…補助金/助成金/控除/税制) that is neither in the registry nor in any deck.
4. A rate or amount compound (採択率, 税率, 助成率 …) that no deck states.
5. A round (第20回, 24次) or a fiscal year later than the newest deck that no slide of the program mentions.
6. Without a program: too few of the question's nouns occur in the corpus, or in the best slides.
7. After choosing the slides to quote: a proper noun of the question that none of them mentions, when no slide
   naming it holds most of the question's other nouns either (a place the decks name only for an unrelated event).
8. Without a program: personal investing, money and household matters (株, 銘柄, 仮想通貨, NISA, 住宅ローン, 年金,
   年末調整, 自家用車 …), which no support measure for businesses covers, even where a deck uses the word in a name of
   its own (DX銘柄 is a program, not a stock tip); an employee's or a family's own matter (社員の健康診断,
   人間ドック, 免許返納); and a tax filing procedure (確定申告, 税務署, e-Tax, インボイス登録の取りやめ), which is the
   tax office's, not a support measure.
9. A vendor's sales pitch addressed to the bureau (貴局ご担当者様 … ご提案いたします): not an SME's question at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..ingest.corpus import Corpus
from ..ingest.segment import Slide
from ..retrieve.edition import asked_years
from ..retrieve.hybrid import Hit
from ..retrieve.lexical import TermStats
from ..text import _tagger, nfkc, nouns, proper_nouns, tokenize

MIN_KNOWN = 0.5      # share of noun weight that must occur somewhere in the corpus
MIN_COVERED = 0.2    # share of noun weight that must occur in the best three slides (no program named)
MIN_WITH_NOUN = 0.5  # share of the other nouns' weight a slide naming the question's proper noun must hold
_MEASURE = re.compile(r"(?:補助金|助成金|給付金|支援金|控除|税制)")
_RATE = re.compile(r"率")
_ROUND = re.compile(r"第?\s*(\d+)\s*(次|回)")
# Rule 8: words of personal investing and money matters, matched as whole words (株 is not 株式会社)
OFF_TOPIC = (
    "株", "株価", "個別株", "株式投資", "銘柄", "仮想通貨", "暗号資産", "ビットコイン", "FX", "投資信託", "投信",
    "NISA", "iDeCo", "資産運用", "外貨預金", "先物取引", "配当", "利回り", "宝くじ", "競馬", "住宅ローン",
    "年金", "年末調整", "生命保険", "医療費控除", "ふるさと納税", "自家用車", "マイカー", "家計",
)
# Rule 8, phrases: a person's own health check or driving licence (企業の健康診断ツール is ローカルベンチマーク, so
# 健康診断 counts only with the people it is for) …
PERSONAL_PHRASE = re.compile(
    r"(?:社員|従業員|スタッフ|職員|パート|家族)[^。、]{0,12}?(?:健康診断|健診)|(?<!会社の)(?<!企業の)(?<!経営の)人間ドック"
    r"|免許(?:の)?返納|運転免許"
)  # 「会社の人間ドックみたいなもの」 is the company's health check: ローカルベンチマーク
# Rule 9: a vendor's pitch to the bureau itself (「貴局ご担当者様 … 無料診断キャンペーン … ご提案いたします」): it is
# addressed to the office and offers something, it asks nothing of a support measure
SOLICITATION_TO = re.compile(r"貴局|貴庁|貴省|官公庁様|自治体様|行政機関様")
SOLICITATION_OFFER = re.compile(
    r"ご提案(?:いたし|させて|します)|キャンペーンを(?:実施|行って|開催)|ご紹介させて|お打ち?合わせ(?:の|を)?(?:お願い|させて)|ご都合のよい日時|資料をお送り"
)
# … and the tax office's procedures
TAX_PROCEDURE = re.compile(
    r"確定申告|青色申告|税務署|e-?Tax|(?:登録|届出)を?(?:取りやめ|取り消|取消)|取りやめ(?:る|の)(?:届出|手続)"
    r"|免税事業者に戻",
    re.IGNORECASE,
)
COMPANY_FORM = re.compile(r"[(（]\s*[株有合]\s*[)）]")  # (株) (有) (合): 株式会社, 有限会社, 合同会社
_COMPOUND_POS = ("名詞", "接尾辞", "接頭辞")


@dataclass(frozen=True)
class ScopeCheck:
    corpus: Corpus
    stats: TermStats

    def __post_init__(self) -> None:
        object.__setattr__(self, "_text", "\n".join(s.text for s in self.corpus.slides))

    def reason_to_abstain(self, question: str, hits: list[Hit], programs: list[str]) -> str | None:
        q = nfkc(question)
        ns = nouns(q)
        if not ns and not programs:
            return "質問の要点となる語が見つかりませんでした。"
        for word in proper_nouns(q):
            if word not in self._text:
                return f"「{word}」は収録資料に出てきません。"
        name = self.unknown_measure(q)
        if name:
            return f"「{name}」は収録資料で扱っていません。"
        for m in _RATE.finditer(q):
            compound = self._noun_compound_ending(q, m.end())
            if compound and compound not in self._text and not self._known_compound(compound[:-1]):
                return f"資料に「{compound}」の記載はありません。"
        if programs:
            return self._edition_reason(q, programs)
        word = self.personal_matter(q)
        if word:
            return f"「{word}」など個人の資産やお金、暮らしのご相談は、収録資料（中小企業向けの支援施策）の対象外です。"
        word = self.tax_procedure(q)
        if word:
            return (
                f"「{word}」など税の申告・届出の手続きは税務署（国税庁）の所管で、"
                "収録資料（中小企業向けの支援施策）の対象外です。"
            )
        if self.solicitation(q):
            return "当局あての営業・ご提案のご連絡で、支援施策についてのご質問ではありません。"
        return self.vocabulary_reason(q, hits)

    def unknown_measure(self, q: str) -> str | None:
        """Rule 3: the name of a measure (…補助金, …税制) that neither the registry nor any deck knows."""
        for m in _MEASURE.finditer(q):
            name = self._noun_compound_ending(q, m.end())
            if name and not self.corpus.registry.find(name) and name not in self._text:
                return name
        return None

    def vocabulary_reason(self, question: str, hits: list[Hit]) -> str | None:
        """Rule 6: too little of the question's vocabulary occurs in the decks, or in the best three slides."""
        ns = nouns(nfkc(question))
        total = sum(self.stats.weight(n) for n in ns) or 1.0
        known = sum(self.stats.weight(n) for n in ns if self.stats.known(n) or self._has_synonym(n)) / total
        if known < MIN_KNOWN:
            return f"質問の語の多く（{1 - known:.0%}）が収録資料に出てきません。"
        top = set().union(*(self.stats.slide_terms[h.slide.slide_id] for h in hits[:3])) if hits else set()
        covered = sum(self.stats.weight(n) for n in ns if n in top or self._synonym_in(n, top)) / total
        if covered < MIN_COVERED:
            return f"最も近いスライドでも質問の語の {covered:.0%} しか含まれていません。"
        return None

    def off_slide_reason(self, question: str, slides: list[Slide]) -> str | None:
        """A proper noun of the question (香川県) that the answer's slides do not mention, while no slide that
        does mention it covers the rest of the question: the decks answer only a more general question."""
        q = nfkc(question)
        text = "\n".join(f"{s.title}\n{s.text}" for s in slides)
        missing = [w for w in proper_nouns(q) if w not in text]
        if not missing:
            return None
        rest = [n for n in nouns(q) if not any(n in w for w in missing)]
        total = sum(self.stats.weight(n) for n in rest)
        for s in self.corpus.slides:
            if all(w in s.text for w in missing):
                have = self.stats.slide_terms[s.slide_id]
                if total and sum(self.stats.weight(n) for n in rest if n in have) >= MIN_WITH_NOUN * total:
                    return None
        return f"収録資料には「{missing[0]}」について質問に答える記述がありません。"

    def _has_synonym(self, noun: str) -> bool:
        """Whether corpus/synonyms.yaml gives a deck word for ``noun`` (字幕 → ローカライゼーション): the loader checks
        that every such word occurs in a deck, so the noun's meaning is in the corpus."""
        return bool(self.corpus.synonyms.means_of(noun))

    def _synonym_in(self, noun: str, terms: set[str]) -> bool:
        """Whether a deck word for ``noun`` (お墨付き → 認定, from corpus/synonyms.yaml) is among ``terms``."""
        return any(t in terms for m in self.corpus.synonyms.means_of(noun) for t in tokenize(m))

    def _edition_reason(self, q: str, programs: list[str]) -> str | None:
        slides = [s for s in self.corpus.slides if programs[0] in s.programs or programs[0] in s.topic]
        text = "\n".join(s.text for s in slides)
        for m in _ROUND.finditer(q):
            n, unit = m.group(1), m.group(2)
            if not re.search(rf"第?\s*{n}\s*[次回]", text):
                return f"第{n}{unit}についての記載は収録資料にありません。"
        newest = max(d.date.year for d in self.corpus.manifest.decks)
        later = [y for y in asked_years(q) if y > newest]
        if later:
            return f"{later[0]}年の情報は収録資料（最新 {newest}年）にありません。"
        return None

    def personal_matter(self, q: str) -> str | None:
        """Rule 8: a word of OFF_TOPIC (personal investing, money or household matters) standing as a word of the
        question, unless it is part of a longer noun compound the decks use (DX銘柄, 攻めのIT経営銘柄). 「(株)」「(有)」
        abbreviate a company's legal form (㈱ is (株) in NFKC): 架空工業(株) is a caller's company, not a stock."""
        words = list(_tagger()(COMPANY_FORM.sub(" ", q)))
        surfaces = [w.surface.lower() for w in words]
        for entry in OFF_TOPIC:
            parts = [w.surface.lower() for w in _tagger()(nfkc(entry))]
            for i in range(len(surfaces) - len(parts) + 1):
                if surfaces[i : i + len(parts)] != parts:
                    continue
                start, end = i, i + len(parts)
                while start > 0 and words[start - 1].feature.pos1 in _COMPOUND_POS:
                    start -= 1
                while end < len(words) and words[end].feature.pos1 in _COMPOUND_POS:
                    end += 1
                compound = "".join(w.surface for w in words[start:end])
                if end - start == len(parts) or compound not in self._text:
                    return entry
        m = PERSONAL_PHRASE.search(q)
        return m.group(0) if m else None

    @staticmethod
    def solicitation(q: str) -> str | None:
        """Rule 9: a message addressed to the bureau (貴局, 官公庁様) that offers the sender's services."""
        to, offer = SOLICITATION_TO.search(q), SOLICITATION_OFFER.search(q)
        return offer.group(0) if to and offer else None

    def tax_procedure(self, q: str) -> str | None:
        """Rule 8: a tax filing procedure (確定申告, 届出の取りやめ), the tax office's matter."""
        m = TAX_PROCEDURE.search(q)
        return m.group(0) if m else None

    def _known_compound(self, stem: str) -> bool:
        """A multi-word term the decks use (税額控除): its rate may be stated under another wording."""
        return len(list(_tagger()(stem))) >= 2 and stem in self._text

    @staticmethod
    def _noun_compound_ending(q: str, end: int) -> str | None:
        """The run of nouns ending at ``end`` (e.g. 採択率), if it is two or more words. An adverbial noun (あと, 今回,
        今年: 「あと補助金の締切も」) ends the run: it says when or what else, it is not part of a name."""
        words = list(_tagger()(q[:end]))
        run: list[str] = []
        for w in reversed(words):
            if w.feature.pos1 not in ("名詞", "接尾辞", "接頭辞", "形状詞") or w.feature.pos3 == "副詞可能":
                break
            run.insert(0, w.surface)
        return "".join(run) if len(run) >= 2 else None
