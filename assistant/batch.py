"""Reading batch files: JSONL of {"id", "question"}; bad lines are reported by number, good ones kept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from .errors import InputError
from .text import strip_controls

MAX_FILE_BYTES = 200 * 1024 * 1024  # a batch file larger than this is a mistake, not a batch
MAX_ID_CHARS = 200
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def read_text_file(path: Path) -> str:
    """UTF-8 (with or without BOM), UTF-16 with a BOM (Excel's 「Unicode テキスト」), else CP932 as Excel writes it."""
    try:
        if path.is_dir():
            raise InputError(f"{path} はフォルダです。ファイルを指定してください。")
        if path.stat().st_size > MAX_FILE_BYTES:
            limit = MAX_FILE_BYTES // 1024 // 1024
            raise InputError(f"ファイル {path} が大きすぎます（上限 {limit} MB）。分割してください。")
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"ファイル {path} を読めません: {exc.strerror or exc}") from exc
    if data.startswith(_UTF16_BOMS):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    elif b"\x00" not in data[:4096]:
        for enc in ("utf-8-sig", "cp932"):
            try:
                return data.decode(enc)
            except UnicodeDecodeError:
                continue
    else:
        raise InputError(
            f"ファイル {path} はテキストではないようです（画像や Excel ブックなど）。"
            "UTF-8 の JSONL か CSV を指定してください。"
        )
    raise InputError(f"ファイル {path} の文字コードを判別できません。UTF-8 で保存してください。")


def jsonl_lines(name: str, text: str, problems: list[str]) -> Iterator[tuple[int, object]]:
    """(line number, parsed value) of each non-blank line; a line that is not JSON is reported and skipped."""
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield n, json.loads(line)
        except (ValueError, RecursionError):  # JSONDecodeError, or nesting too deep to parse
            problems.append(f"{name} {n}行目: JSON として読めません。")


def clean_id(value: object, line: int) -> str:
    """An item's id as text without control characters; the line number when it has none."""
    if value is None or isinstance(value, dict | list):
        return str(line)
    text = " ".join(strip_controls(str(value)).split())[:MAX_ID_CHARS]
    return text or str(line)


def read_questions(path: Path) -> tuple[list[tuple[str, str]], list[str]]:
    items: list[tuple[str, str]] = []
    problems: list[str] = []
    for n, obj in jsonl_lines(path.name, read_text_file(path), problems):
        if not isinstance(obj, dict) or not isinstance(obj.get("question"), str):
            problems.append(f'{path.name} {n}行目: "question"（文字列）がありません。')
            continue
        items.append((clean_id(obj.get("id"), n), obj["question"]))
    if not items and problems:
        raise InputError(f"{path.name}: 読める質問が1件もありません（{len(problems)}行に問題）。")
    if not items:
        raise InputError(
            f'{path.name}: 質問が1件もありません。1行に1つ {{"id": ..., "question": ...}} を書いてください。'
        )
    return items, problems
