"""Every figure in an answer must be traceable: to a cited slide, to a tool's output, or (where allowed) to what
the user wrote. A pure function of text; it runs on every answer (``assistant/answer/guard.py``) and is meant to be
reused for any generator's output.

A figure is an amount of money (1,250万円 = 12,500,000円 = 1250万円; 上限9,000万), a rate (50% = 1/2 = 5割 =
2分の1), a date (令和8年5月8日 = 2026年5月8日; 5月8日 matches any year), a phone number (digits compared), an e-mail
address or URL (compared as text), a count with its counter (5名 = 5人, 23次), an identifier with digits (R5), or a
bare number. A citation marker [n] must name one of the cited slides. Texts are NFKC-normalised first.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from ..text import EMAIL as EMAIL_ADDRESS
from ..text import nfkc
from ..tools.parse import find_money

YEN, RATIO, DATE, PHONE, EMAIL, URL, COUNT, IDENT, NUMBER, CITATION = (
    "yen", "ratio", "date", "phone", "email", "url", "count", "id", "number", "citation",
)
USER_KINDS = frozenset({YEN, COUNT, NUMBER})  # what users state about themselves: amounts, employees

_URL = re.compile(r"https?://[^\s)）>」』\]\"'、]+|www\.[A-Za-z0-9.-]+\.[A-Za-z]{2,}[^\s)）>」』\]\"'、]*")
_FILE = re.compile(r"[\w.-]+\.(?:txt|md|pdf|yaml|csv|jsonl?)\b")
_MARKER = re.compile(r"\[(\d{1,3})\]")
_SLIDE_NO = re.compile(r"スライド\s*(\d{1,4})")
_PHONE = re.compile(r"(?<![\d-])\(?0\d{1,4}\)?[-(]\d{1,4}[-)]\d{3,4}(?![\d-])|(?<![\d-])0(?:120|570|800)\d{6}(?![\d-])")
_ERA = {"令和": 2018, "平成": 1988, "R": 2018, "H": 1988}
_DATES = (
    re.compile(
        r"(?P<era>令和|平成)\s*(?P<y>\d{1,2}|元)\s*年(?P<fy>度)?(?:\s*(?P<m>\d{1,2})\s*月(?:\s*(?P<d>\d{1,2})\s*日)?)?"
    ),
    re.compile(r"(?<!\d)(?P<y>(?:19|20)\d\d)\s*年(?P<fy>度)?(?:\s*(?P<m>\d{1,2})\s*月(?:\s*(?P<d>\d{1,2})\s*日)?)?"),
    re.compile(r"(?<![\d.])(?P<y>(?:19|20)\d\d)[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?![\d.])"),
    re.compile(r"(?<![\d./])(?P<m>\d{1,2})\s*月\s*(?:(?P<d>\d{1,2})\s*日)?"),
    re.compile(r"(?<![\d./])(?P<m>\d{1,2})/(?P<d>\d{1,2})(?=\s*[(（][月火水木金土日])"),
)
_PERCENT = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*[%％]")
_FRACTION = re.compile(r"(?<![\d./])(\d{1,4})\s*/\s*(\d{1,4})(?![\d/])")
_BUNNO = re.compile(r"(?<!\d)(\d{1,3})\s*分の\s*(\d{1,3})")
_WARI = re.compile(r"(?<![\d.])(\d{1,2}(?:\.\d)?)\s*割")
_COUNTERS = (
    "時間", "日間", "か月", "ヶ月", "カ月", "ヵ月", "年間", "種類", "項目", "機能", "類型", "事業者",
    "人", "名", "者", "社", "件",
    "回", "次", "枠", "倍", "歳", "日", "週", "台", "個", "点", "店", "業種",
)
_COUNTER_ALIASES = {"名": "人", "ヶ月": "か月", "カ月": "か月", "ヵ月": "か月"}
_COUNT = re.compile(r"(?<![\d.,])(\d[\d,]*(?:\.\d+)?)\s*(万|億|千)?\s*(" + "|".join(_COUNTERS) + ")")
_MULTIPLIER = {"万": 10_000, "億": 100_000_000, "千": 1_000, None: 1}
_IDENT = re.compile(r"[A-Za-z][A-Za-z-]*\d+(?:\.\d+)?[A-Za-z\d-]*|(?<![\d.,])\d+[A-Za-z][A-Za-z\d-]*")
_NUMBER = re.compile(r"(?<![\d.,])\d[\d,]*(?:\.\d+)?")
_NEXT_IS_COUNTER = re.compile(r"\s*(?:者|人|名|社|件|回|次|時間|か所|店|個|台)")


@dataclass(frozen=True)
class Figure:
    """One figure in a text: as written, its kind and its canonical keys (any key found in the evidence grounds
    it); ``start``/``end`` index the NFKC text."""

    text: str
    kind: str
    keys: tuple[str, ...]
    start: int
    end: int


@dataclass(frozen=True)
class Evidence:
    """What may ground a figure. ``slides``: the cited slides' texts in citation order ([n] names slides[n-1]);
    ``tools``: tool inputs and outputs (dicts are flattened, see ``tool_text``); ``user``: what the user wrote;
    ``system``: the assistant's own fixed facts (its deck list, the names of 窓口 it refers to)."""

    slides: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    user: tuple[str, ...] = ()
    system: tuple[str, ...] = ()


