"""Subsidy rule data: dated editions of each program's frames, caps, rates and uplifts, every value with its slide.

The files live in ``corpus/rules/`` beside the decks they cite (``<program>.yaml``; worked cases in
``<program>.cases.yaml``; the vocabulary of company sizes and conditions in ``vocabulary.yaml``). The loader is strict:
unknown keys, duplicate keys, bad dates, unknown programs, sizes or conditions, and a quote that does not occur on its
cited slide are errors naming the file.
"""

from __future__ import annotations

import datetime as dt
import re
from fractions import Fraction
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from ..errors import DataError
from ..ingest.corpus import Corpus
from ..text import nfkc
from ..yamlio import load_yaml

RULES_DIR = "rules"
VOCABULARY_FILE = "vocabulary.yaml"
CASES_SUFFIX = ".cases.yaml"


def _rate(value: object) -> str:
    """A rate written as "1/2" (or "定額" for a fixed grant of the whole expense up to the cap)."""
    text = nfkc(str(value)).replace(" ", "")
    if text == "定額":
        return text
    if not re.fullmatch(r"[1-9]\d*/[1-9]\d*", text) or Fraction(text) > 1:
        raise ValueError(f"補助率「{value}」は 1/2 のような 1 以下の分数で書いてください")
    return text


Rate = Annotated[str, BeforeValidator(_rate)]


def rate_value(rate: str) -> Fraction:
    return Fraction(1) if rate == "定額" else Fraction(rate)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    """Where a value is written: deck file, slide number and a verbatim quote (NFKC, whitespace-insensitive)."""

    file: str
    slide: int = Field(ge=1)
    quote: str = Field(min_length=2)


def _sources(value: object) -> object:
    return [value] if isinstance(value, dict) else value


Sources = Annotated[list[Source], BeforeValidator(_sources), Field(min_length=1)]


class When(_Strict):
    """Applicability of a rule: every given key must hold (sizes: any of; conditions: all of)."""

    size: list[str] | None = None
    conditions: list[str] = Field(default_factory=list)
    employees_min: int | None = Field(default=None, ge=0)
    employees_max: int | None = Field(default=None, ge=0)

    def describe_plain(self) -> str:
        """The employee band only (sizes and conditions need the vocabulary's labels)."""
        if self.employees_min is None and self.employees_max is None:
            return ""
        return When(employees_min=self.employees_min, employees_max=self.employees_max).describe(_NO_VOCAB)

    def describe(self, vocab: Vocabulary) -> str:
        parts: list[str] = []
        if self.size:
            parts.append("・".join(vocab.size_label(s) for s in self.size))
        if self.employees_min is not None or self.employees_max is not None:
            lo = "" if self.employees_min is None else f"{self.employees_min}"
            hi = "" if self.employees_max is None else f"{self.employees_max}"
            parts.append(f"従業員{lo}~{hi}名" if lo and hi else (f"従業員{lo}名以上" if lo else f"従業員{hi}名以下"))
        parts.extend(vocab.condition_label(c) for c in self.conditions)
        return "、".join(parts)


class Cap(_Strict):
    """A cap on the subsidy: a fixed amount, or only a range when the deck gives no breakdown."""

    when: When = Field(default_factory=When)
    yen: int | None = Field(default=None, gt=0)
    range: tuple[int, int] | None = None  # [0, X] = "最大X": the deck gives no lower bound
    exclusive: bool = False  # "150万円未満": the cap itself is not reached
    source: Sources

    @model_validator(mode="after")
    def _one_form(self) -> Cap:
        if (self.yen is None) == (self.range is None):
            raise ValueError("補助上限は yen か range のどちらか一方で書いてください")
        if self.range is not None and not 0 <= self.range[0] < self.range[1]:
            raise ValueError(f"range {self.range} は 0 ≤ 下限 < 上限 にしてください（下限が資料にないときは 0）")
        return self


class Uplift(_Strict):
    """An addition to the cap when a special condition holds (インボイス特例 +50万円 …)."""

    label: str
    when: When
    add_yen: int | None = Field(default=None, gt=0)
    add_range: tuple[int, int] | None = None
    source: Sources

    @model_validator(mode="after")
    def _one_form(self) -> Uplift:
        if (self.add_yen is None) == (self.add_range is None):
            raise ValueError("上乗せは add_yen か add_range のどちらか一方で書いてください")
        return self


class Tier(_Strict):
    """One band of a tiered rate, measured on the subsidy amount: up to ``up_to_subsidy_yen`` at ``rate``."""

    up_to_subsidy_yen: int | None = Field(default=None, gt=0)
    rate: Rate


