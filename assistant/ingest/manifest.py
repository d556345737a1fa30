"""The corpus manifest: which decks exist, who issued them and when, how to segment them."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import DataError

MANIFEST_NAME = "manifest.yaml"


class Segmentation(BaseModel):
    """Line patterns (regular expressions, matched against NFKC lines) that bound slides."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    slide_start: list[str] = Field(default_factory=list)
    start_before: list[str] = Field(default_factory=list)
    slide_end: list[str] = Field(default_factory=list)
    end_continuation: list[str] = Field(default_factory=list)
    title: list[str] = Field(default_factory=list)


class Deck(BaseModel):
    """One deck entry of the manifest."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    file: str
    issuer: str
    date: dt.date
    date_label: str
    title: str
    format: Literal["markdown", "text", "pages"]
    date_approximate: bool = False
    notes: str = ""
    source: str = ""  # the original file the text was extracted from (a PDF added with `assistant add`)
    segmentation: Segmentation | None = None


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    decks: list[Deck]

    def deck(self, file: str) -> Deck:
        for d in self.decks:
            if d.file == file:
                return d
        raise DataError(f"資料「{file}」はマニフェストにありません。")

    def newest_first(self) -> list[Deck]:
        return sorted(self.decks, key=lambda d: (d.date, d.file), reverse=True)


def parse_manifest(text: str, path: Path) -> Manifest:
    try:
        return Manifest.model_validate(yaml.safe_load(text))
    except (yaml.YAMLError, ValidationError) as exc:
        raise DataError(f"マニフェスト {path} の形式が正しくありません: {exc}") from exc


def load_manifest(corpus_dir: Path) -> Manifest:
    """Load and check corpus/manifest.yaml; every listed file must exist, names must be unique."""
    path = corpus_dir / MANIFEST_NAME
    if not path.exists():
        raise DataError(f"マニフェスト {path} が見つかりません。corpus/ に manifest.yaml を置いてください。")
    manifest = parse_manifest(path.read_text(encoding="utf-8"), path)
    seen: set[str] = set()
    for deck in manifest.decks:
        if deck.file in seen:
            raise DataError(f"{path}: 資料「{deck.file}」が二重に登録されています。")
        seen.add(deck.file)
        if not (corpus_dir / deck.file).exists():
            raise DataError(f"{path}: 資料ファイル「{deck.file}」が corpus/ にありません。")
    return manifest


def manifest_with(corpus_dir: Path, deck: Deck) -> str:
    """The manifest's text with ``deck`` appended to ``decks`` (comments and layout kept), checked by parsing it."""
    path = corpus_dir / MANIFEST_NAME
    old_text = path.read_text(encoding="utf-8")
    old = parse_manifest(old_text, path)
    entry = yaml.safe_dump([deck.model_dump(exclude_defaults=True)], allow_unicode=True, sort_keys=False, width=1000)
    indents = re.findall(r"(?m)^( *)- file:", old_text) or ["  "]
    text = old_text.rstrip("\n") + "\n\n" + "".join(f"{indents[-1]}{line}\n" for line in entry.splitlines())
    try:
        ok = parse_manifest(text, path).decks == [*old.decks, deck]
    except DataError:
        ok = False
    if not ok:
        raise DataError(f"マニフェスト {path} に追記できません（decks: が最後の項目ではありません）。")
    return text
