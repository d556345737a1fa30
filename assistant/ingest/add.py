"""Add a deck to the corpus: check it, store its text in corpus/ and append its manifest entry — all or nothing.

A PDF is stored as ``<name>.txt`` (its pages separated by form feeds, format ``pages``: slide n = page n) with the
PDF's name in ``source``; a text or markdown file is stored under its own name. Every check runs before anything is
written; the deck file is created without overwriting anything, the manifest is replaced atomically, and if the
corpus then fails to load both are put back. A lock file serialises concurrent additions.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from ..errors import InputError
from ..text import nfkc
from .corpus import load_corpus
from .extract import Extracted, extract
from .manifest import MANIFEST_NAME, Deck, Manifest, load_manifest, manifest_with
from .segment import segment

LOCK_NAME = ".manifest.lock"
MAX_ISSUER = 100
MAX_TITLE = 200
EARLIEST = dt.date(2000, 1, 1)
_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_WAREKI = re.compile(r"^(令和|平成)(元|\d{1,2})年(\d{1,2})月(\d{1,2})日$")
_ERA_START = {"令和": 2018, "平成": 1988}


@dataclass(frozen=True)
class NewDeck:
    """What the user asked to add (``assistant add FILE --issuer … --date … [--title …]``)."""

    path: Path
    issuer: str | None
    date: str | None
    title: str | None = None
    date_label: str | None = None


@dataclass(frozen=True)
class Added:
    deck: Deck
    slides: int
    warnings: tuple[str, ...] = ()


def parse_deck_date(text: str | None, today: dt.date | None = None) -> dt.date:
    """2024-03-18, 2024/3/18 or 令和6年3月18日; not before 2000 and at most a year ahead."""
    raw = nfkc(text or "").strip().replace(" ", "")
    if not raw:
        raise InputError("--date で資料の日付を指定してください（例: 2026-06-01）。")
    try:
        if m := _DATE.match(raw):
            date = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        elif m := _WAREKI.match(raw):
            year = 1 if m.group(2) == "元" else int(m.group(2))
            date = dt.date(_ERA_START[m.group(1)] + year, int(m.group(3)), int(m.group(4)))
        else:
            raise ValueError(raw)
    except ValueError as exc:
        raise InputError(f"日付「{text}」が読めません。2026-06-01 のように 年-月-日 で指定してください。") from exc
    latest = (today or dt.date.today()) + dt.timedelta(days=366)
    if not EARLIEST <= date <= latest:
        raise InputError(f"日付「{text}」は範囲外です（{EARLIEST.isoformat()}〜{latest.isoformat()}）。")
    return date


def wareki(date: dt.date) -> str:
    """令和6年3月18日 (令和元年 for 2019), 平成 before 2019-05-01."""
    era, start = ("令和", 2018) if date >= dt.date(2019, 5, 1) else ("平成", 1988)
    year = date.year - start
    return f"{era}{'元' if year == 1 else year}年{date.month}月{date.day}日"


def _one_line(value: str | None, what: str, limit: int) -> str:
    text = " ".join(nfkc(value or "").split())
    if len(text) > limit:
        raise InputError(f"{what}が長すぎます（{len(text)}文字、{limit}文字まで）。")
    return text


def _normalised(text: str) -> str:
    return " ".join(nfkc(text).split())


def _check_new(corpus_dir: Path, manifest: Manifest, target: str, extracted: Extracted, source: str) -> None:
    """Refuse a deck already in the corpus: the same file name, the same PDF, or the same text."""
    for deck in manifest.decks:
        if deck.file == target:
            raise InputError(f"「{target}」は既に登録されています（{deck.issuer}、{deck.date_label}）。"
                             "別の資料なら名前を変えてから追加してください。")
        if source and deck.source == source:
            raise InputError(f"「{source}」は既に「{deck.file}」として登録されています。")
    if (corpus_dir / target).exists():
        raise InputError(f"corpus/ に同じ名前のファイル「{target}」があります（マニフェストには未登録）。"
                         "前回の追加が中断された可能性があります。ファイルを確認して移動してから追加し直してください。")
    mine = _normalised(extracted.text)
    for deck in manifest.decks:
        try:
            theirs = (corpus_dir / deck.file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if _normalised(theirs) == mine:
            raise InputError(f"同じ内容の資料が「{deck.file}」（{deck.issuer}、{deck.date_label}）として登録済みです。")


def _write_new(path: Path, text: str) -> None:
    """Create ``path`` with ``text`` in one step, never overwriting an existing file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    try:
        os.link(tmp, path)  # fails if the file exists
    except FileExistsError as exc:
        raise InputError(f"corpus/ に同じ名前のファイル「{path.name}」があります。") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _replace(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def add_deck(corpus_dir: Path, new: NewDeck, today: dt.date | None = None) -> Added:
    """Check ``new`` and add it to the corpus in ``corpus_dir``; on any error nothing is changed."""
    issuer = _one_line(new.issuer, "発行元", MAX_ISSUER)
    if not issuer:
        raise InputError("--issuer で資料の発行元を指定してください（例: 中国経済産業局）。")
    date = parse_deck_date(new.date, today)
    title = _one_line(new.title, "題名", MAX_TITLE)
    label = _one_line(new.date_label, "日付の表記", MAX_TITLE) or wareki(date)
    extracted = extract(new.path)
    source = new.path.name if extracted.format == "pages" else ""
    target = f"{new.path.stem}.txt" if source else new.path.name
    warnings: list[str] = []
    notes = ""
    if source:
        notes = f"{source}（{extracted.pages} ページ）から抽出したテキスト。1ページ = 1スライド。"
        if extracted.empty_pages:
            pages = ", ".join(map(str, extracted.empty_pages))
            notes += f"文字のないページ（画像のみ）: {pages}。"
            warnings.append(f"ページ {pages} には文字がありません（画像だけのページは検索の対象になりません）。")
    if extracted.encoding != "utf-8":
        warnings.append(f"{extracted.encoding} のテキストを UTF-8 に変換して保存しました。")
    lock = FileLock(str(corpus_dir / LOCK_NAME))
    try:
        lock.acquire(timeout=120)
    except Timeout as exc:
        raise InputError("別の資料の追加が終わりません。しばらくしてからやり直してください。") from exc
    try:
        manifest = load_manifest(corpus_dir)
        _check_new(corpus_dir, manifest, target, extracted, source)
        deck = Deck(file=target, issuer=issuer, date=date, date_label=label, title=title or "（題名なし）",
                    format=extracted.format, notes=notes, source=source)
        slides = segment(extracted.text, deck)
        if not slides:
            raise InputError(f"「{new.path.name}」からスライドを1枚も取り出せませんでした。")
        if not title:
            deck = deck.model_copy(update={"title": slides[0].title})
        manifest_path = corpus_dir / MANIFEST_NAME
        old_manifest = manifest_path.read_text(encoding="utf-8")
        new_manifest = manifest_with(corpus_dir, deck)
        _write_new(corpus_dir / target, extracted.text)
        try:
            _replace(manifest_path, new_manifest)
            load_corpus(corpus_dir)  # the whole corpus must still load (registry, synonyms, every deck)
        except BaseException:
            _replace(manifest_path, old_manifest)
            with contextlib.suppress(OSError):
                (corpus_dir / target).unlink()
            raise
    finally:
        lock.release()
    return Added(deck=deck, slides=len(slides), warnings=tuple(warnings))
