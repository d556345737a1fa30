"""Triage files in and out: JSONL or CSV with ``id, text`` (UTF-8, UTF-8 with BOM, Shift-JIS/CP932 as Excel saves
it); bad lines are reported by number and the good ones kept; output is written atomically (no partial file)."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from ..batch import clean_id, jsonl_lines, read_text_file
from ..errors import InputError
from ..text import strip_controls

ID_COLUMNS = ("id", "ID", "番号", "受付番号", "No", "no")
TEXT_COLUMNS = ("text", "本文", "内容", "問い合わせ内容", "お問い合わせ内容", "inquiry")
MAX_TEXT_CHARS = 20_000
CSV_COLUMNS = (
    "id",
    "category",
    "needs_human",
    "needs_human_reasons",
    "programs",
    "contacts",
    "deadlines",
    "reply",
    "citations",
)


def _looks_like_jsonl(path: Path, text: str) -> bool:
    if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        return True
    if path.suffix.lower() in (".csv", ".tsv", ".txt"):
        return False
    first = next((line for line in text.splitlines() if line.strip()), "")
    return first.lstrip().startswith("{")


def _check(n: int, name: str, iid: object, text: object, problems: list[str]) -> tuple[str, str] | None:
    if not isinstance(text, str):
        problems.append(f"{name} {n}行目: 問い合わせ本文（text）が空か、文字列ではありません。")
        return None
    if len(text) > MAX_TEXT_CHARS:
        problems.append(f"{name} {n}行目: 本文が長すぎます（{len(text):,}文字、上限{MAX_TEXT_CHARS:,}文字）。")
        return None
    text = strip_controls(text).strip()
    if not text:
        problems.append(f"{name} {n}行目: 問い合わせ本文（text）が空です。")
        return None
    return clean_id(iid, n), text


def _csv_rows(name: str, reader: csv.DictReader, problems: list[str]) -> Iterable[tuple[int, dict]]:
    """(line number, row) of each readable row; a malformed row (a stray quote, a huge field) is reported and
    the rows after it are still read."""
    last = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            problems.append(f"{name} {last + 1}行目: CSV として読めません（{_csv_reason(exc)}）。")
            last = reader.line_num
            continue
        last = reader.line_num
        yield last, row


def _csv_reason(exc: csv.Error) -> str:
    msg = str(exc)
    if "field limit" in msg:
        return "項目が長すぎます"
    if "end of data" in msg:
        return "引用符 \" が閉じられていません"
    if "expected after" in msg:
        return "引用符 \" の後に区切りがありません"
    return msg


def read_inquiries(path: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """(id, text) pairs in file order, and the problems of the lines that could not be used."""
    text = read_text_file(path)
    items: list[tuple[str, str]] = []
    problems: list[str] = []
    if _looks_like_jsonl(path, text):
        for n, obj in jsonl_lines(path.name, text, problems):
            if not isinstance(obj, dict):
                problems.append(f'{path.name} {n}行目: {{"id": ..., "text": ...}} の形ではありません。')
                continue
            item = _check(n, path.name, obj.get("id"), obj.get("text"), problems)
            if item:
                items.append(item)
    else:
        try:
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;") if text.strip() else csv.excel
        except csv.Error:
            dialect = csv.excel
        reader = csv.DictReader(io.StringIO(text), dialect=dialect, strict=True)
        try:
            fields = reader.fieldnames or []
        except csv.Error as exc:
            raise InputError(f"{path.name}: 1行目（列名）を CSV として読めません（{exc}）。") from exc
        id_col = next((c for c in fields if c.strip() in ID_COLUMNS), None)
        text_col = next((c for c in fields if c.strip() in TEXT_COLUMNS), None)
        if text_col is None:
            raise InputError(
                f"{path.name}: 1行目に列名 id, text が必要です（見つかった列: {', '.join(fields) or 'なし'}）。"
            )
        for n, row in _csv_rows(path.name, reader, problems):
            if None in row:
                problems.append(f"{path.name} {n}行目: 列の数が見出しより多くなっています。")
                continue
            item = _check(n, path.name, row.get(id_col) if id_col else None, row.get(text_col), problems)
            if item:
                items.append(item)
    if not items and problems:
        raise InputError(f"{path.name}: 読める問い合わせが1件もありません（{len(problems)}行に問題）。")
    if not items:
        raise InputError(f"{path.name}: 問い合わせが1件もありません。")
    return items, problems


def csv_row(result: dict) -> dict:
    """One triage result flattened for Excel."""
    return {
        "id": result["id"],
        "category": result["category"],
        "needs_human": "要確認" if result["needs_human"] else "",
        "needs_human_reasons": " / ".join(result["needs_human_reasons"]),
        "programs": " / ".join(f"{p['name']}（{p['score']:.2f}: {p['reason']}）" for p in result["program_details"]),
        "contacts": " / ".join(result["contacts"]),
        "deadlines": " / ".join(
            f"{d['program']} {d['kind']} {d['date']}{'（終了）' if d['past'] else ''}" for d in result["deadlines"]
        ),
        "reply": result["reply"],
        "citations": " / ".join(f"{c['source_file']}#{c['slide']}" for c in result["citations"]),
    }


def write_atomic(path: Path, chunks: Iterable[str], encoding: str = "utf-8") -> None:
    """Write to a temporary file beside ``path`` and rename it into place; on any error nothing is left behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as f:
            for chunk in chunks:
                f.write(chunk)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def csv_text(results: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for r in results:
        writer.writerow(csv_row(r))
    return buf.getvalue()
