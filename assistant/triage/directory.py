"""Contacts and dates as written on the slides, per program: the help desk's directory, built once from the corpus.

Contacts come from the curated ``corpus/contacts.yaml`` (each value cited to the slide it is printed on, checked
on load) and, for a program that file does not list (a program a newly added deck introduces), from a scan of the
slides: phones, e-mails, URLs and 【問い合わせ】 windows on the slides about that program.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..directives import is_directive_line
from ..errors import DataError
from ..ingest.corpus import Corpus
from ..ingest.segment import Slide
from ..text import EMAIL, display_line, nfkc
from ..yamlio import load_model
from .profiles import owned_lines

CONTACTS_FILE = "contacts.yaml"

PHONE = re.compile(r"(?<![\d-])\(?0\d{1,4}\)?-\d{1,4}-\d{3,4}(?![\d-])")
URL = re.compile(r"https?://[^\s)）>」\]\"'、]+")
CONTACT_LABEL = re.compile(r"(問い?合わ?せ|問合せ|お問合せ|連絡先|電話|TEL|窓口|相談先)")
WINDOW_LABEL = re.compile(r"^【?(?:お?問い?合わ?せ先?|お問合せ先|問合せ先)】?\s*[:：]?\s*(.*)$")

DATE_PATTERNS = (
    (re.compile(r"(20\d\d)年\s*(\d{1,2})月\s*(\d{1,2})日"), "ymd"),
    (re.compile(r"令和\s*(\d{1,2}|元)年\s*(\d{1,2})月\s*(\d{1,2})日"), "reiwa"),
    (re.compile(r"(?<![\d年/])(\d{1,2})月\s*(\d{1,2})日"), "md"),
    (re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})\s*[（(][月火水木金土日][）)]"), "md"),  # 5/12 (火); not a rate 2/3
)
DEADLINE_WORDS = re.compile(r"(締切|締め切り|〆切|期限|厳守|まで)")
START_WORDS = re.compile(r"(開始|公開|受付開始|スタート)")
SCHEDULE_WORDS = re.compile(r"(締切|締め切り|受付|公募|応募|申請|期限|開催|日時|募集|期間|スケジュール|厳守)")


@dataclass(frozen=True)
class Contact:
    program: str
    kind: str  # phone / email / url / 窓口
    value: str  # exactly as written on the slide (NFKC)
    context: str  # the line it appears on
    source_file: str
    slide: int
    deck_date: dt.date
    labelled: bool  # on or right after an お問い合わせ label
    fallback: bool = False  # only a URL on a slide that names the program


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Where(_Strict):
    file: str
    slide: int = Field(ge=1)


class CuratedContact(_Strict):
    value: str = Field(min_length=2)
    kind: Literal["phone", "email", "url", "窓口"]
    source: _Where
    label: str = ""


class ContactsFile(_Strict):
    contacts: dict[str, list[CuratedContact]]


def load_curated(corpus: Corpus, path: Path) -> dict[str, list[Contact]]:
    """``contacts.yaml`` as Contacts, in the file's order. Refuses an unknown program or deck, and a value that is
    not printed on the slide it cites."""
    data = load_model(path, ContactsFile, {"contacts": {}})
    known = {p.id for p in corpus.registry.programs}
    out: dict[str, list[Contact]] = {}
    for program, items in data.contacts.items():
        if program not in known:
            raise DataError(f"{path.name}: 制度「{program}」は programs.yaml にありません。")
        out[program] = []
        for item in items:
            where = f"{item.source.file} スライド{item.source.slide}"
            try:
                slide = corpus.slide(item.source.file, item.source.slide)
            except KeyError:
                raise DataError(f"{path.name}: {program} の出典 {where} は資料にありません。") from None
            lines = [display_line(x) for x in nfkc(slide.text).split("\n")]
            line = next((x for x in lines if item.value in x), None)
            if line is None:
                raise DataError(f"{path.name}: {program} の「{item.value}」は {where} に書かれていません。")
            deck_date = corpus.deck(slide.source_file).date
            out[program].append(
                Contact(program, item.kind, item.value, line, slide.source_file, slide.number, deck_date, True)
            )
    return out


@dataclass(frozen=True)
class DatedLine:
    program: str
    date: dt.date
    kind: str  # 締切 / 開始 / 日程
    text: str
    source_file: str
    slide: int
    deck_date: dt.date


def _programs_of(slide: Slide) -> tuple[str, ...]:
    if slide.topic:
        return slide.topic[:1]
    return slide.programs if len(slide.programs) == 1 else ()


def _window_name(text: str) -> str:
    """「ものづくり補助金事務局サポートセンター 電話:」→ the 窓口's name; "" for a sentence that is not one."""
    name = re.sub(r"(電話|TEL|Tel|メール|E-?mail)\s*[:：]?\s*[、,]?\s*$", "", text.replace("[]", "")).strip(
        " ()（）:：、,"
    )
    if not name or len(name) > 40 or EMAIL.search(name) or re.match(r"^[はがのをにで]", name) or "ため" in name:
        return ""
    return name


