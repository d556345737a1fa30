"""Read a deck a user adds: a PDF (one page = one slide, text layer extracted with pypdf), a text or a markdown file.

Everything that is not usable text is refused with a Japanese message (InputError): missing or empty files,
unsupported extensions, binary data, files in an unknown encoding, PDFs that are damaged, password-protected or
have no text layer (scanned pages are not OCR'd).
"""

from __future__ import annotations

import io
import logging
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

FORMATS = {".pdf": "pages", ".txt": "text", ".md": "markdown", ".markdown": "markdown"}
MAX_BYTES = 100 * 1024 * 1024
MAX_PAGES = 3000
MAX_GARBLED = 0.3  # share of replacement, private-use or control characters that makes extracted text unusable


@dataclass(frozen=True)
class Extracted:
    """A deck's text as it will be stored in corpus/ (UTF-8), and how it reads."""

    text: str
    format: str  # manifest format: pages (from a PDF), text or markdown
    pages: int = 0  # PDF pages, 0 for text files
    empty_pages: tuple[int, ...] = ()  # PDF pages without text (images only)
    encoding: str = "utf-8"


def extract(path: Path) -> Extracted:
    """The usable text of ``path``, or an InputError saying what is wrong and what to do."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise InputError(f"ファイル「{path}」が見つかりません。パスを確認してください。")
    if not path.is_file():
        raise InputError(f"「{path}」はファイルではありません。")
    if suffix not in FORMATS:
        known = "、".join(FORMATS)
        raise InputError(f"「{path.name}」は追加できない形式です。{known} のファイルを指定してください"
                         "（PowerPoint や Word は PDF に書き出してから追加してください）。")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"ファイル「{path}」を読めません: {exc.strerror or exc}") from exc
    if not data.strip():
        raise InputError(f"ファイル「{path.name}」は空です。")
    if len(data) > MAX_BYTES:
        raise InputError(
            f"ファイル「{path.name}」が大きすぎます（{len(data) // 2**20} MB、上限 {MAX_BYTES // 2**20} MB）。")
    if suffix == ".pdf":
        return _pdf(path.name, data)
    return _text(path.name, data, FORMATS[suffix])


def _text(name: str, data: bytes, fmt: str) -> Extracted:
    if b"\x00" in data:
        raise InputError(f"「{name}」はテキストファイルではありません（バイナリデータです）。")
    for encoding in ("utf-8-sig", "cp932"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InputError(f"「{name}」の文字コードを判別できません。UTF-8 か Shift_JIS のテキストにしてください。")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _garbled_share(text, allow="\n\t\f") > MAX_GARBLED / 10:
        raise InputError(f"「{name}」はテキストファイルではありません（制御文字が多すぎます）。")
    if not text.strip():
        raise InputError(f"ファイル「{name}」には文字がありません。")
    return Extracted(text=text, format=fmt, encoding="utf-8" if encoding == "utf-8-sig" else encoding)


def _pdf(name: str, data: bytes) -> Extracted:
    if b"%PDF-" not in data[:1024]:
        raise InputError(f"「{name}」は PDF ではありません（壊れているか、拡張子が違います）。")
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # recoverable syntax warnings are not the user's concern
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise InputError(f"「{name}」はパスワードで保護されています。保護を外した PDF を指定してください。")
        count = len(reader.pages)
        if count > MAX_PAGES:
            raise InputError(f"「{name}」はページが多すぎます（{count} ページ、上限 {MAX_PAGES}）。")
        pages = [_clean_page(page.extract_text() or "") for page in reader.pages]
    except InputError:
        raise
    except Exception as exc:  # pypdf raises many kinds of errors on damaged files
        raise InputError(f"PDF「{name}」を読めません（壊れている可能性があります）: {type(exc).__name__}") from exc
    if not pages:
        raise InputError(f"PDF「{name}」にページがありません。")
    empty = tuple(i for i, p in enumerate(pages, start=1) if not p.strip())
    if len(empty) == len(pages):
        raise InputError(f"PDF「{name}」から文字を取り出せませんでした。スキャンした画像だけの PDF は文字認識（OCR）"
                         "していないため追加できません。文字情報のある PDF か、テキストファイルを指定してください。")
    text = "\n".join(f"\f{p}" if i else p for i, p in enumerate(pages))
    if _garbled_share(text, allow="\n\t\f") > MAX_GARBLED:
        raise InputError(f"PDF「{name}」の文字が正しく取り出せません（文字化けしています）。"
                         "テキストファイルに変換してから追加してください。")
    return Extracted(text=text + "\n", format="pages", pages=len(pages), empty_pages=empty)


def _clean_page(text: str) -> str:
    """One page's text: lines as extracted, trailing spaces and form feeds removed."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n").replace("\x00", "").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n")


def _garbled_share(text: str, allow: str) -> float:
    chars = [c for c in text if not c.isspace() or c in allow]
    if not chars:
        return 0.0
    bad = sum(1 for c in chars if c not in allow and (c == "\ufffd" or unicodedata.category(c) in ("Co", "Cc")))
    return bad / len(chars)
