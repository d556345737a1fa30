"""The size an inquiry states (revenue, headcount, a planned investment) and the programs the slides give for that
size (``corpus/company_size.yaml``, from 004 slide 4 「中堅・中小企業向け投資支援メニュー」 and the 中小企業 line).

An investment fits the program with the smallest cap that covers its subsidy (rate × investment): 3億円 asks for
more than 新事業進出・ものづくり補助金's 9,000万 and fits 成長加速化補助金 (上限5億, 1/2). A vague amount reads at its
lower middle: 数億円 as 3億円, 数十億円 as 30億円.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..errors import DataError
from ..ingest.corpus import Corpus
from ..text import nfkc
from ..tools.calculator import yen_ja
from ..tools.parse import EMPLOYEES, find_employees, find_money
from ..tools.rules import ProgramRules, Rate, Source, Sources, rate_value, slide_texts, source_problem
from ..yamlio import load_model

SIZE_FILE = "company_size.yaml"
VAGUE = re.compile(r"数(十|百|千)?(?=億|千万|百万|万)")  # 数十億円 → 30億円, 数千万円 → 3千万円: same length,
VAGUE_DIGITS = {"": "3", "十": "30", "百": "3百", "千": "3千"}  # so a span of the reading is a span of the text
ABOUT = r"(?:は|が|:|で)?(?:約|およそ|ざっと|だいたい)?"
REVENUE_BEFORE = re.compile(r"(?:年商|年間売上|売上高?|売り上げ)(?:高|額)?" + ABOUT + r"\s*$")
INVESTMENT_BEFORE = re.compile(  # 「総額30億円」「新ライン増設(10億円規模)」
    r"(?:(?:総額|投資額|総事業費|事業費|投資規模)" + ABOUT
    + r"|(?:増設|新設|建設|設備投資|導入|入れ替え|更新)[(（])\s*$"
)
INVESTMENT_AFTER = re.compile(  # 「3億円くらいかける」「2,000万円くらい)を入れて」「数十億円規模の投資」
    r"^(?:くらい|ほど|程度|前後|規模|ぐらい|[)）])*(?:の|を|で)?(?:設備|機械|ライン)?(?:投資|かけ|投じ|つぎ込|入れ|導入|購入|買い|建て|増設)"
)
GROWTH = "売上拡大"  # the table's column of programs for growth investments
TOO_SMALL_SHARE = Fraction(1, 2)
SUBSIDY_MATTER = re.compile(r"補助|助成|投資|設備")  # revenue and investment speak for subsidies only


@dataclass(frozen=True)
class StatedSize:
    """What an inquiry says about the company's size; None where it says nothing."""

    revenue: int | None = None  # 円 per year (年商, 売上)
    employees: int | None = None
    investment: int | None = None  # 円, the planned investment (数十億円の投資, 総額30億円)
    written: dict[str, str] = field(default_factory=dict)  # how the inquiry writes each amount (数十億円)


@dataclass(frozen=True)
class SizeFit:
    program: str
    kind: str  # revenue / investment / midsize
    reason: str
    sources: tuple[Source, ...]  # the slides the reason's figures are quoted from


def read_size(text: str) -> StatedSize:
    """The revenue, headcount and planned investment an inquiry states (the first of each)."""
    text = nfkc(text)
    q = VAGUE.sub(lambda m: VAGUE_DIGITS[m.group(1) or ""], text)
    revenue = investment = None
    written: dict[str, str] = {}
    for money in find_money(q):
        before, after = q[max(0, money.start - 10) : money.start], q[money.end : money.end + 12]
        if revenue is None and REVENUE_BEFORE.search(before):
            revenue, written["revenue"] = money.yen, text[money.start : money.end].strip()
        elif investment is None and (INVESTMENT_BEFORE.search(before) or INVESTMENT_AFTER.search(after)):
            investment, written["investment"] = money.yen, text[money.start : money.end].strip()
    return StatedSize(revenue, find_employees(q), investment, written)


REVENUE_PHRASE = re.compile(
    r"(?:年商|年間売上|売上高?|売り上げ)(?:高|額)?(?:は|が|:)?(?:約|およそ)?\s*[\d,.]+\s*(?:兆|億|千万|百万|万)*円?"
)


def without_size(text: str) -> str:
    """The text less the headcount and revenue it states (「従業員は40人で」「年商25億円の」): the size is this module's
    signal, and 従業員 is a word of every program's conditions, no program's need."""
    return REVENUE_PHRASE.sub(" ", EMPLOYEES.sub(" ", text))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MenuRow(_Strict):
    program: str
    column: Literal["売上拡大", "高付加価値化"]
    revenue_min: int | None = Field(default=None, ge=0)
    revenue_max: int | None = Field(default=None, gt=0)  # exclusive
    cap_yen: int = Field(gt=0)
    rate: Rate
    source: Sources

    def holds(self, revenue: int) -> bool:
        return (self.revenue_min or 0) <= revenue and (self.revenue_max is None or revenue < self.revenue_max)

    def band(self) -> str:
        low = f"{yen_ja(self.revenue_min)}以上" if self.revenue_min else ""
        high = f"{yen_ja(self.revenue_max)}未満" if self.revenue_max else ""
        return f"売上{low}{high}"