def _rates_of(rule: RateRule) -> list[str]:
    if rule.rate is not None:
        return [rule.rate]
    return [t.rate for t in rule.tiers] if rule.tiers is not None else list(rule.options or [])


class RateRule(_Strict):
    """The rate for the cases ``when`` covers: one rate, tiers on the subsidy amount, or options left open."""

    when: When = Field(default_factory=When)
    rate: Rate | None = None
    tiers: list[Tier] | None = None
    options: list[Rate] | None = None  # "1/2~2/3" with no rule for which applies
    source: Sources

    @model_validator(mode="after")
    def _one_form(self) -> RateRule:
        given = [x is not None for x in (self.rate, self.tiers, self.options)]
        if sum(given) != 1:
            raise ValueError("補助率は rate・tiers・options のどれか一つで書いてください")
        if self.tiers is not None:
            bounds = [t.up_to_subsidy_yen for t in self.tiers]
            if len(bounds) < 2 or bounds[-1] is not None or None in bounds[:-1]:
                raise ValueError("tiers は2段以上、最後の段だけ up_to_subsidy_yen を省略してください")
            if bounds[:-1] != sorted(set(bounds[:-1])):
                raise ValueError("tiers の up_to_subsidy_yen は昇順にしてください")
        if self.options is not None and len(self.options) < 2:
            raise ValueError("options には2つ以上の補助率を書いてください")
        return self


class Minimum(_Strict):
    """補助下限額: a computed subsidy below it is not eligible."""

    yen: int = Field(gt=0)
    source: Sources


class Frame(_Strict):
    """One frame (枠) or type (類型) of a program in one edition."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    aliases: list[str] = Field(default_factory=list)
    caps: list[Cap] = Field(min_length=1)
    uplifts: list[Uplift] = Field(default_factory=list)
    rates: list[RateRule] = Field(min_length=1)
    minimum: Minimum | None = None
    notes: str = ""

    def conditions(self) -> set[str]:
        """Every condition some rule of this frame depends on."""
        rules = [*self.caps, *self.uplifts, *self.rates]
        return {c for r in rules for c in r.when.conditions}


class Edition(_Strict):
    """The rules as one deck states them for one budget/call (R4補正, R5補正, 2026年 …)."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    label: str
    date: dt.date
    deck: str
    aliases: list[str] = Field(default_factory=list)
    frames: list[Frame] = Field(min_length=1)
    notes: str = ""

    def frame(self, frame_id: str) -> Frame | None:
        return next((f for f in self.frames if f.id == frame_id), None)


class ProgramRules(_Strict):
    program: str
    name: str
    editions: list[Edition] = Field(min_length=1)

    def newest_first(self) -> list[Edition]:
        return sorted(self.editions, key=lambda e: e.date, reverse=True)

    def edition(self, edition_id: str) -> Edition | None:
        return next((e for e in self.editions if e.id == edition_id), None)

    def most_covered(self, investment: int) -> Fraction:
        """The most subsidy the newest edition can give on ``investment``: over every frame, the largest cap with
        every uplift added, or the highest rate × investment when that is less (an upper bound, for triage)."""
        best = Fraction(0)
        for frame in self.newest_first()[0].frames:
            cap = max((c.yen if c.yen is not None else c.range[1]) for c in frame.caps)
            cap += sum((u.add_yen if u.add_yen is not None else u.add_range[1]) for u in frame.uplifts)
            rates = [rate_value(x) for r in frame.rates for x in _rates_of(r)]
            best = max(best, min(Fraction(cap), max(rates) * investment))
        return best


class Term(_Strict):
    label: str
    phrases: list[str] = Field(default_factory=list)
    notes: str = ""


class Industry(_Strict):
    """An industry group and the employee count up to which its firms are 小規模事業者."""

    label: str
    small_max_employees: int = Field(gt=0)
    phrases: list[str] = Field(default_factory=list)
    source: Sources


class Vocabulary(_Strict):
    """Company sizes, special conditions and industry groups, with the phrases that name them in questions."""

    sizes: dict[str, Term]
    conditions: dict[str, Term]
    industries: dict[str, Industry] = Field(default_factory=dict)

    def size_label(self, size: str) -> str:
        return self.sizes[size].label if size in self.sizes else size

    def condition_label(self, condition: str) -> str:
        return self.conditions[condition].label if condition in self.conditions else condition


_NO_VOCAB = Vocabulary(sizes={}, conditions={})


