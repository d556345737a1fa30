"""The program registry (corpus/programs.yaml): names, aliases, tagging and query expansion."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import DataError
from ..text import katakana, nfkc, reading

REGISTRY_NAME = "programs.yaml"
Category = Literal["補助金", "人材育成", "セキュリティ", "相談窓口", "その他"]


class Program(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    name: str
    official_names: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list)
    category: Category
    renamed: object | None = None
    summary: str = ""
    decks: list[str] = Field(default_factory=list)
    part_of: str | None = None  # the program this is a part of (マナビDX: 1層 of 地域デジタル人材育成・確保推進事業)

    @cached_property
    def forms(self) -> tuple[str, ...]:
        """Every way the program is written, NFKC and lower-cased, longest first (computed once: ``find`` runs on
        every slide and question)."""
        forms = {_key(x) for x in [self.name, *self.official_names, *self.aliases] if x}
        return tuple(sorted(forms, key=len, reverse=True))

    def surface_forms(self) -> list[str]:
        return list(self.forms)

    @cached_property
    def loose_forms(self) -> tuple[str, ...]:
        """The forms ``Registry.find_loose`` compares: in katakana, and long enough for a slip to be one."""
        return tuple(f for f in (katakana(x) for x in self.forms) if len(f) >= LOOSE_MIN_CHARS)


    @cached_property
    def readings(self) -> tuple[str, ...]:
        """How its names sound (``reading``), for a name written in kana or with a kanji of the same sound
        (じぞく化補助金, 補助禁); only those long enough not to be an ordinary word's sound."""
        return tuple(dict.fromkeys(r for r in (reading(x) for x in self.forms) if len(r) >= READING_MIN_CHARS))


LOOSE_MIN_CHARS = 6  # shorter names are too easily one slip away from an ordinary word
READING_MIN_CHARS = 8  # … and shorter sounds too easily an ordinary word's (ジゾクカホジョキン is nine)


# a word a caller puts where they forget part of a name (生産性なんとか革命), as loose_key writes it
_PLACEHOLDER = re.compile(
    r"ナントカ|ナンチャラ|ナンタラ|ナニナニ|ナンヤラ|ホニャララ|何トカ|何チャラ|何タラ|何々|[○〇◯×]{2,}"
)
GAP_MIN_CHARS = 5  # the name's parts around a forgotten word, in all: 生産性 + 革命, もの + 補助金, it + 補助金
GAP_REACH = 30  # characters each side of it that may be the name's


def _around_gap(form: str, before: str, after: str) -> bool:
    """Whether ``form`` has what comes just before a placeholder (two characters or more) and, later, what comes
    just after it (two or more), five in all: 生産性なんとか革命 is 生産性革命推進事業; 補助金なんとかして is
    no name."""
    for i in range(len(before), 1, -1):
        at = form.find(before[-i:])
        if at == -1:
            continue
        rest = form[at + i :]
        j = next((j for j in range(min(len(after), len(rest)), 1, -1) if after[:j] in rest), 0)
        return j >= 2 and i + j >= GAP_MIN_CHARS
    return False


def _slips(form: str) -> int:
    """The wrong characters a name may have and still be that name: one, two in ten or more."""
    return 1 if len(form) < 10 else 2


def _key(s: str) -> str:
    return nfkc(s).lower().replace(" ", "").replace("\u3000", "")


