"""Personal data in what people type: masked before anything is logged or stored.

By default no question or inquiry text is logged. ``ASSISTANT_LOG_QUESTIONS=1`` turns on a JSONL log for evaluators
(``ASSISTANT_QUESTION_LOG``, default ``logs/questions.jsonl``) in which e-mail addresses, phone numbers, postal codes,
card-like numbers, street numbers and names before 様/さん/殿/氏 or と申します are masked. Failures are logged with
the exception type and the code location only, never the exception's message (it may quote the input).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from .text import EMAIL, nfkc

# ASCII URL characters (no brackets), ending on one that does not end a sentence: 「…/a）教えて」 keeps 教えて
_URL = re.compile(r"https?://[\w\-.~:/?#@!$&'*+,;=%]*[\w\-~/#=%]", re.ASCII)
_PHONE = re.compile(
    r"(?<![\d-])(?:\+81[-\s]?\(?0?\)?|0)\d{1,4}(?:[-\s]|[(（]|[)）])*\d{1,4}(?:[-\s]|[)）])*\d{3,4}(?![\d-])"
    r"|(?<!\d)0\d{9,10}(?!\d)"
)
_POSTAL = re.compile(r"〒\s*\d{3}-?\d{4}|(?<![\d-])\d{3}-\d{4}(?![\d-])")
_CARD = re.compile(r"(?<!\d)\d{4}[-\s]?\d{4}[-\s]?\d{4}(?:[-\s]?\d{1,4})?(?!\d)")
_STREET = re.compile(r"\d{1,4}\s*(?:丁目|-)\s*\d{1,4}\s*(?:番地?|-)\s*\d{1,4}\s*号?")
_KANJI_NAME = r"[一-龥々〆ヶ]{1,4}(?:[ 　]?[一-龥々〆ヶ]{1,4})?"
_KANA_NAME = r"[ァ-ヴー]{2,10}"
_HONORIFIC = re.compile(rf"({_KANJI_NAME}|{_KANA_NAME})(?=\s*(?:様|さま|さん|殿|氏|君|くん|ちゃん))")
_INTRODUCED = re.compile(rf"({_KANJI_NAME}|{_KANA_NAME})(?=\s*(?:と申します|と申し|といいます|と言います))")
# words before 様/さん that are not a person's name: left as they are
_NOT_NAMES = {
    "皆", "客", "担当者", "事業者", "利用者", "会員", "申請者", "相談者", "相手", "先方", "奥", "神", "各位", "業者",
    "取引先", "貴社", "御社", "弊社", "当社",
}

MASKS = (
    (EMAIL, "[メール]"),
    (_URL, "[URL]"),
    (_PHONE, "[電話番号]"),
    (_POSTAL, "[郵便番号]"),
    (_CARD, "[番号]"),
    (_STREET, "[番地]"),
)


def _name(m: re.Match[str]) -> str:
    word = m.group(1)
    return word if word.strip() in _NOT_NAMES or word.endswith(tuple(_NOT_NAMES)) else "[氏名]"


def without_contact_details(text: str) -> str:
    """The text less e-mail addresses, URLs and phone numbers: a caller's way to be reached says nothing of what
    they need (example.co.jp is not a word of the inquiry)."""
    for pattern in (EMAIL, _URL, _PHONE):
        text = pattern.sub(" ", text)
    return text


def mask_personal(text: str) -> str:
    """The text with e-mail addresses, URLs, phone numbers, postal codes, card-like numbers, street numbers and
    names (before 様/さん/殿/氏…, or と申します) replaced by placeholders such as [電話番号] and [氏名]."""
    out = nfkc(text)
    for pattern, placeholder in MASKS:
        out = pattern.sub(placeholder, out)
    out = _HONORIFIC.sub(_name, out)
    return _INTRODUCED.sub(_name, out)


def log_failure(log: logging.Logger, what: str, exc: BaseException) -> None:
    """Log a failure with its type and code location only (the message may quote the user's input)."""
    frames = traceback.extract_tb(exc.__traceback__)[-8:]
    where = "\n".join(f"  {f.filename}:{f.lineno} in {f.name}" for f in frames)
    log.error("%s: %s\n%s", what, type(exc).__name__, where)


@dataclass
class QuestionLog:
    """The evaluators' question log: one JSON line per question or inquiry, masked; a no-op unless enabled."""

    path: Path | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def for_settings(cls, settings) -> QuestionLog:
        return cls(settings.question_log if settings.log_questions else None)

    @property
    def enabled(self) -> bool:
        return self.path is not None

    def record(self, surface: str, text: str, **fields: object) -> None:
        if self.path is None:
            return
        entry = {"time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "surface": surface,
                 "text": mask_personal(text), **fields}
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as f:
                    f.write(line)
            except OSError as exc:  # the log never stops an answer
                logging.getLogger("assistant.privacy").warning("question log not written: %s", exc.strerror)
