"""The subsidy calculator: pure arithmetic over the rule data, with the steps in Japanese and the slides behind them.

amount = tiered rate applied to the eligible expense (tiers measured on the subsidy amount), capped by the frame's cap
plus any uplift, truncated to the yen once at the end (exact fractions until then). Where the deck gives only a range
(a cap that depends on facts it does not break down, or a rate it leaves open), the result is a range and says what is
missing; it never invents the breakdown.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from fractions import Fraction

from ..errors import InputError
from ..text import nfkc
from .rules import Cap, Edition, Frame, ProgramRules, RateRule, Rulebook, Source, Uplift, When, rate_value

MAX_EXPENSE_YEN = 10**12  # 1兆円: anything above is a typo, not a subsidy application
MAX_EMPLOYEES = 1_000_000
SMALL_FOR_SURE = 5  # 5人以下なら業種を問わず小規模事業者 (000 slide 21)

STATUS_OK = "ok"
STATUS_RANGE = "range"
STATUS_CAP_ONLY = "cap_only"
STATUS_BELOW_MINIMUM = "below_minimum"


@dataclass(frozen=True)
class CalcRequest:
    """What the user knows. Program and frame may be ids, names or aliases; conditions are vocabulary ids."""

    program: str
    frame: str | None = None
    edition: str | None = None
    size: str | None = None
    employees: int | None = None
    expense_yen: int | None = None
    conditions: frozenset[str] = frozenset()

    def to_dict(self) -> dict:
        d = asdict(self)
        d["conditions"] = sorted(self.conditions)
        return {k: v for k, v in d.items() if v not in (None, [])}


@dataclass(frozen=True)
class Missing:
    """One fact the calculation needs, with the question to ask for it."""

    key: str
    question: str
    choices: tuple[str, ...] = ()


class MissingInputs(InputError):
    """The calculation needs facts the request does not give."""

    def __init__(self, missing: list[Missing], program: str = "", frame: str = "") -> None:
        self.missing = missing
        self.program = program
        self.frame = frame
        super().__init__("計算に必要な情報が足りません: " + " / ".join(m.question for m in missing))


@dataclass
class CalcResult:
    program: str
    program_name: str
    frame: str
    frame_name: str
    edition: dict
    status: str
    subsidy_yen: int | None
    cap_yen: int | None
    rate: str
    steps: list[str]
    sources: list[dict]
    warnings: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    subsidy_range_yen: list[int | None] | None = None
    cap_range_yen: list[int | None] | None = None
    expense_yen: int | None = None
    inputs: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    def amount_ja(self) -> str | None:
        """The subsidy as text: one amount, or a range when the decks leave it open; None when not computed."""
        if self.subsidy_yen is not None:
            return yen_ja(self.subsidy_yen)
        if self.subsidy_range_yen:
            return range_ja(*self.subsidy_range_yen)
        return None


# ------------------------------------------------------------------------------------------------ formatting


def yen_ja(amount: int | Fraction | None) -> str:
    """12,345,678 → 「1,234万5,678円」; fractions keep two decimals (only inside steps)."""
    if amount is None:
        return "不明"
    if isinstance(amount, Fraction) and amount.denominator != 1:
        whole = math.floor(amount)
        frac = f"{float(amount - whole):.2f}"[1:]
        return f"{yen_ja(whole)[:-1]}{frac}円"
    n = int(amount)
    if n < 0:
        return "-" + yen_ja(-n)
    oku, n = divmod(n, 100_000_000)
    man, rest = divmod(n, 10_000)
    text = (f"{oku:,}億" if oku else "") + (f"{man:,}万" if man else "") + (f"{rest:,}" if rest else "")
    return (text or "0") + "円"


def range_ja(low: int | None, high: int) -> str:
    """「1,000万円〜1,833万3,333円」, or 「最大1,500万円」 when the lower end is unknown (None or 0)."""
    return f"{yen_ja(low)}〜{yen_ja(high)}" if low else f"最大{yen_ja(high)}"


def _rate_text(rule: RateRule) -> str:
    if rule.rate is not None:
        return rule.rate
    if rule.options is not None:
        return " または ".join(rule.options)
    parts = []
    prev: int | None = None
    for tier in rule.tiers or []:
        if tier.up_to_subsidy_yen is not None:
            parts.append(f"補助額{yen_ja(tier.up_to_subsidy_yen)}までの部分{tier.rate}")
        else:
            parts.append(f"{yen_ja(prev)}を超える部分{tier.rate}")
        prev = tier.up_to_subsidy_yen
    return "、".join(parts)


# ------------------------------------------------------------------------------------------------ resolution


def _key(text: str) -> str:
    return nfkc(text).replace(" ", "").replace("・", "").lower()


def _resolve_program(book: Rulebook, name: str) -> ProgramRules:
    if book.get(name):
        return book.programs[name]
    found = [p for p in book.registry.find(nfkc(name)) if p in book.programs] if book.registry else []
    if found:
        return book.programs[found[0]]
    known = "、".join(p.name for p in book.programs.values())
    raise InputError(f"制度「{name}」の計算規則はありません。計算できる制度: {known}")


def _resolve_edition(rules: ProgramRules, asked: str | None) -> Edition | None:
    if not asked:
        return None
    key = _key(asked)
    for ed in rules.editions:
        if key in {_key(ed.id), _key(ed.label), *(_key(a) for a in ed.aliases)}:
            return ed
    known = "、".join(f"{e.label}（{e.id}）" for e in rules.newest_first())
    raise InputError(f"{rules.name}の「{asked}」という版は見つかりません。選べる版: {known}")


def _frame_matches(frame: Frame, key: str) -> bool:
    return key in {_key(frame.id), _key(frame.name), *(_key(a) for a in frame.aliases)}


def _resolve_frame(rules: ProgramRules, edition: Edition | None, asked: str | None) -> tuple[Edition, Frame, list[str]]:
    """The frame in the asked edition, or in the newest edition that has it (warning when that is not the newest)."""
    editions = [edition] if edition else rules.newest_first()
    warnings: list[str] = []
    if asked is None:
        ed = editions[0]
        if len(ed.frames) == 1:
            return ed, ed.frames[0], warnings
        choices = tuple(f.name for f in ed.frames)
        raise MissingInputs(
            [Missing("frame", f"{rules.name}（{ed.label}）のどの枠ですか？（{'、'.join(choices)}）", choices)],
            program=rules.program,
        )
    key = _key(asked)
    for i, ed in enumerate(editions):
        hits = [f for f in ed.frames if _frame_matches(f, key)]
        if len(hits) > 1:
            choices = tuple(f.name for f in hits)
            raise MissingInputs(
                [
                    Missing(
                        "frame", f"「{asked}」に当たる枠が複数あります。どれですか？（{'、'.join(choices)}）", choices
                    )
                ],
                program=rules.program,
            )
        if hits:
            if i > 0:
                warnings.append(
                    f"最新の資料（{editions[0].label}）には「{hits[0].name}」の記載がないため、{ed.label}の資料に基づいて計算しました。"
                )
            return ed, hits[0], warnings
    names = "、".join(f.name for f in editions[0].frames)
    where = edition.label if edition else "どの版"
    raise InputError(f"{rules.name}に「{asked}」という枠は見つかりません（{where}）。{editions[0].label}の枠: {names}")


# ------------------------------------------------------------------------------------------------ matching


def _matches(when: When, req: CalcRequest, size: str | None) -> bool | None:
    """True / False, or None when the request lacks a fact the rule depends on."""
    if any(c not in req.conditions for c in when.conditions):
        return False
    unknown = False
    if when.size is not None:
        if size is None:
            unknown = True
        elif size not in when.size:
            return False
    if when.employees_min is not None or when.employees_max is not None:
        if req.employees is None:
            unknown = True
        elif (when.employees_min is not None and req.employees < when.employees_min) or (
            when.employees_max is not None and req.employees > when.employees_max
        ):
            return False
    return None if unknown else True


def _needed(when: When, req: CalcRequest, size: str | None, book: Rulebook) -> list[Missing]:
    out = []
    if when.size is not None and size is None:
        choices = tuple(book.vocabulary.size_label(s) for s in book.vocabulary.sizes)
        out.append(Missing("size", "企業規模はどれですか？（小規模事業者・中小企業・中堅企業など）", choices))
    if (when.employees_min is not None or when.employees_max is not None) and req.employees is None:
        out.append(Missing("employees", "従業員数は何人ですか？"))
    return out


def _first(rules: list, req: CalcRequest, size: str | None, book: Rulebook, what: str, frame: Frame, program: str):
    """The first rule that applies; a missing fact before it is asked for, never guessed."""
    for rule in rules:
        hit = _matches(rule.when, req, size)
        if hit is None:
            raise MissingInputs(_needed(rule.when, req, size, book), program=program, frame=frame.name)
        if hit:
            return rule
    raise InputError(
        f"{frame.name}で、指定の条件（{_describe_request(req, size, book)}）に当たる{what}が資料にありません。"
    )


def _describe_request(req: CalcRequest, size: str | None, book: Rulebook) -> str:
    parts = []
    if size:
        parts.append(book.vocabulary.size_label(size))
    if req.employees is not None:
        parts.append(f"従業員{req.employees}名")
    parts.extend(book.vocabulary.condition_label(c) for c in sorted(req.conditions))
    return "、".join(parts) or "指定なし"


# ------------------------------------------------------------------------------------------------ arithmetic


def tiered_amount(expense: Fraction, rule: RateRule, rate: str | None = None) -> tuple[Fraction, list[str]]:
    """Subsidy before the cap, exact; tiers are bands of the subsidy amount (DESIGN.md)."""
    if rule.tiers is None:
        r = rate_value(rate or rule.rate or "1")
        amount = expense * r
        label = "定額（補助対象経費の全額）" if (rate or rule.rate) == "定額" else f"{rate or rule.rate}"
        return amount, [f"補助対象経費 {yen_ja(int(expense))} × {label} = {yen_ja(amount)}"]
    steps: list[str] = []
    total = Fraction(0)
    remaining = expense
    prev = Fraction(0)
    for tier in rule.tiers:
        r = rate_value(tier.rate)
        band = None if tier.up_to_subsidy_yen is None else Fraction(tier.up_to_subsidy_yen) - prev
        label = (
            f"補助額{yen_ja(tier.up_to_subsidy_yen)}までの部分"
            if band is not None
            else f"補助額{yen_ja(prev)}を超える部分"
        )
        if band is None or remaining * r <= band:
            part = remaining * r
            steps.append(f"{label}: 経費 {yen_ja(remaining)} × {tier.rate} = {yen_ja(part)}")
            total += part
            break
        used = band / r
        steps.append(f"{label}: 経費 {yen_ja(used)} × {tier.rate} = {yen_ja(band)}")
        total += band
        remaining -= used
        prev = Fraction(tier.up_to_subsidy_yen or 0)
        if remaining <= 0:
            break
    return total, steps


def _source_dicts(items: list[Cap | Uplift | RateRule], book: Rulebook) -> list[dict]:
    out: list[dict] = []
    seen: set[tuple[str, int, str]] = set()
    for item in items:
        for src in item.source:
            key = (src.file, src.slide, src.quote)
            if key not in seen:
                seen.add(key)
                out.append(_source_dict(src, book))
    return out


def _source_dict(src: Source, book: Rulebook) -> dict:
    d: dict = {"source_file": src.file, "slide": src.slide, "quote": src.quote}
    if book.corpus is not None:
        deck = book.corpus.deck(src.file)
        d.update(
            title=book.corpus.slide(src.file, src.slide).title,
            issuer=deck.issuer,
            date=deck.date.isoformat(),
            date_label=deck.date_label,
        )
    return d


def _check_numbers(req: CalcRequest) -> None:
    if req.expense_yen is not None:
        if isinstance(req.expense_yen, float) and not math.isfinite(req.expense_yen):
            raise InputError("補助対象経費が数値ではありません。金額を円で入力してください（例: 1200万円）。")
        if req.expense_yen <= 0:
            raise InputError("補助対象経費は1円以上の金額を入力してください。")
        if req.expense_yen > MAX_EXPENSE_YEN:
            shown = f" {yen_ja(math.floor(req.expense_yen))}" if req.expense_yen < 1000 * MAX_EXPENSE_YEN else ""
            raise InputError(f"補助対象経費{shown}は大きすぎます。1兆円以下で入力してください。")
    if req.employees is not None and not 0 <= req.employees <= MAX_EMPLOYEES:
        raise InputError("従業員数は0人以上100万人以下で入力してください。")


def _size(req: CalcRequest, book: Rulebook) -> tuple[str | None, list[str]]:
    if req.size is not None:
        key = _key(req.size)
        for sid, term in book.vocabulary.sizes.items():
            if key in {_key(sid), _key(term.label), *(_key(p) for p in term.phrases)}:
                return sid, []
        known = "、".join(f"{t.label}（{s}）" for s, t in book.vocabulary.sizes.items())
        raise InputError(f"企業規模「{req.size}」はわかりません。次のどれかを指定してください: {known}")
    if req.employees is not None and req.employees <= SMALL_FOR_SURE and "small" in book.vocabulary.sizes:
        return "small", [
            f"従業員{req.employees}名のため小規模事業者として計算しました（5人以下はどの業種でも小規模事業者）。"
        ]
    return None, []


def _older_breakdown(
    rules: ProgramRules, edition: Edition, frame: Frame, req: CalcRequest, size: str | None
) -> tuple[list[str], list[Cap]]:
    """When this edition gives only a range, point to an older edition that states the cap for this case."""
    out: list[str] = []
    used: list[Cap] = []
    for ed in rules.newest_first():
        older = ed.frame(frame.id)
        if ed.date >= edition.date or older is None:
            continue
        for cap in older.caps:
            if cap.yen is not None and _matches(cap.when, req, size):
                where = f"（{cap.when.describe_plain()}）" if cap.when.describe_plain() else ""
                out.append(
                    f"参考: より古い{ed.label}の資料では、この条件の補助上限は{yen_ja(cap.yen)}{where}でした。"
                    "最新の上限は公募要領で確認してください。"
                )
                used.append(cap)
                break
        if out:
            break
    return out, used


def calculate(req: CalcRequest, book: Rulebook) -> CalcResult:
    """Compute the subsidy for one request. Raises InputError (MissingInputs) naming what is unknown or missing."""
    _check_numbers(req)
    for cond in req.conditions:
        if cond not in book.vocabulary.conditions:
            known = "、".join(f"{t.label}（{c}）" for c, t in book.vocabulary.conditions.items())
            raise InputError(f"条件「{cond}」はわかりません。指定できる条件: {known}")
    rules = _resolve_program(book, req.program)
    edition, frame, warnings = _resolve_frame(rules, _resolve_edition(rules, req.edition), req.frame)
    size, size_notes = _size(req, book)
    warnings = size_notes + warnings

    cap_rule: Cap = _first(frame.caps, req, size, book, "補助上限", frame, rules.program)
    rate_rule: RateRule = _first(frame.rates, req, size, book, "補助率", frame, rules.program)
    uplifts = []
    for up in frame.uplifts:
        hit = _matches(up.when, req, size)
        if hit is None:
            raise MissingInputs(_needed(up.when, req, size, book), program=rules.program, frame=frame.name)
        if hit:
            uplifts.append(up)

    deck = book.corpus.deck(edition.deck) if book.corpus is not None else None
    edition_info = {
        "id": edition.id,
        "label": edition.label,
        "date": edition.date.isoformat(),
        "deck": edition.deck,
        "issuer": deck.issuer if deck else "",
    }
    steps = [
        f"制度: {rules.name} {frame.name}（{edition.label}。{edition_info['issuer']} {edition.date:%Y年%-m月}の資料）"
    ]

    # cap (+ uplifts)
    if cap_rule.yen is not None:
        lo = hi = cap_rule.yen - (1 if cap_rule.exclusive else 0)
        steps.append(
            f"補助上限: {yen_ja(cap_rule.yen)}{'未満' if cap_rule.exclusive else ''}"
            + (f"（{cap_rule.when.describe(book.vocabulary)}）" if cap_rule.when != When() else "")
        )
    else:
        lo, hi = cap_rule.range or (0, 0)
        steps.append(f"補助上限: {range_ja(lo, hi)}（資料に内訳の記載なし）")
    for up in uplifts:
        a, b = (up.add_yen, up.add_yen) if up.add_yen is not None else (up.add_range or (0, 0))
        lo, hi = lo + a, hi + b
        added = yen_ja(a) if a == b else f"{yen_ja(a)}〜{yen_ja(b)}"
        steps.append(
            f"{up.label}: 補助上限に {added} を上乗せ → {yen_ja(lo) if lo == hi else yen_ja(lo) + '〜' + yen_ja(hi)}"
        )
    cap_known = lo == hi
    missing: list[str] = []
    if not cap_known:
        missing.append("補助上限の内訳（従業員数などによる上限額が資料に書かれていません）")
        hints, older_caps = _older_breakdown(rules, edition, frame, req, size)
        warnings.extend(hints)
    else:
        older_caps = []

    rate_label = _rate_text(rate_rule)
    steps.append(
        f"補助率: {rate_label}"
        + (f"（{rate_rule.when.describe(book.vocabulary)}）" if rate_rule.when != When() else "")
    )
    if rate_rule.options is not None:
        missing.append(f"どの補助率（{'・'.join(rate_rule.options)}）が適用されるかの条件（資料に記載なし）")

    unused = frame.conditions() - req.conditions
    if unused:
        labels = "、".join(book.vocabulary.condition_label(c) for c in sorted(unused))
        warnings.append(f"この枠には条件で上限や補助率が変わる特例があります（今回は指定なし）: {labels}")

    sources = _source_dicts(
        [cap_rule, *uplifts, rate_rule, *([frame.minimum] if frame.minimum else []), *older_caps], book
    )
    result = CalcResult(
        program=rules.program,
        program_name=rules.name,
        frame=frame.id,
        frame_name=frame.name,
        edition=edition_info,
        status=STATUS_CAP_ONLY,
        subsidy_yen=None,
        cap_yen=lo if cap_known else None,
        rate=rate_rule.rate or rate_label,
        steps=steps,
        sources=sources,
        warnings=warnings,
        missing=missing,
        cap_range_yen=None if cap_known else [lo or None, hi],
        expense_yen=req.expense_yen,
        inputs=req.to_dict(),
    )
    if req.expense_yen is None:
        steps.append("補助対象経費が指定されていないため、補助上限と補助率のみ示します。")
        return result

    expense = Fraction(int(req.expense_yen))
    steps.append(f"補助対象経費: {yen_ja(int(expense))}")
    rates = rate_rule.options or [None]
    amounts: list[Fraction] = []
    for r in rates:
        amount, tier_steps = tiered_amount(expense, rate_rule, r)
        amounts.append(amount)
        steps.extend(tier_steps)
    low = math.floor(min(min(amounts), lo))
    high = math.floor(min(max(amounts), hi))
    if low == high or (min(amounts) <= lo and len(amounts) == 1):
        subsidy = math.floor(min(amounts[0], hi))
        if not cap_known:
            warnings.append(
                f"計算額 {yen_ja(subsidy)} は補助上限の範囲の下限以下のため、上限の内訳によらず決まります。"
            )
        steps.append(
            f"補助額 = 計算額 {yen_ja(amounts[0])} と補助上限 {yen_ja(hi)} の小さい方"
            f" = {yen_ja(subsidy)}（1円未満切り捨て）"
        )
        result.subsidy_yen = subsidy
        result.status = STATUS_OK
        result.missing = [m for m in missing if not m.startswith("補助上限の内訳")]
    else:
        if frame.minimum is not None and high < frame.minimum.yen:
            result.status = STATUS_BELOW_MINIMUM
            result.subsidy_yen = 0
            warnings.append(
                f"補助額は最大でも {yen_ja(high)} で、補助下限額 {yen_ja(frame.minimum.yen)} に届かないため、"
                "この枠の対象になりません。"
            )
            return result
        if frame.minimum is not None and low < frame.minimum.yen:
            warnings.append(
                f"補助額が補助下限額 {yen_ja(frame.minimum.yen)} に届かない場合は、この枠の対象になりません。"
            )
        result.status = STATUS_RANGE
        result.subsidy_range_yen = [low if low > 0 else None, high]
        steps.append(f"補助額は {range_ja(low, high)}（資料の情報だけでは1つに決まりません）")
        return result
    if frame.minimum is not None and result.subsidy_yen is not None and result.subsidy_yen < frame.minimum.yen:
        result.status = STATUS_BELOW_MINIMUM
        warnings.append(
            f"補助額 {yen_ja(result.subsidy_yen)} は補助下限額 {yen_ja(frame.minimum.yen)} に届かないため、"
            "この枠の対象になりません。"
        )
        steps.append(f"補助下限額 {yen_ja(frame.minimum.yen)} 未満のため補助額は0円")
        result.subsidy_yen = 0
    return result
