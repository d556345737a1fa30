"""The corpus manifest: which decks exist, who issued them and when, how to segment them."""

from __future__ import annotations

import datetime as dt
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
    format: Literal["markdown", "text"]
    date_approximate: bool = False
    notes: str = ""
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


def load_manifest(corpus_dir: Path) -> Manifest:
    """Load and check corpus/manifest.yaml; every listed file must exist, names must be unique."""
    path = corpus_dir / MANIFEST_NAME
    if not path.exists():
        raise DataError(f"マニフェスト {path} が見つかりません。corpus/ に manifest.yaml を置いてください。")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        manifest = Manifest.model_validate(raw)
    except (yaml.YAMLError, ValidationError) as exc:
        raise DataError(f"マニフェスト {path} の形式が正しくありません: {exc}") from exc
    seen: set[str] = set()
    for deck in manifest.decks:
        if deck.file in seen:
            raise DataError(f"{path}: 資料「{deck.file}」が二重に登録されています。")
        seen.add(deck.file)
        if not (corpus_dir / deck.file).exists():
            raise DataError(f"{path}: 資料ファイル「{deck.file}」が corpus/ にありません。")
    return manifest
