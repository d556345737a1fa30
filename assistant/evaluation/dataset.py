"""Evaluation datasets: the item schema (documented in docs/eval-dataset.md) and the loaders.

A dataset is a YAML list of items, a JSON list, JSONL (one item per line), or a YAML mapping
``{include: [...], items: [...]}`` that pulls in other dataset files; an include written ``{file: …, as: triage}``
reads a triage set (``eval/triage_dev.yaml``: ``text`` and the triage labels) as items of kind ``triage``.
Gold slides are a deck file plus a quoted snippet, located in the current segmentation at run time, so the gold
survives re-segmentation and new decks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import DataError
from ..ingest.corpus import Corpus
from ..text import clean_line, nfkc
from ..yamlio import first_problem

Kind = Literal["lookup", "paraphrase", "conflict", "out_of_scope", "manipulation", "calculation", "triage"]
KINDS: tuple[str, ...] = Kind.__args__  # type: ignore[attr-defined]


class Gold(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source_file: str
    quote: str
    role: Literal["newest", "older"] = "newest"


class Item(BaseModel):
    """One benchmark question. Which fields matter depends on ``kind``; see docs/eval-dataset.md."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1)
    kind: Kind
    question: str = Field(min_length=1)
    turns: list[str] = Field(default_factory=list)  # earlier user turns of the same conversation, oldest first
    gold: list[Gold] = Field(default_factory=list)
    expected: list[str] = Field(default_factory=list)  # fragments the answer must contain
    expected_yen: int | list[int] | None = None  # calculation: the subsidy, or [low, high] for a range
    must_abstain: bool = False
    forbidden: list[str] = Field(default_factory=list)  # regexes the answer must not match
    note: str = ""
    # triage labels (kind triage)
    programs: list[str] = Field(default_factory=list)
    acceptable: list[str] = Field(default_factory=list)
    contacts: list[str] = Field(default_factory=list)
    needs_human: bool | None = None
    category: str | None = None
    deadlines: list[str] = Field(default_factory=list)
    triage_kind: str | None = None
    triage_set: str | None = None  # the labelled set it comes from: triage runs without that set's examples

    @field_validator("forbidden")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        import re

        for p in patterns:
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"forbidden の正規表現「{p}」が不正です: {exc}") from exc
        return patterns

    @field_validator("expected_yen")
    @classmethod
    def _yen_range(cls, value: int | list[int] | None) -> int | list[int] | None:
        if isinstance(value, list) and (len(value) != 2 or value[0] > value[1]):
            raise ValueError("expected_yen の範囲は [下限, 上限] で書いてください")
        return value


def _triage_item(raw: dict, source: str) -> dict:
    """A triage-set entry (``text``, ``kind`` single/multi/…) of the file ``source`` as a benchmark item of kind
    triage."""
    out = {k: v for k, v in raw.items() if k not in ("text", "kind")}
    return {**out, "kind": "triage", "question": raw.get("text", ""), "triage_kind": raw.get("kind"),
            "triage_set": source}


def _read_raw(path: Path) -> object:
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix == ".jsonl":
        rows = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise DataError(f"評価データ {path.name} の {n} 行目が JSON ではありません: {exc.msg}") from exc
        return rows
    if path.suffix == ".json":
        return json.loads(text)
    return yaml.safe_load(text)


def load_dataset(path: Path, _seen: frozenset[Path] = frozenset()) -> list[Item]:
    """All items of a dataset file and the files it includes, in order. Ids must be unique across them."""
    path = path.resolve()
    if path in _seen:
        raise DataError(f"評価データ {path.name} が自分自身を含めています。")
    try:
        raw = _read_raw(path)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, json.JSONDecodeError) as exc:
        raise DataError(f"評価データ {path} を読めません: {exc}") from exc
    entries: list[dict] = []
    if isinstance(raw, dict):
        for inc in raw.get("include", []) or []:
            spec = inc if isinstance(inc, dict) else {"file": inc}
            sub = path.parent / str(spec.get("file", ""))
            if spec.get("as") == "triage":
                try:
                    rows = yaml.safe_load(sub.read_text(encoding="utf-8"))
                except (OSError, yaml.YAMLError) as exc:
                    raise DataError(f"評価データ {sub} を読めません: {exc}") from exc
                entries += [_triage_item(r, sub.name) for r in rows or []]
            else:
                entries += [i.model_dump() for i in load_dataset(sub, _seen | {path})]
        entries += list(raw.get("items", []) or [])
    elif isinstance(raw, list):
        entries = raw
    else:
        raise DataError(f"評価データ {path.name}: 項目のリスト（または include / items）ではありません。")
    items: list[Item] = []
    for n, entry in enumerate(entries, 1):
        try:
            items.append(Item.model_validate(entry))
        except ValidationError as exc:
            where = entry.get("id", f"{n}件目") if isinstance(entry, dict) else f"{n}件目"
            raise DataError(f"評価データ {path.name}: {where} の {first_problem(exc)}") from exc
    ids = [i.id for i in items]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise DataError(f"評価データ {path.name}: id が重複しています（{', '.join(dupes[:5])}）。")
    return items


def gold_slides(item: Item, corpus: Corpus) -> list[tuple[str, int]]:
    """The slides holding the item's gold quotes (newest-role quotes only)."""
    out: list[tuple[str, int]] = []
    for g in item.gold:
        if g.role != "newest":
            continue
        quote = clean_line(nfkc(g.quote)).strip()
        found = [s for s in corpus.deck_slides(g.source_file) if quote in s.text]
        if not found:
            raise DataError(f"評価データ {item.id}: 引用「{g.quote}」が {g.source_file} のスライドに見つかりません。")
        key = (found[0].source_file, found[0].number)
        if key not in out:
            out.append(key)
    return out
