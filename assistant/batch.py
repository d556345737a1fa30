"""Reading batch files: JSONL of {"id", "question"}; bad lines are reported by number, good ones kept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from .errors import InputError


def read_text_file(path: Path) -> str:
    """UTF-8 (with or without BOM), else CP932 as Excel writes it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"ファイル {path} を読めません: {exc.strerror}") from exc
    if b"\x00" in data[:4096]:
        raise InputError(f"ファイル {path} はテキストではないようです。UTF-8 の JSONL を指定してください。")
    for enc in ("utf-8-sig", "cp932"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise InputError(f"ファイル {path} の文字コードを判別できません。UTF-8 で保存してください。")


def jsonl_lines(name: str, text: str, problems: list[str]) -> Iterator[tuple[int, object]]:
    """(line number, parsed value) of each non-blank line; a line that is not JSON is reported and skipped."""
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield n, json.loads(line)
        except json.JSONDecodeError:
            problems.append(f"{name} {n}行目: JSON として読めません。")


def read_questions(path: Path) -> tuple[list[tuple[str, str]], list[str]]:
    items: list[tuple[str, str]] = []
    problems: list[str] = []
    for n, obj in jsonl_lines(path.name, read_text_file(path), problems):
        if not isinstance(obj, dict) or not isinstance(obj.get("question"), str):
            problems.append(f'{path.name} {n}行目: "question" がありません。')
            continue
        items.append((str(obj.get("id", n)), obj["question"]))
    if not items and problems:
        raise InputError(f"{path.name}: 読める質問が1件もありません（{len(problems)}行に問題）。")
    return items, problems