@dataclass(frozen=True)
class Registry:
    programs: tuple[Program, ...]

    def parts(self, program_id: str) -> list[str]:
        """The programs that are parts of ``program_id`` (its 1層, 2層 …; its (1), (2) …)."""
        return [p.id for p in self.programs if p.part_of == program_id]

    def get(self, program_id: str) -> Program:
        for p in self.programs:
            if p.id == program_id:
                return p
        raise DataError(f"施策ID「{program_id}」は登録されていません。")

    def find(self, text: str) -> list[str]:
        """Ids of programs named in ``text``, in order of first mention; a longer name wins over its substrings."""
        hay = _key(text)
        spans: list[tuple[int, int, str]] = []
        for p in self.programs:
            for form in p.forms:
                start = hay.find(form)
                while start != -1:
                    spans.append((start, start + len(form), p.id))
                    start = hay.find(form, start + 1)
        spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
        found: list[str] = []
        covered_until = -1
        for _start, end, pid in spans:
            if end <= covered_until:
                continue  # inside a longer name already matched
            covered_until = max(covered_until, end)
            if pid not in found:
                found.append(pid)
        return found

    @staticmethod
    def loose_key(text: str) -> str:
        """``text`` as ``find_loose`` compares it (NFKC, lower case, no spaces, katakana)."""
        return katakana(_key(text))

    def find_loose(self, text: str, in_use: str = "") -> list[str]:
        """Programs named with a slip: hiragana for katakana (あかつきプロジェクト), one wrong character in a name
        of six or more (ものづくり捕助金; two in ten or more), or a name that sounds the same (じぞく化補助金).
        For inquiries typed by people; slides use ``find``.
        A near match that the decks themselves write (``in_use``, a ``loose_key`` of their text) is a phrase of its
        own, not a slip: 情報セキュリティ対策 is not 情報セキュリティ診断 misspelt."""
        from rapidfuzz import fuzz
        from rapidfuzz.distance import Levenshtein

        hay = self.loose_key(text)
        found: list[str] = []
        for p in self.programs:
            for form in p.loose_forms:
                if form in hay:
                    found.append(p.id)
                    break
                at = fuzz.partial_ratio_alignment(form, hay)
                if at is None:
                    continue
                window = hay[at.dest_start : at.dest_end]
                if Levenshtein.distance(form, window) <= _slips(form) and not (in_use and window in in_use):
                    found.append(p.id)
                    break
        sound = reading(text) if len(found) < len(self.programs) else ""
        found += [p.id for p in self.programs if p.id not in found and any(r in sound for r in p.readings)]
        gaps = [(hay[max(m.start() - GAP_REACH, 0) : m.start()], hay[m.end() : m.end() + GAP_REACH])
                for m in _PLACEHOLDER.finditer(hay)]
        for p in self.programs if gaps else ():
            if p.id not in found and any(_around_gap(form, *gap) for form in p.loose_forms for gap in gaps):
                found.append(p.id)  # 生産性なんとか革命: the name with a word the caller has forgotten
        return found

    def is_slip_for(self, name: str, program: str) -> bool:
        """Whether ``name`` as a whole is one of the program's names written with a slip (省力可補助金), not a longer
        name that only contains one (中小企業デジタル化応援補助金 ⊃ デジタル化補助金)."""
        from rapidfuzz.distance import Levenshtein

        hay, sound = katakana(_key(name)), reading(name)
        p = self.get(program)
        return any(Levenshtein.distance(f, hay) <= _slips(f) for f in p.loose_forms) or any(
            Levenshtein.distance(r, sound) <= _slips(r) for r in p.readings
        )

    def named_at_start(self, text: str) -> str | None:
        """The program whose name (or alias) the text begins with: a catalogue section's heading."""
        hay = _key(text)
        heads = [(len(f), p.id) for p in self.programs for f in p.surface_forms() if hay.startswith(f)]
        best = max(heads, default=None)
        return best[1] if best else None

    def expansion(self, program_ids: list[str], question: str = "") -> str:
        """Other names of the programs the question names (IT導入補助金 → デジタル化・AI導入補助金), for query
        expansion. Names already in the question are not repeated, so expansion never drowns its specific terms."""
        asked = _key(question)
        parts: list[str] = []
        for pid in program_ids:
            p = self.get(pid)
            for form in [p.name, *p.official_names[:1]]:
                if _key(form) not in asked and form not in parts:
                    parts.append(form)
        return " ".join(parts)


def load_registry(corpus_dir: Path) -> Registry:
    path = corpus_dir / REGISTRY_NAME
    if not path.exists():
        return Registry(programs=())
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        programs = [Program.model_validate(p) for p in raw.get("programs", [])]
    except (yaml.YAMLError, ValidationError, AttributeError) as exc:
        raise DataError(f"施策レジストリ {path} の形式が正しくありません: {exc}") from exc
    seen: dict[str, str] = {}
    for p in programs:
        if p.id in seen.values():
            raise DataError(f"{path}: 施策ID「{p.id}」が重複しています。")
        for form in p.surface_forms():
            if form in seen and seen[form] != p.id:
                raise DataError(f"{path}: 名称「{form}」が「{seen[form]}」と「{p.id}」の両方に登録されています。")
            seen[form] = p.id
    ids = {p.id for p in programs}
    for p in programs:
        if p.part_of is not None and (p.part_of not in ids or p.part_of == p.id):
            raise DataError(f"{path}: 施策「{p.id}」の part_of「{p.part_of}」は登録されていません。")
    return Registry(programs=tuple(programs))
