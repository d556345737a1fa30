"""Unit tests for the retrieval features: paraphrase synonyms, answer types, labels, continuation headings."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import DataError
from assistant.ingest.synonyms import load_synonyms
from assistant.retrieve.lexical import answer_factor, intent_of, units_of
from assistant.settings import REPO_ROOT

SYN = load_synonyms(REPO_ROOT / "corpus", "\n".join(p.read_text(encoding="utf-8")
                                                   for p in (REPO_ROOT / "corpus").glob("*.txt")))


def test_synonyms_expand_everyday_words():
    assert SYN.expansion("パソコンを守りたい").split() == ["PC", "端末"]
    assert "展示会" in SYN.expansion("海外の見本市に出たい")
    assert SYN.expansion("ものづくり補助金の上限") == ""


def test_synonyms_loader_is_strict(tmp_path: Path):
    (tmp_path / "synonyms.yaml").write_text("synonyms:\n  - words: [a]\n    means: [存在しない語]\n    source: x\n",
                                            encoding="utf-8")
    with pytest.raises(DataError, match=r"synonyms\.yaml"):
        load_synonyms(tmp_path, "デッキの本文")
    (tmp_path / "synonyms.yaml").write_text("synonyms:\n  - words: [a]\n    means: [本文]\n    typo: x\n",
                                            encoding="utf-8")
    with pytest.raises(DataError, match=r"synonyms\.yaml"):
        load_synonyms(tmp_path, "デッキの本文")


def test_intents():
    assert {"phone"} <= intent_of("事務局の電話番号は？")
    assert "count:人" in intent_of("年何人規模で実施していますか")
    assert "count:件" in intent_of("累計提出件数は？")
    assert {"date"} <= intent_of("締切はいつ？")
    assert intent_of("マナビDXとは") == set()


def test_value_line_is_read_with_its_label(corpus):
    slide = next(s for s in corpus.slides if "(082-224-5661)" in s.text)
    unit = next(u for u in units_of(slide) if u.text == "(082-224-5661)")
    assert unit.header == "中国経済産業局 中小企業課"
    assert answer_factor(unit, intent_of("担当の課と電話番号は？")) > 1.0


def test_continuation_slide_gets_the_heading_before(corpus):
    from assistant.index.passages import leads

    lead = leads(corpus)
    slide = next(s for s in corpus.slides if s.title.startswith("◆実施概要"))
    assert "生産性向上支援訓練" in lead[slide.slide_id]