class Rulebook:
    """All programs' rules plus the vocabulary, loaded and checked."""

    def __init__(self, programs: dict[str, ProgramRules], vocabulary: Vocabulary, corpus: Corpus | None = None) -> None:
        self.programs = programs
        self.vocabulary = vocabulary
        self.corpus = corpus
        self.registry = corpus.registry if corpus is not None else None

    def get(self, program: str) -> ProgramRules | None:
        return self.programs.get(program)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", nfkc(text)).strip()


def slide_texts(corpus: Corpus) -> dict[tuple[str, int], str]:
    """Every slide's text as quotes are matched against it (NFKC, whitespace squashed), by (file, slide)."""
    return {(s.source_file, s.number): _squash(s.text) for s in corpus.slides}


def source_problem(src: Source, texts: dict[tuple[str, int], str]) -> str | None:
    """Why a source does not hold (its slide is missing, or the quote is not on it); None when it holds."""
    text = texts.get((src.file, src.slide))
    if text is None:
        return f"出典 {src.file} のスライド {src.slide} がありません"
    if _squash(src.quote) not in text:
        return f"引用「{src.quote}」が {src.file} のスライド {src.slide} にありません"
    return None


def _check(path: Path, rules: ProgramRules, corpus: Corpus, vocab: Vocabulary) -> None:
    def fail(where: str, msg: str) -> None:
        raise DataError(f"{path.name}: {where}: {msg}")

    try:
        corpus.registry.get(rules.program)
    except Exception:
        fail("program", f"「{rules.program}」は programs.yaml にありません")
    files = {d.file for d in corpus.manifest.decks}
    texts = slide_texts(corpus)
    for name, industry in vocab.industries.items():
        for src in industry.source:
            if problem := source_problem(src, texts):
                fail(f"{VOCABULARY_FILE} industries.{name}", problem)
    if len({e.id for e in rules.editions}) != len(rules.editions):
        fail("editions", "edition id が重複しています")
    for ed in rules.editions:
        if ed.deck not in files:
            fail(ed.id, f"資料「{ed.deck}」はマニフェストにありません")
        if len({f.id for f in ed.frames}) != len(ed.frames):
            fail(ed.id, "frame id が重複しています")
        for fr in ed.frames:  # a frame's own name must pick that frame alone, or 「どれですか？」 would never end
            clash = [
                o.id
                for o in ed.frames
                if o is not fr and _squash(fr.name) in {_squash(a) for a in [o.name, *o.aliases]}
            ]
            if clash:
                fail(f"{ed.id}.{fr.id}", f"枠名「{fr.name}」が別の枠（{', '.join(clash)}）の名前・別名と同じです")
        for fr in ed.frames:
            where = f"{ed.id}.{fr.id}"
            items = [*fr.caps, *fr.uplifts, *fr.rates, *([fr.minimum] if fr.minimum else [])]
            for item in items:
                when = getattr(item, "when", When())
                for size in when.size or []:
                    if size not in vocab.sizes:
                        fail(where, f"企業規模「{size}」は {VOCABULARY_FILE} にありません")
                for cond in when.conditions:
                    if cond not in vocab.conditions:
                        fail(where, f"条件「{cond}」は {VOCABULARY_FILE} にありません")
                for src in item.source:
                    if src.file not in files:
                        fail(where, f"出典の資料「{src.file}」はマニフェストにありません")
                    if problem := source_problem(src, texts):
                        fail(where, problem)


def rules_dir(corpus_dir: Path) -> Path:
    return corpus_dir / RULES_DIR


def load_vocabulary(corpus_dir: Path) -> Vocabulary:
    path = rules_dir(corpus_dir) / VOCABULARY_FILE
    if not path.exists():
        raise DataError(f"{path} が見つかりません。")
    try:
        return Vocabulary.model_validate(load_yaml(path))
    except ValidationError as exc:
        raise DataError(f"{path.name} の形式が正しくありません: {exc}") from exc


def load_rulebook(corpus: Corpus, corpus_dir: Path) -> Rulebook:
    """Load every ``corpus/rules/<program>.yaml`` and check it against the corpus and the vocabulary."""
    vocab = load_vocabulary(corpus_dir)
    programs: dict[str, ProgramRules] = {}
    for path in sorted(rules_dir(corpus_dir).glob("*.yaml")):
        if path.name == VOCABULARY_FILE or path.name.endswith(CASES_SUFFIX):
            continue
        try:
            rules = ProgramRules.model_validate(load_yaml(path))
        except ValidationError as exc:
            raise DataError(f"{path.name} の形式が正しくありません: {exc}") from exc
        _check(path, rules, corpus, vocab)
        if rules.program in programs:
            raise DataError(f"{path.name}: 制度「{rules.program}」の規則が別のファイルにもあります")
        programs[rules.program] = rules
    return Rulebook(programs, vocab, corpus)