class MidsizeProgram(_Strict):
    program: str
    source: Sources


class Midsize(_Strict):
    employees_over: int = Field(gt=0)
    source: Sources
    programs: list[MidsizeProgram] = Field(min_length=1)


class SizeFile(_Strict):
    menu: list[MenuRow] = Field(default_factory=list)
    midsize: Midsize | None = None


class SizeTable:
    """The programs the slides give for a stated size."""

    def __init__(self, data: SizeFile, rules: dict[str, ProgramRules] | None = None) -> None:
        self.data = data
        self.rules = rules or {}  # the calculator's rules: each program's largest cap

    def fits(self, text: str, size: StatedSize) -> list[SizeFit]:
        """The programs the slides give for the stated size: the menu row of the revenue, the program an investment
        fits (both only when the inquiry is about subsidies or investment), the programs for 中堅企業."""
        out: list[SizeFit] = []
        if SUBSIDY_MATTER.search(text) and size.revenue is not None:
            for row in self.data.menu:
                if row.holds(size.revenue):
                    revenue = size.written["revenue"]
                    reason = f"売上{revenue}は、投資支援メニューでこの制度の行（{row.band()}）に当たります"
                    out.append(SizeFit(row.program, "revenue", reason, (row.source[0],)))
        fit = self._investment_fit(text, size)
        if fit is not None and size.investment is not None:
            amount = size.written["investment"]
            if amount != yen_ja(size.investment):  # 数十億円（30億円として）
                amount += f"（{yen_ja(size.investment)}として）"
            subsidy = yen_ja(round(rate_value(fit.rate) * size.investment))
            reason = (f"{amount}の投資の補助（補助率{fit.rate}で{subsidy}）に、"
                      f"上限{yen_ja(fit.cap_yen)}のこの制度が合います")
            rows = [r for r in self.data.menu if r.column == GROWTH and r.cap_yen == fit.cap_yen]
            out += [SizeFit(r.program, "investment", reason, (r.source[0],)) for r in rows]
        midsize = self.data.midsize
        if midsize and size.employees is not None and size.employees > midsize.employees_over:
            reason = (f"従業員{size.employees:,}人は中小企業の目安（{midsize.employees_over}人以下）を超え、"
                      "中堅企業向けのこの制度が合います")
            out += [SizeFit(p.program, "midsize", reason, (midsize.source[0], p.source[0])) for p in midsize.programs]
        return out

    def _investment_fit(self, text: str, size: StatedSize) -> MenuRow | None:
        """The 売上拡大 row with the smallest cap that covers the stated investment's subsidy, when the inquiry is about
        subsidies or investment and that row is not the smallest of all (an investment any program could carry says
        nothing about which)."""
        growth = sorted((r for r in self.data.menu if r.column == GROWTH), key=lambda r: r.cap_yen)
        if size.investment is None or not growth or not SUBSIDY_MATTER.search(text):
            return None
        fit = next((r for r in growth if r.cap_yen >= rate_value(r.rate) * size.investment), None)
        return fit if fit is not None and fit.cap_yen > growth[0].cap_yen else None

    def too_small(self, text: str, size: StatedSize) -> list[str]:
        """Programs that would carry less than TOO_SMALL_SHARE of the subsidy the fitting program gives on the stated
        investment (their largest cap, from the menu or the calculator's rules): 30億円 is not a 省力化 matter."""
        fit = self._investment_fit(text, size)
        if fit is None or size.investment is None:
            return []
        needed = rate_value(fit.rate) * size.investment
        covered = {r.program: min(r.cap_yen, rate_value(r.rate) * size.investment) for r in self.data.menu}
        for pid, rules in self.rules.items():
            covered[pid] = max(covered.get(pid, 0), rules.most_covered(size.investment))
        return [pid for pid, c in covered.items() if c < TOO_SMALL_SHARE * needed]


def load_size_table(corpus: Corpus, corpus_dir: Path, rules: dict[str, ProgramRules] | None = None) -> SizeTable:
    """``company_size.yaml``, strictly: unknown keys, unknown programs and quotes not on their slides are DataErrors."""
    path = corpus_dir / SIZE_FILE
    if not path.exists():
        return SizeTable(SizeFile(), rules)
    data = load_model(path, SizeFile)
    known = {p.id for p in corpus.registry.programs}
    texts = slide_texts(corpus)
    items = [(f"menu.{i}", row.program, row.source) for i, row in enumerate(data.menu)]
    if data.midsize:
        items.append(("midsize", None, data.midsize.source))
        items += [(f"midsize.programs.{i}", p.program, p.source) for i, p in enumerate(data.midsize.programs)]
    for where, program, sources in items:
        if program is not None and program not in known:
            raise DataError(f"{path.name}: {where}: 制度「{program}」は programs.yaml にありません。")
        for src in sources:
            if problem := source_problem(src, texts):
                raise DataError(f"{path.name}: {where}: {problem}")
    return SizeTable(data, rules)
