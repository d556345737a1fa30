"""Which edition (year) a question asks about: 令和5年度補正, 2024年の公募, R6 …"""

from __future__ import annotations

import re

from ..text import nfkc

_REIWA = re.compile(r"(?:令和|R)\s*(\d{1,2})\s*(?:年度|年)?")
_YEAR = re.compile(r"(20\d\d)\s*年")


def asked_years(question: str) -> list[int]:
    """Calendar years the question names (令和n年 → 2018+n), in order."""
    q = nfkc(question)
    years = [2018 + int(m.group(1)) for m in _REIWA.finditer(q)]
    years += [int(m.group(1)) for m in _YEAR.finditer(q)]
    return years