@dataclass(frozen=True)
class Grounding:
    figures: tuple[Figure, ...]
    ungrounded: tuple[Figure, ...]
    user_provided: tuple[Figure, ...]  # found only in the user's own text, of a kind users may state

    @property
    def ok(self) -> bool:
        return not self.ungrounded

    def to_dict(self) -> dict:
        return {
            "checked": len(self.figures),
            "ungrounded": [{"text": f.text, "kind": f.kind} for f in self.ungrounded],
            "user_provided": [{"text": f.text, "kind": f.kind} for f in self.user_provided],
        }


# ------------------------------------------------------------------------------------------------ extraction


def _num(text: str) -> Fraction:
    return Fraction(text.replace(",", ""))


def _fmt(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def _date_keys(m: re.Match[str]) -> tuple[str, ...] | None:
    g = m.groupdict()
    year = None
    if g.get("y"):
        y = 1 if g["y"] == "元" else int(g["y"])
        year = _ERA[g["era"]] + y if g.get("era") else y
    month = int(g["m"]) if g.get("m") else None
    day = int(g["d"]) if g.get("d") else None
    if (month is not None and not 1 <= month <= 12) or (day is not None and not 1 <= day <= 31):
        return None
    if year and month and day:
        return (f"d:{year}-{month}-{day}",)
    if year and month:
        return (f"ym:{year}-{month}",)
    if year:
        return (f"fy:{year}",) if g.get("fy") else (f"y:{year}",)
    if month and day:
        return (f"md:{month}-{day}",)
    return (f"m:{month}",)


class _Text:
    """NFKC text with spans taken by earlier (more specific) patterns masked out."""

    def __init__(self, text: str) -> None:
        self.text = nfkc(text)
        self._free = list(self.text)

    @property
    def free(self) -> str:
        return "".join(self._free)

    def take(self, start: int, end: int) -> bool:
        if any(c == "\x00" for c in self._free[start:end]):
            return False
        self._free[start:end] = ["\x00"] * (end - start)
        return True


@lru_cache(maxsize=2048)
def extract_figures(text: str) -> tuple[Figure, ...]:
    """Every figure in ``text``, in order of position."""
    t = _Text(text)
    out: list[Figure] = []

    def add(m_start: int, m_end: int, kind: str, keys: Iterable[str]) -> None:
        while m_end > m_start and t.text[m_end - 1].isspace():
            m_end -= 1
        if t.take(m_start, m_end):
            out.append(Figure(t.text[m_start:m_end], kind, tuple(keys), m_start, m_end))

    for m in _URL.finditer(t.free):
        add(m.start(), m.end(), URL, (f"url:{m.group(0).rstrip('.,').lower()}",))
    for m in EMAIL_ADDRESS.finditer(t.free):
        add(m.start(), m.end(), EMAIL, (f"email:{m.group(0).lower()}",))
    for m in _FILE.finditer(t.free):
        add(m.start(), m.end(), IDENT, (f"id:{m.group(0).lower()}",))
    for m in _MARKER.finditer(t.free):
        add(m.start(), m.end(), CITATION, (f"cite:{int(m.group(1))}",))
    for m in _SLIDE_NO.finditer(t.free):
        add(m.start(), m.end(), IDENT, (f"slide:{int(m.group(1))}",))
    for m in _PHONE.finditer(t.free):
        add(m.start(), m.end(), PHONE, ("tel:" + re.sub(r"\D", "", m.group(0)),))
    for pattern in _DATES:
        for m in pattern.finditer(t.free):
            keys = _date_keys(m)
            if keys:
                add(m.start(), m.end(), DATE, keys)
    for m in _PERCENT.finditer(t.free):
        add(m.start(), m.end(), RATIO, (f"r:{_fmt(_num(m.group(1)) / 100)}",))
    for m in _BUNNO.finditer(t.free):
        if int(m.group(1)):
            add(m.start(), m.end(), RATIO, (f"r:{_fmt(Fraction(int(m.group(2)), int(m.group(1))))}",))
    for m in _FRACTION.finditer(t.free):
        if int(m.group(2)):
            add(m.start(), m.end(), RATIO, (f"r:{_fmt(Fraction(int(m.group(1)), int(m.group(2))))}",))
    for m in _WARI.finditer(t.free):
        add(m.start(), m.end(), RATIO, (f"r:{_fmt(_num(m.group(1)) / 10)}",))
    free = t.free
    for money in find_money(free):
        if "\x00" in free[money.start : money.end] or _NEXT_IS_COUNTER.match(free, money.end):
            continue  # 約0.9万者 is a count of companies, not money
        add(money.start, money.end, YEN, (f"yen:{money.yen}",))
    for m in _IDENT.finditer(t.free):
        add(m.start(), m.end(), IDENT, (f"id:{m.group(0).lower()}",))
    for m in _COUNT.finditer(t.free):
        counter = _COUNTER_ALIASES.get(m.group(3), m.group(3))
        value = _num(m.group(1)) * _MULTIPLIER[m.group(2)]
        add(m.start(), m.end(), COUNT, (f"n:{_fmt(value)}{counter}",))
    for m in _NUMBER.finditer(t.free):
        try:
            value = _num(m.group(0))
        except (ValueError, ZeroDivisionError):
            continue
        add(m.start(), m.end(), NUMBER, (f"v:{_fmt(value)}",))
    return tuple(sorted(out, key=lambda f: f.start))


def _values(fig: Figure) -> Iterable[str]:
    """Coarser keys a figure in the evidence also vouches for: its bare value, the parts of a date."""
    for key in fig.keys:
        yield key
        kind, _, rest = key.partition(":")
        if kind == "yen":
            yield f"v:{rest}"
            yen = int(rest)
            if yen % 10_000 == 0:
                yield f"v:{yen // 10_000}"  # 上限50万 → the 50 of 「50万円以下」 read as a count elsewhere
        elif kind == "n":
            yield "v:" + re.match(r"[\d/]+", rest).group(0)
        elif kind == "d":
            y, mo, d = rest.split("-")
            yield from (f"ym:{y}-{mo}", f"md:{mo}-{d}", f"y:{y}", f"fy:{y}", f"m:{mo}", f"v:{d}", f"v:{mo}")
        elif kind == "ym":
            y, mo = rest.split("-")
            yield from (f"y:{y}", f"fy:{y}", f"m:{mo}", f"v:{mo}")
        elif kind == "md":
            mo, d = rest.split("-")
            yield from (f"m:{mo}", f"v:{mo}", f"v:{d}")
        elif kind in ("y", "fy"):
            yield from (f"y:{rest}", f"fy:{rest}", f"v:{rest}")
        elif kind == "m" or kind == "r":
            yield f"v:{rest}"


@lru_cache(maxsize=1024)
def _keys_of(text: str) -> frozenset[str]:
    return frozenset(k for fig in extract_figures(text) for k in _values(fig))


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", nfkc(text)).lower()


def tool_text(value: object, key: str = "") -> str:
    """A tool's input or output as text for the evidence: strings as they are, ``*_yen`` integers as 円."""
    if isinstance(value, Mapping):
        return "\n".join(tool_text(v, str(k)) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return "\n".join(tool_text(v, key) for v in value)
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return ""
        number = int(value) if float(value).is_integer() else value
        return f"{number}円" if key.endswith("yen") else str(number)
    return str(value)


def check_figures(text: str, evidence: Evidence, user_kinds: Iterable[str] = USER_KINDS) -> Grounding:
    """Which figures of ``text`` the evidence does not ground. A figure is grounded when one of its keys occurs among
    the figures of a slide, a tool text or the system text, or when it occurs there literally (spaces ignored);
    a figure found only in the user's text is accepted when its kind is in ``user_kinds`` (amounts and counts the
    user states about themselves; never a rate, date, phone number or address)."""
    figures = extract_figures(text)
    trusted = (*evidence.slides, *evidence.tools, *evidence.system)
    keys: set[str] = set()
    for source in trusted:
        keys |= _keys_of(source)
    flat = "\n".join(_squash(s) for s in trusted)
    user_keys: set[str] = set()
    for source in evidence.user:
        user_keys |= _keys_of(source)
    user_flat = "\n".join(_squash(s) for s in evidence.user)
    allowed = frozenset(user_kinds)
    ungrounded: list[Figure] = []
    from_user: list[Figure] = []
    for fig in figures:
        if fig.kind == CITATION:
            if not 1 <= int(fig.keys[0].split(":")[1]) <= len(evidence.slides):
                ungrounded.append(fig)
            continue
        if any(k in keys for k in fig.keys) or _squash(fig.text) in flat:
            continue
        if fig.kind in allowed and (any(k in user_keys for k in fig.keys) or _squash(fig.text) in user_flat):
            from_user.append(fig)
            continue
        ungrounded.append(fig)
    return Grounding(figures, tuple(ungrounded), tuple(from_user))


def slide_evidence(citations: Sequence) -> tuple[str, ...]:
    """Each cited slide's text headed by what the answer may say about it: file, slide number, title, issuer, date."""
    return tuple(
        f"{c.source_file} スライド{c.slide} {c.title} {c.issuer} {c.date_label} {c.date}\n{c.text}" for c in citations
    )
