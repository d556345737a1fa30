"""Read a calculation question written in Japanese: program and frame by alias, edition, company size, employees,
the eligible expense (90万円, 1,200万円, 4千万円, 1億円, ８０万円 …) and special conditions
(インボイス転換, 賃上げ, 赤字 …).

Everything the parser recognises comes from data: the program registry, the rule files (frame and edition aliases)
and the vocabulary (sizes, conditions, industries). It never fills in a fact the question does not state, except
小規模事業者 inferred from an employee count and an industry by the definition on the slides.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ..errors import InputError
from ..text import nfkc
from .calculator import CalcRequest
from .rules import Frame, ProgramRules, Rulebook

_KANJI_DIGITS = str.maketrans("〇一二三四五六七八九", "0123456789")
_UNITS = {"兆": 10**12, "億": 10**8, "万": 10**4, "千": 10**3, "百": 10**2}
HUGE_YEN = 10**16  # amounts at or above this are read as this (the calculator refuses anything above 1兆円)
HUGE_COUNT = 10**9
_MINUS = re.compile(r"(?:マイナス|[▲△]|(?<![\d万億円兆千百])[-−])\s*$")
# a money expression: digits with 億/万/千/百 units and/or 円
_MONEY_SPAN = re.compile(
    r"(?<![\d.,])(?:\d[\d,]*(?:\.\d+)?\s*(?:兆|億|千万|百万|万|千|百)\s*)+(?:\d[\d,]*\s*)?円?|(?<![\d.,])\d[\d,]*\s*円"
)
_NOT_EXPENSE = re.compile(
    r"(売上|年商|資本金|課税所得|利益|予算|上限|下限|補助額|補助上限|総額)(?:高|額|が|は|の|で)?\s*$"
)
_EXPENSE_CUE = re.compile(
    r"(経費|費用|投資|購入|導入|設備|見積|ソフト|ツール|機械|システム|かかる|なら|の[^\s。、]{0,8}を)"
)
EMPLOYEES = re.compile(
    r"(?:従業員|社員|職員|スタッフ|従業者|雇用)(?:数)?(?:は|が|:)?\s*(\d[\d,]*)\s*(?:人|名)|(\d[\d,]*)\s*(?:人|名)(?:の|で|規模|いる|います|程度)"
)
_NEGATION = re.compile(
    r"^(?:で|じゃ|では|には|に)?(?:は)?(?:ない|なく|無い|なし|無し|しない|していない|せず|ではありません|じゃありません)"
)
# asking for a subsidy amount (a question with an expense amount is a calculation anyway)
_CALC_INTENT = re.compile(
    r"(いくら(?:補助|もらえ|貰え|出|になり|になる|受け|支給)|補助(?:額|金額|金)は(?:いくら|何円|何万円)|もらえる|貰える"
    r"|補助され|支給され|補助額を計算|計算して|試算|どのくらい補助|どれくらい補助|どれだけ補助)"
)
_CAP_INTENT = re.compile(r"(上限|下限|最大|いくらまで|補助率)")
# an amount the user quotes as a cap (「上限は1社あたり3億円」「3億円が上限」), not as what they plan to spend
_CAP_WORD_BEFORE = re.compile(r"(?:上限|下限|限度|最大(?!限)|最高)(?P<gap>[^、。,!?「」『』()\n]{0,10})$")
_CAP_WORD_AFTER = re.compile(r"^\s*(?:まで)?\s*(?:が|は|を)?\s*(?:補助)?(?:上限|下限|限度)")
_NOT_CAP_GAP = re.compile(r"いくら|何|どれ|どの|なら|経費|費用|投資|購入|導入|設備|かかる")
_CLAUSE_END = re.compile(r"[、。,!?「」『』\n]")
# a count of something a frame is split by: 「業務領域が4つ以上」「1〜3プロセス」「3つまで」「2機能以上」
_COUNT = (
    r"(?<![\d.,])(?P<a>\d+)(?:\s*(?:~|〜|-|−|から)\s*(?P<b>\d+))?\s*(?:つ|個)?"
    r"(?![\d.,]|\s*(?:兆|億|万|千|百|円|人|名|社|%|割))\s*(?P<bound>以上|以下|まで|未満|以内|超)?"
)
_COUNT_ALIAS = re.compile(
    r"^(?:(?P<noun1>[^\d~]+?)(?P<r1>\d+(?:~\d+)?)|(?P<r2>\d+(?:~\d+)?)(?P<noun2>[^\d~]+?))"
    r"(?P<bound>以上|以下|まで|未満|以内|超)?$"
)
_COUNT_PARTICLE = r"(?:数)?\s*(?:が|は|の|を|:)?\s*"


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def money_to_yen(expr: str) -> int | None:
    """「1億2,000万円」→120000000, 「4千万円」→40000000, 「80万」→800000, 「500,000円」→500000, 「0円」→0;
    None if not money; absurd amounts (「1京円」, 400 digits) are read as HUGE_YEN."""
    s = nfkc(expr).translate(_KANJI_DIGITS).replace(" ", "")
    if not re.search(r"[兆億万千百円]", s) or not re.search(r"[\d千百]", s):
        return None
    total = 0.0
    section = 0.0
    for num, unit in re.findall(r"(\d[\d,]*(?:\.\d+)?)?(兆|億|千万|百万|万|千|百|円)", s):
        n = _number(num) if num else (1.0 if unit in ("千", "百", "千万", "百万") else 0.0)
        if unit in ("千万", "百万"):
            section += n * _UNITS[unit[0]]
            total += section * 10**4
            section = 0.0
        elif unit in ("千", "百"):
            section += n * _UNITS[unit]
        elif unit in ("兆", "億", "万"):
            total += (section + n) * _UNITS[unit]
            section = 0.0
        else:  # 円
            total += section + n
            section = 0.0
    total += section
    if not re.search(r"[兆億万円]", s):  # 「3千」alone is not an amount of money
        return None
    if not math.isfinite(total) or total >= HUGE_YEN:
        return HUGE_YEN
    return round(total)


def parse_expense(value: object) -> int | None:
    """An expense typed into a form or a flag (「12000000」「1,200万円」); None when empty; InputError if unreadable."""
    if value is None or not str(value).strip():
        return None
    text = nfkc(str(value)).replace(",", "").strip()
    if text.startswith(("-", "−", "ー")):
        raise InputError("補助対象経費は1円以上の金額を入力してください。")
    if text.isdigit():
        return int(text) if len(text) < 17 else HUGE_YEN
    yen = money_to_yen(text)
    if yen is None:
        raise InputError(
            f"補助対象経費「{value}」を金額として読めません。円で入力してください（例: 12000000 または 1,200万円）。"
        )
    return yen


@dataclass(frozen=True)
class Money:
    yen: int
    start: int
    end: int
    text: str


def find_money(text: str) -> list[Money]:
    q = nfkc(text).translate(_KANJI_DIGITS)
    out = []
    for m in _MONEY_SPAN.finditer(q):
        yen = money_to_yen(m.group(0))
        if yen is not None:
            negative = bool(_MINUS.search(q[max(0, m.start() - 5) : m.start()]))
            out.append(Money(-yen if negative else yen, m.start(), m.end(), m.group(0).strip()))
    return out


def find_employees(text: str) -> int | None:
    """The headcount a text states (「従業員12名」「2,000人規模」), the first one; absurd counts read as HUGE_COUNT."""
    m = EMPLOYEES.search(nfkc(text))
    if not m:
        return None
    digits = (m.group(1) or m.group(2)).replace(",", "")
    return int(digits) if len(digits) < 10 else HUGE_COUNT


@dataclass
class ParsedQuestion:
    """What a question says that the calculator can use, and whether it asks for a calculation at all."""

    program: str | None = None
    frame: str | None = None
    edition: str | None = None
    size: str | None = None
    employees: int | None = None
    expense_yen: int | None = None
    conditions: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    calc_intent: bool = False
    cap_intent: bool = False
    pending: dict[str, list[str]] = field(default_factory=dict)  # choices the last follow-up question offered
    frame_names: frozenset[str] = frozenset()  # the frames ``frame`` may mean (several: the calculator asks which)

    def request(self) -> CalcRequest:
        return CalcRequest(
            program=self.program or "",
            frame=self.frame,
            edition=self.edition,
            size=self.size,
            employees=self.employees,
            expense_yen=self.expense_yen,
            conditions=frozenset(self.conditions),
        )

    def has_facts(self) -> bool:
        """Whether the question states anything a calculation uses (a follow-up such as 「小規模事業者の場合は？」)."""
        return any(
            x is not None for x in (self.frame, self.edition, self.size, self.employees, self.expense_yen)
        ) or bool(self.conditions)

    def merged_over(self, earlier: ParsedQuestion | None) -> ParsedQuestion:
        """A follow-up turn: what this turn says wins; the rest comes from the earlier turn."""
        if earlier is None:
            return self
        same_program = not self.program or self.program == earlier.program
        frame, names = self.frame, self.frame_names
        if frame is None and same_program:
            frame, names = earlier.frame, earlier.frame_names
        elif frame is not None and same_program and len(names) > 1:
            # 「単年です」 after 「通常枠」: the one frame both turns can mean
            common = names & earlier.frame_names
            if len(common) == 1:
                frame, names = next(iter(common)), common
        merged = ParsedQuestion(
            program=self.program or earlier.program,
            frame=frame,
            frame_names=names,
            edition=self.edition or earlier.edition,
            size=self.size or earlier.size,
            employees=self.employees if self.employees is not None else earlier.employees,
            expense_yen=self.expense_yen if self.expense_yen is not None else earlier.expense_yen,
            conditions=self.conditions | earlier.conditions,
            notes=list(dict.fromkeys([*(earlier.notes if self.size is None else []), *self.notes])),
            calc_intent=self.calc_intent or earlier.calc_intent,
            cap_intent=self.cap_intent or earlier.cap_intent,
        )
        return merged


def _longest_first(phrases: dict[str, str]) -> list[tuple[str, str]]:
    return sorted(phrases.items(), key=lambda kv: -len(kv[0]))


def _find_phrase(text: str, table: dict[str, str], negatable: bool = False) -> tuple[list[str], str]:
    """Ids whose phrases occur in text (longest first; a matched span is masked so shorter phrases do not re-match)."""
    found: list[str] = []
    for phrase, ident in _longest_first(table):
        start = text.find(phrase)
        while start >= 0:
            end = start + len(phrase)
            negated = negatable and _NEGATION.match(text[end : end + 12])
            text = text[:start] + "□" * len(phrase) + text[end:]
            if not negated and ident not in found:
                found.append(ident)
            start = text.find(phrase, end)
    return found, text


def _states_a_cap(before: str, after: str) -> bool:
    """Whether an amount is quoted as a cap (「上限は1社あたり3億円」「3億円が上限」) rather than spent: a cap word
    shortly before it in the same clause with no question or expense word in between, or right after it; and no
    expense word right after it (「上限の範囲で500万円の設備」 is spent)."""
    clause_after = _CLAUSE_END.split(after, maxsplit=1)[0]
    if _EXPENSE_CUE.search(clause_after):
        return False
    m = _CAP_WORD_BEFORE.search(before)
    if m and not _NOT_CAP_GAP.search(m.group("gap")):
        return True
    return bool(_CAP_WORD_AFTER.match(after))


def _interval(a: str, b: str | None, bound: str | None) -> tuple[int, float] | None:
    """The counts a phrase allows: 「1~3」→ (1, 3), 「4以上」→ (4, ∞), 「3つまで」→ (1, 3), 「2」→ (2, 2)."""
    lo = int(a)
    if b is not None:
        hi = int(b) - (1 if bound == "未満" else 0)
        return (lo, hi) if lo <= hi else None
    if bound == "以上":
        return (lo, math.inf)
    if bound == "超":
        return (lo + 1, math.inf)
    if bound in ("以下", "まで", "以内"):
        return (min(1, lo), lo)
    if bound == "未満":
        return (min(1, lo - 1), lo - 1) if lo > 0 else None
    return (lo, lo)


@dataclass(frozen=True)
class CountPhrase:
    """A frame alias that is a count of something (「業務領域4以上」「1~3プロセス」「2機能以上」)."""

    phrase: str
    noun: str
    counts: tuple[int, float]

    @staticmethod
    def of(phrase: str) -> CountPhrase | None:
        m = _COUNT_ALIAS.match(phrase)
        if not m:
            return None
        noun = m.group("noun1") or m.group("noun2")
        lo, _, hi = (m.group("r1") or m.group("r2")).partition("~")
        counts = _interval(lo, hi or None, m.group("bound"))
        if len(noun) < 2 or counts is None:
            return None
        return CountPhrase(phrase, noun, counts)


def _find_counts(text: str, phrases: list[CountPhrase]) -> tuple[list[str], str]:
    """Aliases whose count a question states in other words: 「業務領域が4つ以上」「4つ以上の業務領域」 → 業務領域4以上,
    「業務領域は1〜3」「3つまで」→ 業務領域1~3 (the stated counts must lie within the alias's)."""
    found: list[str] = []
    for noun in sorted({p.noun for p in phrases}, key=len, reverse=True):
        n = re.escape(noun)
        patterns = (
            re.compile(n + _COUNT_PARTICLE + _COUNT),
            re.compile(_COUNT + r"\s*(?:の)?\s*" + n + r"(?P<bound2>以上|以下|まで|未満|以内|超)?"),
        )
        for pattern in patterns:
            for m in list(pattern.finditer(text)):
                bound = m.group("bound") or m.groupdict().get("bound2")
                counts = _interval(m.group("a"), m.group("b"), bound)
                if counts is None:
                    continue
                for p in phrases:
                    within = p.counts[0] <= counts[0] and counts[1] <= p.counts[1]
                    if p.noun == noun and within and p.phrase not in found:
                        found.append(p.phrase)
                text = text[: m.start()] + "□" * (m.end() - m.start()) + text[m.end() :]
    return found, text


class QuestionParser:
    """Parses questions against one rulebook (built once; pure afterwards)."""

    def __init__(self, book: Rulebook) -> None:
        self.book = book
        vocab = book.vocabulary
        self.sizes = {nfkc(p): sid for sid, t in vocab.sizes.items() for p in [t.label, *t.phrases]}
        self.conditions = {nfkc(p): cid for cid, t in vocab.conditions.items() for p in [t.label, *t.phrases]}
        self.industries = {nfkc(p): iid for iid, ind in vocab.industries.items() for p in ind.phrases}
        self.editions: dict[str, dict[str, str]] = {}
        self.frames: dict[str, dict[str, str]] = {}
        self.counts: dict[str, list[CountPhrase]] = {}
        for pid, rules in book.programs.items():
            self.editions[pid] = {nfkc(a): ed.id for ed in rules.editions for a in [ed.label, *ed.aliases]}
            self.frames[pid] = self._frame_phrases(rules)
            self.counts[pid] = [c for p in self.frames[pid].values() if (c := CountPhrase.of(nfkc(p)))]

    @staticmethod
    def _frame_phrases(rules: ProgramRules) -> dict[str, str]:
        """Phrase → frame name as the newest edition calls it (the calculator resolves names per edition)."""
        table: dict[str, str] = {}
        for ed in reversed(rules.newest_first()):  # newest last, so its names win
            for fr in ed.frames:
                for phrase in [fr.name, *fr.aliases]:
                    table[nfkc(phrase)] = phrase
        return table

    def _frames_named(self, program: str, phrase: str, edition: str | None) -> list[Frame]:
        """The frames of the asked (else the newest) edition a phrase names."""
        key = nfkc(phrase)
        rules = self.book.programs[program]
        ed = (rules.edition(edition) if edition else None) or rules.newest_first()[0]
        return [f for f in ed.frames if key in {nfkc(x) for x in [f.name, *f.aliases]}]

    def _choose_frame(
        self, program: str, phrases: list[str], edition: str | None
    ) -> tuple[str | None, frozenset[str]]:
        """The phrase naming the fewest frames, then the longest (「インボイス枠で会計ソフト」→ 会計ソフト); when it
        names several, the one frame all the phrases name together (「出資獲得枠」+「3年間」→ 出資獲得枠(3年間)).
        Also the names of the frames the choice may mean."""
        if not phrases:
            return None, frozenset()
        named = [frozenset(f.name for f in self._frames_named(program, p, edition)) for p in phrases]
        breadth = {p: len(n) or 99 for p, n in zip(phrases, named, strict=True)}
        best = sorted(phrases, key=lambda p: (breadth[p], -len(p)))[0]
        known = [n for n in named if n]  # phrases of another edition name nothing here
        common = frozenset.intersection(*known) if known and breadth[best] > 1 else frozenset()
        if len(common) == 1:
            return next(iter(common)), common
        return best, named[phrases.index(best)]

    def parse(self, question: str, program_hint: str | None = None) -> ParsedQuestion:
        """Facts in one question; ``program_hint`` (the conversation's program) lets 「グローバル枠なら？」 name
        a frame."""
        q = nfkc(question)
        out = ParsedQuestion()
        registry = self.book.registry
        programs = [p for p in (registry.find(q) if registry else []) if p in self.book.programs]
        if programs:
            out.program = programs[0]
        masked = q
        program = out.program or (program_hint if program_hint in self.book.programs else None)
        if program:
            editions, masked = _find_phrase(masked, self.editions[program])
            out.edition = editions[0] if editions else None
            frames, masked = _find_phrase(masked, self.frames[program])
            counted, masked = _find_counts(masked, self.counts[program])
            out.frame, out.frame_names = self._choose_frame(
                program, list(dict.fromkeys([*frames, *counted])), out.edition
            )
        if registry is not None:  # program names (中小企業省力化投資補助金 …) must not read as a company size
            for pid in registry.find(q):
                for form in sorted(registry.get(pid).surface_forms(), key=len, reverse=True):
                    masked = masked.replace(nfkc(form), "□" * len(form))
        conditions, masked = _find_phrase(masked, self.conditions, negatable=True)
        out.conditions = set(conditions)
        sizes, masked = _find_phrase(masked, self.sizes)
        out.size = sizes[0] if sizes else None
        out.employees = find_employees(masked)
        out.expense_yen = self._expense(masked)
        out.calc_intent = bool(_CALC_INTENT.search(q))
        out.cap_intent = bool(_CAP_INTENT.search(q))
        if out.size is None and out.employees is not None:
            self._infer_small(masked, out)
        return out

    @staticmethod
    def _expense(text: str) -> int | None:
        candidates = []
        previous_end = 0
        for money in find_money(text):
            before = text[max(0, money.start - 8) : money.start]
            own_before = text[max(previous_end, money.start - 16) : money.start]
            previous_end = money.end
            if _NOT_EXPENSE.search(before) or _states_a_cap(own_before, text[money.end : money.end + 16]):
                continue
            around = text[max(0, money.start - 12) : money.end + 12]
            candidates.append((1 if _EXPENSE_CUE.search(around) else 0, -money.start, money.yen))
        if not candidates:
            return None
        return max(candidates)[2]

    def _infer_small(self, text: str, out: ParsedQuestion) -> None:
        found, _ = _find_phrase(text, self.industries)
        if not found:
            return
        industry = self.book.vocabulary.industries[found[0]]
        small = out.employees is not None and out.employees <= industry.small_max_employees
        out.size = "small" if small else "sme"
        verdict = "小規模事業者" if small else "中小企業（小規模事業者ではない）"
        out.notes.append(
            f"従業員{out.employees}名・{industry.label}のため{verdict}として計算しました"
            f"（小規模事業者は{industry.label}で従業員{industry.small_max_employees}人以下）。"
        )

    @staticmethod
    def pick_choice(question: str, choices: list[str]) -> str | None:
        """The one offered choice a short reply names (「2機能以上です」→ 「…（ソフト2機能以上）」), if exactly one."""
        reply = re.sub(
            r"(です|でお願いします|にします|で|を選びます|の方|のほう)?[。.!！]*$", "", nfkc(question).strip()
        )
        if len(reply) < 2:
            return None
        hits = [c for c in choices if reply in nfkc(c)]
        if len(hits) != 1:
            inner = {c: re.findall(r"[（(]([^）)]+)[）)]", nfkc(c)) for c in choices}
            hits = [c for c, parts in inner.items() if any(p and p in nfkc(question) for p in parts)]
        return hits[0] if len(hits) == 1 else None

    def is_calculation(self, parsed: ParsedQuestion) -> bool:
        """A question the calculator should answer: a program with rules and an amount, or an explicit ask for one."""
        if parsed.program is None:
            return False
        if parsed.expense_yen is not None:
            return True
        return parsed.calc_intent and not parsed.cap_intent
