"""What each program's own slides say about it, for matching inquiries that describe a need without naming it.

A program's profile is the text the decks give *for that program*: every line of the slides whose topic it is, its
section of a catalogue slide (「4情報セキュリティ診断/…」 up to the next section; a table of contents opens none), the
table cells and sentences that name it, plus its registry name and summary (corpus/programs.yaml); another program's
name on one of these lines is left out, as it is that program's word. An inquiry is scored against every
profile with BM25 over programs, so a word counts in proportion to how few programs' slides use it
(「身代金」「報告」 point to one program, 「補助」 to many); words of the names the inquiry itself writes are left
out, because naming is scored on its own (an inquiry that names DX認定 but asks about 信用保証 is about the latter).
Words that differ but mean the same (銀行 / 金融機関) come from corpus/synonyms.yaml through the key terms. A dense
share (each profile's mean word vector against the inquiry's) was measured on 260 labelled inquiries
(2026-11-22) and removed: at 0.15 of the score it cost 4 top-3 hits and gained none.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from ..index.bm25 import terms
from ..ingest.corpus import Corpus
from ..ingest.programs import Registry
from ..ingest.segment import Slide
from ..text import display_line, nfkc

CONTENTS = re.compile(r"・{3,}|\.{4,}|…{2,}")  # the leader dots of a table of contents entry
NUMBERED = re.compile(r"^[\s(（]*[\d①-⑳]|^\s*[・•●◆■□○]")  # 「4」「(1)」「①」「・」: a list entry, not 「(J-Grants)」
KANA_ONLY = re.compile(r"[ぁ-ゖー]+")  # でき, かけ, くれる: the inflections of any request, no program's word
DOTTED = re.compile(r"^\s*\d{1,2}[.．](?!\d)")  # 「2.」: a numbered part of a slide about one program
DOTTED_CHARS = 60
PAGE_NUMBER = re.compile(r"\d{1,3}")  # a slide's page number, alone on its line
SECTION_NUMBER = re.compile(r"^[\s\d・•●◆■□○①-⑳()（）.．]+")  # 「4」「①」「・」 before a catalogue section's name
K1 = 1.2
B = 0.75
HEADING_CHARS = 40  # a line starting with a program's name opens its section only when it is this short
SENTENCE_CHARS = 30  # … and, unnumbered, only when the line after it is at least this long (a description)


@dataclass(frozen=True)
class Match:
    program: str
    score: float  # BM25 over programs; comparable across programs for one inquiry
    terms: tuple[str, ...]  # the inquiry's words that count most for it, best first


# A slide's displayed lines, each with the programs it speaks for and, for a program's profile, what it says about
# each of them (the line itself; for a table row, the cells naming the program with their row and column headers).
Owned = list[tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]]]


def owned_lines(corpus: Corpus) -> dict[str, Owned]:
    """Every non-empty line of every slide (as displayed) with the programs it speaks for. A table row: the programs
    it names, else the slide's. Another line: the program whose section it is in (the slide's topic or only
    program, or the last short line that began with a program's name: 「4情報セキュリティ診断/…」; on a slide about
    one program, a 「2.」 line naming one other), and any other program it names. A slide that names no program
    (◆実施概要) continues the last section of the slide before it in the same deck, as slide boundaries are
    heuristic."""
    registry = corpus.registry
    out: dict[str, Owned] = {}
    carry: tuple[str, str | None] = ("", None)  # (deck, the owner at the end of the previous slide)
    for slide in corpus.slides:
        owner = slide.topic[0] if slide.topic else (slide.programs[0] if len(slide.programs) == 1 else None)
        if not slide.programs and not slide.topic and carry[0] == slide.source_file:
            owner = carry[1]
        owned: Owned = []
        rows = [(raw, display_line(raw)) for raw in slide.text.split("\n")]
        rows = [(raw, line) for raw, line in rows if line]
        header: list[str] | None = None  # the cells of the current table's first row
        for i, (raw, line) in enumerate(rows):
            named = registry.find(line)
            if "\t" in raw or raw.lstrip().startswith("|"):
                split = raw.split("\t") if "\t" in raw else raw.strip().strip("|").split("|")
                cells = [display_line(c) for c in split]
                if header is None:
                    header = cells
                parts = _cell_parts(cells, header, registry) if named else ()
                programs = tuple(named) or ((owner,) if owner else ())
                owned.append((line, programs, parts or tuple((p, line) for p in programs)))
                continue
            header = None
            if CONTENTS.search(line) or (i and CONTENTS.search(rows[i - 1][1]) and len(line) <= HEADING_CHARS):
                owner = None  # 「(8) サプライチェーン・中小企業 ・・・ 30」 and its wrapped rest: a table of contents
            elif DOTTED.match(line) and len(line) <= DOTTED_CHARS and slide.topic:
                # 「2.税制による支援措置<DX投資促進税制>」 opens the measure it names; 「3.中小企業者を…」 the topic
                owner = named[0] if len(named) == 1 else slide.topic[0]
            elif _is_heading(raw, line, rows[i + 1][1] if i + 1 < len(rows) else "", bool(slide.topic)):
                owner = registry.named_at_start(SECTION_NUMBER.sub("", line)) or owner
            programs = tuple(dict.fromkeys([owner, *named] if owner else named))
            owned.append((line, programs, tuple((p, line) for p in programs)))
        out[slide.slide_id] = _trailing_headings(owned, registry)
        carry = (slide.source_file, owner)
    return out


def _trailing_headings(owned: Owned, registry: Registry) -> Owned:
    """A slide whose text ends with a short line naming a program after a sentence (「…受けられます。」
    「中小企業信用保険法の特例」) was extracted with each box's title below its box: there a short line naming a program
    closes its block, the lines back to the previous title or to the sentence that ends the block before it."""
    body = [i for i, (line, _p, _parts) in enumerate(owned) if not PAGE_NUMBER.fullmatch(line)]

    def title(i: int) -> str | None:
        line = owned[i][0]
        return registry.named_at_start(line) if len(line) <= HEADING_CHARS and not NUMBERED.match(line) else None

    if len(body) < 2 or not title(body[-1]) or not owned[body[-2]][0].endswith("。"):
        return owned
    out = list(owned)
    for k, i in enumerate(body):
        pid = title(i)
        if not pid:
            continue
        j = k - 1
        while j >= 0 and not title(body[j]) and (j == k - 1 or not owned[body[j]][0].endswith("。")):
            line, programs, _parts = owned[body[j]]
            programs = tuple(dict.fromkeys([pid, *registry.find(line)]))
            out[body[j]] = (line, programs, tuple((p, line) for p in programs))
            j -= 1
    return out


def _cell_parts(cells: list[str], header: list[str], registry: Registry) -> tuple[tuple[str, str], ...]:
    """A table row's cells that name programs, each with the row's first cell and its column's header: in the
    投資支援メニュー 「100億未満 10億円 … 成長加速化補助金 上限5億」 and 「事業承継・M&A補助金 上限2,000万」 sit in
    one row but in different columns."""
    out: list[tuple[str, str]] = []
    for j, cell in enumerate(cells):
        for pid in registry.find(cell):
            context = [header[j] if j < len(header) and header[j] != cell else "", cells[0] if j else ""]
            out.append((pid, " ".join([*context, cell]).strip()))
    return tuple(out)


def _is_heading(raw: str, line: str, after: str, topical: bool) -> bool:
    """Whether a line can open a program's section: a markdown heading; a short numbered line (「4情報セキュリティ
    診断/…」); or, on a slide without a topic, a short line followed by a sentence (「セキュリティ・ミニキャンプ」
    above its description), not by another fragment (a flow chart's 「jGrants」「(ID取得)」). On a slide about one
    program a bare mention of another (「(J-Grants)」) opens nothing."""
    if raw.lstrip().startswith("#"):
        return True
    if len(line) > HEADING_CHARS:
        return False
    numbered = bool(NUMBERED.match(line))
    return numbered or (not topical and len(after) >= SENTENCE_CHARS)


def without(text: str, forms: list[str] | tuple[str, ...]) -> str:
    """The text less the given program names (registry forms: NFKC, lower case, no spaces), longest first."""
    for form in sorted(forms, key=len, reverse=True):
        text = re.sub(r"\s*".join(map(re.escape, form)), " ", text, flags=re.IGNORECASE)
    return text


class ProgramProfiles:
    """BM25 over one document per program."""

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus
        lines: dict[str, list[str]] = {p.id: [p.name, *p.official_names, p.summary] for p in corpus.registry.programs}
        self._lines = owned_lines(corpus)
        registry = corpus.registry
        for owned in self._lines.values():
            for _line, _programs, parts in owned:
                for program, text in parts:
                    others = [f for pid in registry.find(text) if pid != program for f in registry.get(pid).forms]
                    lines[program].append(without(text, others) if others else text)
        self.text = {p: "\n".join(x for x in ls if x) for p, ls in lines.items()}
        self._tf = {p: Counter(terms(nfkc(t))) for p, t in self.text.items()}
        self._len = {p: sum(c.values()) for p, c in self._tf.items()}
        self._avg = sum(self._len.values()) / max(1, len(self._len))
        df: Counter[str] = Counter()
        for c in self._tf.values():
            df.update(c.keys())
        n = len(self._tf)
        self._idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}

    def owners(self, slide: Slide, text: str) -> tuple[str, ...]:
        """The programs the slide's line holding ``text`` (a sentence or row of it) speaks for, first the owner."""
        probe = text.split("\n")[0][:15]
        for line, programs, _parts in self._lines.get(slide.slide_id, []):
            if probe and probe in line:
                return programs
        return ()

    def match(self, key: list[str], named: set[str], limit: int = 5) -> list[Match]:
        """Programs whose profile best fits the inquiry's key terms, best first. Terms that make up the names of
        the programs in ``named`` do not count."""
        registry = self.corpus.registry
        name_terms = {t for pid in named for form in registry.get(pid).forms for t in terms(form)}
        key = [t for t in key if t not in name_terms and t in self._idf and not KANA_ONLY.fullmatch(t)]
        scores: dict[str, float] = {}
        parts: dict[str, list[tuple[float, str]]] = {}
        for pid, tf in self._tf.items():
            norm = K1 * (1 - B + B * self._len[pid] / self._avg)
            total = 0.0
            for t in key:
                f = tf.get(t)
                if f:
                    gain = self._idf[t] * f * (K1 + 1) / (f + norm)
                    total += gain
                    parts.setdefault(pid, []).append((gain, t))
            if total:
                scores[pid] = total
        ranked = sorted(scores.items(), key=lambda x: -x[1])[:limit]
        return [Match(pid, s, tuple(t for _, t in sorted(parts.get(pid, []), reverse=True)[:3])) for pid, s in ranked]
