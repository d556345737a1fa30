"""Text normalisation and Japanese tokenisation shared by every stage."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")  # an e-mail address (NFKC text)

_EMPHASIS = re.compile(r"\*\*|__")
_SENTENCE_END = re.compile(r"(?<=[。！？!?])")


# NFKC maps Kangxi radicals but not the CJK Radicals Supplement; 003 uses these two as kanji.
_RADICALS = {0x2EA0: "民", 0x2ED1: "長", 0x2ED8: "青", 0x2EAB: "目"}
# Private-use code points are bullet glyphs from the PDF's symbol font.
_PRIVATE_USE = {cp: "・" for cp in range(0xF000, 0xF100)}
_EXTRA = {**_RADICALS, **_PRIVATE_USE}


def nfkc(text: str) -> str:
    """NFKC-normalise (003 writes kanji as Kangxi radicals / compatibility code points), plus the few radicals
    and private-use bullets NFKC leaves alone."""
    return unicodedata.normalize("NFKC", text).translate(_EXTRA)


_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")


def strip_controls(text: str) -> str:
    """Drop terminal escape sequences, then control, format, private-use and unassigned characters and lone
    surrogates (Unicode category C), keeping newlines and tabs: what a user types or uploads may carry NULs, colour
    codes or broken bytes."""
    return "".join(ch for ch in _ANSI.sub("", text) if ch in "\n\t" or unicodedata.category(ch)[0] != "C")


def clean_line(line: str) -> str:
    """NFKC, drop markdown emphasis markers and trailing spaces."""
    return _EMPHASIS.sub("", nfkc(line)).rstrip()


def display_line(line: str) -> str:
    """A slide line as a person reads it: no heading hashes, bullets or table tabs."""
    s = line.strip()
    s = re.sub(r"^#+\s*", "", s)
    s = re.sub(r"^[-*]\s+", "", s)
    s = s.replace("\t", " ").replace("\\_", "_")
    return re.sub(r"\s{2,}", " ", s).strip()


def sentences(line: str) -> list[str]:
    """Split a display line at Japanese sentence ends, keeping the punctuation."""
    return [s.strip() for s in _SENTENCE_END.split(line) if s.strip()]


_DROP_POS = {"助詞", "助動詞", "空白"}


@lru_cache(maxsize=1)
def _tagger():  # pragma: no cover - trivial
    import fugashi

    return fugashi.Tagger()


def tokenize(text: str) -> list[str]:
    """Fugashi (MeCab + UniDic) surface tokens of NFKC text, lower-cased, punctuation and particles dropped."""
    out: list[str] = []
    for word in _tagger()(nfkc(text)):
        pos = word.feature.pos1
        if pos in _DROP_POS or pos == "補助記号":
            continue
        surface = word.surface.lower()
        if surface.strip():
            out.append(surface)
    return out


_GENERIC_NOUNS = {
    "こと", "もの", "ため", "よう", "方", "何", "いくら", "どこ", "いつ", "どれ", "場合", "方法", "くらい",
    "ぐらい", "程度", "今", "いま", "とき", "時", "中", "等", "的", "者", "名前", "番号", "内容", "件",
}


def nouns(text: str) -> list[str]:
    """Content nouns (no numerals, no generic nouns), lower-cased, in order, unique."""
    out: list[str] = []
    for word in _tagger()(nfkc(text)):
        f = word.feature
        if f.pos1 != "名詞" or f.pos2 == "数詞":
            continue
        s = word.surface.lower()
        if s in _GENERIC_NOUNS or len(s) < 1 or s.isdigit():
            continue
        if s not in out:
            out.append(s)
    return out


def proper_nouns(text: str) -> list[str]:
    """Proper nouns of two or more characters (places, organisations: 香川, 中国, 吉備中央町), in order; not
    people's names (a caller who gives their name asks about the decks all the same)."""
    out: list[str] = []
    for w in _tagger()(nfkc(text)):
        f = w.feature
        if f.pos2 == "固有名詞" and f.pos3 != "人名" and len(w.surface) >= 2 and w.surface not in out:
            out.append(w.surface)
    return out


def reading(text: str) -> str:
    """How ``text`` sounds, in katakana (UniDic's pronunciation: 持続化補助金 and じぞく化補助金 are both
    ジゾクカホジョキン, ものづくり and ものずくり both モノズクリ); a word UniDic cannot read stays as written
    (hiragana folded)."""
    out = []
    for word in _tagger()(nfkc(text)):
        pron = word.feature.pron
        out.append(pron if pron and pron != "*" else katakana(word.surface.lower()))
    return "".join(out)


_SMALL_KANA = str.maketrans(
    "ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶ", "あいうえおつやゆよわかけアイウエオツヤユヨワカケ"
)


def fold_small_kana(text: str) -> str:
    """Small kana written full size (ァ → ア, ッ → ツ), as a caller who types セキュリテイ or ウエブ does: for comparing
    phrases, never for display."""
    return text.translate(_SMALL_KANA)


def katakana(text: str) -> str:
    """Hiragana folded to katakana (あかつき → アカツキ), for matching names however a caller spells them."""
    return "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in text)