def _dates(line: str, deck_date: dt.date) -> list[dt.date]:
    out: list[tuple[int, dt.date]] = []
    taken: list[tuple[int, int]] = []
    for pattern, form in DATE_PATTERNS:
        for m in pattern.finditer(line):
            if any(a <= m.start() < b for a, b in taken):
                continue
            try:
                if form == "ymd":
                    d = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
                elif form == "reiwa":
                    year = 1 if m.group(1) == "元" else int(m.group(1))
                    d = dt.date(2018 + year, int(m.group(2)), int(m.group(3)))
                else:
                    d = dt.date(deck_date.year, int(m.group(1)), int(m.group(2)))
                    if (deck_date - d).days > 180:  # 「3月15日」 on a deck of October means next year
                        d = d.replace(year=d.year + 1)
            except ValueError:
                continue
            taken.append((m.start(), m.end()))
            out.append((m.start(), d))
    return [d for _, d in sorted(out)]


class Directory:
    """Every contact and dated schedule line of every slide, by program."""

    def __init__(self, corpus: Corpus, contacts_file: Path | None = None) -> None:
        self.corpus = corpus
        self.contacts: dict[str, list[Contact]] = {}
        self.dates: dict[str, list[DatedLine]] = {}
        sections = owned_lines(corpus)
        for slide in corpus.slides:
            owners = {line: programs for line, programs, _ in reversed(sections[slide.slide_id])}
            self._scan(slide, _programs_of(slide), owners)
        for items in self.contacts.values():
            items.sort(key=lambda c: (c.fallback, not c.labelled, -c.deck_date.toordinal(), _KIND_ORDER[c.kind]))
        if contacts_file is not None and contacts_file.exists():
            self.contacts.update(load_curated(corpus, contacts_file))  # curated, in the help desk's order, wins

    def _scan(self, slide: Slide, programs: tuple[str, ...], sections: dict[str, tuple[str, ...]]) -> None:
        """Contacts and dated lines of one slide; ``sections`` gives, on a slide about no single program (a
        catalogue, or the ◆実施概要 continuing one), the program whose section a line is in: its dates are that
        program's."""
        deck_date = self.corpus.deck(slide.source_file).date
        lines = [display_line(x) for x in slide.text.split("\n")]
        lines = [x for x in lines if x and not is_directive_line(x)]  # no contact from an order to an AI
        label_until = -1
        prev_label = ""
        for i, line in enumerate(lines):
            labelled = bool(CONTACT_LABEL.search(line)) or i <= label_until
            if CONTACT_LABEL.search(line):
                label_until = i + 2
            window = WINDOW_LABEL.match(line)
            found: list[tuple[str, str]] = []
            found += [("phone", m.group(0).strip("()")) for m in PHONE.finditer(line)]
            found += [("email", m.group(0)) for m in EMAIL.finditer(line)]
            found += [("url", m.group(0).rstrip(".")) for m in URL.finditer(line) if "@" not in m.group(0)]
            if window:
                rest = window.group(1).strip()
                if not rest and i + 1 < len(lines):
                    rest = lines[i + 1]
                rest = _window_name(PHONE.sub("", URL.sub("", rest)))
                if rest:
                    found.append(("窓口", rest))
            # a contact belongs to the slide's topic, or to the programs named on its line or the two lines before;
            # failing both, a URL (a 出典 line) is a last-resort contact of every program the slide names
            owners = programs or tuple(self.corpus.registry.find(" ".join(lines[max(0, i - 2) : i + 1])))
            here = (line, slide.source_file, slide.number, deck_date)
            for program in owners:
                for kind, value in found:
                    contact = Contact(program, kind, value, *here, labelled=labelled and bool(programs))
                    self.contacts.setdefault(program, []).append(contact)
            if not owners:
                for program in slide.programs:
                    for kind, value in found:
                        if kind == "url":
                            contact = Contact(program, kind, value, *here, labelled=False, fallback=True)
                            self.contacts.setdefault(program, []).append(contact)
            dates = _dates(line, deck_date)
            if dates:
                context = f"{prev_label} {line}" if not SCHEDULE_WORDS.search(line) else line
                if SCHEDULE_WORDS.search(context):
                    for j, d in enumerate(dates):
                        if START_WORDS.search(line) and len(dates) == 1:
                            kind = "開始"
                        elif len(dates) > 1:
                            kind = "開始" if j == 0 and START_WORDS.search(context) else "締切"
                        elif DEADLINE_WORDS.search(context):
                            kind = "締切"
                        else:
                            kind = "日程"
                        for program in programs or sections.get(line, ())[:1]:
                            self.dates.setdefault(program, []).append(
                                DatedLine(program, d, kind, context.strip(), slide.source_file, slide.number, deck_date)
                            )
            if not dates:
                prev_label = line if SCHEDULE_WORDS.search(line) else prev_label

    def contacts_for(self, program: str, limit: int = 4) -> list[Contact]:
        """The program's contacts, labelled ones from the newest deck first, one of each value."""
        out: list[Contact] = []
        seen: set[str] = set()
        for c in self.contacts.get(program, []):
            if c.value not in seen:
                seen.add(c.value)
                out.append(c)
        return out[:limit]

    def dates_for(self, program: str) -> list[DatedLine]:
        """The program's dated schedule lines from its newest deck that has any."""
        items = self.dates.get(program, [])
        if not items:
            return []
        newest = max(d.deck_date for d in items)
        seen: set[tuple[dt.date, str]] = set()
        out = []
        for d in sorted((d for d in items if d.deck_date == newest), key=lambda d: d.date):
            if (d.date, d.kind) not in seen:
                seen.add((d.date, d.kind))
                out.append(d)
        return out


_KIND_ORDER = {"phone": 0, "email": 1, "窓口": 2, "url": 3}
