"""`assistant add`: real PDFs built here (Japanese text, extracted by pypdf), the real index and answers."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_pdf

from assistant.cli import cli
from assistant.ingest.add import parse_deck_date, wareki
from assistant.ingest.corpus import load_corpus
from assistant.settings import Settings

pytestmark = pytest.mark.integration

NEW_DECK_PAGES = [
    ["令和8年度 ものづくり補助金のご案内", "近畿経済産業局 令和8年6月"],
    ["ものづくり補助金（第24次公募）", "補助上限額：3,000万円（従業員51人以上）",
     "補助率：中小企業1/2、小規模事業者2/3", "公募締切：2026年8月20日"],
    [],  # a page that is only an image
    ["お問い合わせ", "ものづくり補助金事務局サポートセンター", "電話番号：050-9999-0000"],
]


def run(home: Settings, *args: str):
    return CliRunner().invoke(cli, ["--corpus-dir", str(home.corpus_dir), "--index-dir", str(home.index_dir), *args])


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".manifest.lock"}


def current_meta(home: Settings) -> dict:
    current = json.loads((home.index_dir / "CURRENT").read_text())
    return json.loads((home.index_dir / "builds" / current["build"] / "meta.json").read_text())


def test_add_a_pdf_embeds_only_the_new_deck_and_the_newer_deck_wins(home: Settings, tmp_path: Path):
    from assistant.service import Assistant

    before = current_meta(home)
    pdf = write_pdf(tmp_path / "r8_monodukuri.pdf", NEW_DECK_PAGES)
    result = run(home, "add", str(pdf), "--issuer", "近畿経済産業局", "--date", "2026-06-01")
    assert result.exit_code == 0, result.output
    assert "追加しました: r8_monodukuri.txt" in result.output
    assert "ページ 3 には文字がありません" in result.output

    corpus = load_corpus(home.corpus_dir)
    deck = corpus.deck("r8_monodukuri.txt")
    assert (deck.issuer, deck.date.isoformat(), deck.date_label, deck.format, deck.source) == (
        "近畿経済産業局", "2026-06-01", "令和8年6月1日", "pages", "r8_monodukuri.pdf")
    assert deck.title == "令和8年度 ものづくり補助金のご案内"
    slides = corpus.deck_slides("r8_monodukuri.txt")
    assert [s.number for s in slides] == [1, 2, 4]  # slide n = page n; the image-only page has no slide
    assert "補助上限額:3,000万円(従業員51人以上)" in slides[1].text  # Japanese extracted intact (NFKC)
    assert "monodukuri" in slides[1].topic

    meta = current_meta(home)
    new_passages = sum(1 for p in json.loads((home.index_dir / "builds" / json.loads(
        (home.index_dir / "CURRENT").read_text())["build"] / "passages.json").read_text())
        if p["source_file"] == "r8_monodukuri.txt")
    assert meta["embedded"] == new_passages == 3
    assert meta["reused"] == meta["passages"] - new_passages == before["passages"]

    assistant = Assistant.load(home)
    answer = assistant.ask("ものづくり補助金の補助上限額は？")
    first = answer.citations[0]
    assert (first.source_file, first.slide, first.issuer) == ("r8_monodukuri.txt", 2, "近畿経済産業局")
    assert "3,000万円" in answer.answer
    assert any(c.older and c.source_file != "r8_monodukuri.txt" for c in answer.citations)  # older deck differs
    phone = assistant.ask("ものづくり補助金の事務局の電話番号は？")
    assert (phone.citations[0].source_file, phone.citations[0].slide) == ("r8_monodukuri.txt", 4)
    assert "050-9999-0000" in phone.answer


def test_add_markdown_and_shift_jis_text(home: Settings, tmp_path: Path):
    md = tmp_path / "kyushu_dx.md"
    md.write_text("# 九州DX支援セミナー\n\n開催日: 2026年7月1日\n\n# 申込方法\n\nWebフォームから申し込み\n",
                  encoding="utf-8")
    result = run(home, "add", str(md), "--issuer", "九州経済産業局", "--date", "令和8年5月1日", "--no-index")
    assert result.exit_code == 0, result.output
    txt = tmp_path / "tohoku.txt"
    txt.write_bytes("東北地域の支援施策\n専門家派遣 無料\n1\n相談窓口のご案内\n".encode("cp932"))
    result = run(home, "add", str(txt), "--issuer", "東北経済産業局", "--date", "2026/5/2", "--title", "東北の施策",
                 "--no-index")
    assert result.exit_code == 0, result.output
    assert "cp932 のテキストを UTF-8 に変換" in result.output
    corpus = load_corpus(home.corpus_dir)
    assert [s.title for s in corpus.deck_slides("kyushu_dx.md")] == ["九州DX支援セミナー", "申込方法"]
    assert corpus.deck("kyushu_dx.md").format == "markdown"
    assert corpus.deck("tohoku.txt").title == "東北の施策"
    assert (home.corpus_dir / "tohoku.txt").read_text(encoding="utf-8").startswith("東北地域")
    manifest = (home.corpus_dir / "manifest.yaml").read_text(encoding="utf-8")
    assert manifest.startswith("# Corpus manifest")  # comments and the hand-written entries are kept


BAD_INPUTS = {
    "missing file": (lambda d: d / "nothing.pdf", [], "見つかりません"),
    "empty pdf": (lambda d: _bytes(d / "empty.pdf", b""), [], "空です"),
    "pdf without text layer": (lambda d: write_pdf(d / "scan.pdf", [[], []]), [], "OCR"),
    "binary junk as pdf": (lambda d: _bytes(d / "junk.pdf", bytes(range(256)) * 40), [], "PDF ではありません"),
    "damaged pdf": (lambda d: _bytes(d / "cut.pdf", write_pdf(d / "ok.pdf", NEW_DECK_PAGES).read_bytes()[:300]), [],
                    "読めません"),
    "binary junk as text": (lambda d: _bytes(d / "junk.txt", bytes(range(256)) * 40), [],
                            "テキストファイルではありません"),
    "unsupported extension": (lambda d: _bytes(d / "slides.pptx", b"PK\x03\x04"), [], "追加できない形式"),
    "bad date": (lambda d: write_pdf(d / "a.pdf", NEW_DECK_PAGES), ["--date", "2026-13-01"], "日付"),
    "words for a date": (lambda d: write_pdf(d / "a.pdf", NEW_DECK_PAGES), ["--date", "来月"], "日付"),
    "far future date": (lambda d: write_pdf(d / "a.pdf", NEW_DECK_PAGES), ["--date", "2099-01-01"], "範囲外"),
    "no issuer": (lambda d: write_pdf(d / "a.pdf", NEW_DECK_PAGES), ["--issuer", " "], "発行元"),
    "duplicate file name": (lambda d: _bytes(d / "004_be9706bd3cebb7a2.txt", "新しい内容\n".encode()), [], "既に登録"),
    "duplicate content": (lambda d: _bytes(d / "copy.txt", (Path(__file__).parent.parent / "corpus" /
                                                            "000_cbe6c34ac374a521.txt").read_bytes()), [], "同じ内容"),
}


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_refused_in_japanese_and_changes_nothing(case: str, home: Settings, tmp_path: Path):
    make, extra, message = BAD_INPUTS[case]
    src = tmp_path / "in"
    src.mkdir()
    path = make(src)
    args = {"--issuer": "近畿経済産業局", "--date": "2026-06-01"}
    args.update(dict(zip(extra[::2], extra[1::2], strict=True)))
    before_corpus, before_index = snapshot(home.corpus_dir), snapshot(home.index_dir)
    result = run(home, "add", str(path), *[x for kv in args.items() for x in kv])
    assert result.exit_code == 2, result.output
    assert message in result.output and "エラー:" in result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert snapshot(home.corpus_dir) == before_corpus
    assert snapshot(home.index_dir) == before_index


def test_adding_the_same_pdf_twice_is_refused(home: Settings, tmp_path: Path):
    pdf = write_pdf(tmp_path / "twice.pdf", NEW_DECK_PAGES)
    assert run(home, "add", str(pdf), "--issuer", "近畿経済産業局", "--date", "2026-06-01", "--no-index").exit_code == 0
    before = snapshot(home.corpus_dir)
    again = run(home, "add", str(pdf), "--issuer", "近畿経済産業局", "--date", "2026-06-02", "--no-index")
    assert again.exit_code == 2 and "既に" in again.output
    assert snapshot(home.corpus_dir) == before


def test_dates():
    import datetime as dt

    today = dt.date(2026, 11, 21)
    assert parse_deck_date("2024-03-18", today) == dt.date(2024, 3, 18)
    assert parse_deck_date("２０２４／３／１８", today) == dt.date(2024, 3, 18)
    assert parse_deck_date("令和元年5月1日", today) == dt.date(2019, 5, 1)
    assert wareki(dt.date(2024, 3, 18)) == "令和6年3月18日"
    assert wareki(dt.date(2019, 5, 1)) == "令和元年5月1日"
    assert wareki(dt.date(2019, 4, 30)) == "平成31年4月30日"
