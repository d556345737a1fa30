"""The ``assistant`` command: a thin click shell over library calls."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .errors import AssistantError, InputError
from .settings import Settings


def _settings(ctx: click.Context, **overrides: object) -> Settings:
    return Settings.from_env(**(ctx.obj or {}), **overrides)


def _progress(msg: str) -> None:
    click.echo(msg, err=True)


class _Group(click.Group):
    """Turns every AssistantError into a short Japanese message and a non-zero exit, never a stack trace."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except AssistantError as exc:
            click.echo(f"エラー: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("中断しました。", err=True)
            sys.exit(130)


@click.group(cls=_Group)
@click.option("--corpus-dir", type=click.Path(path_type=Path), help="資料フォルダ（既定: corpus/）")
@click.option("--index-dir", type=click.Path(path_type=Path), help="索引フォルダ（既定: index/）")
@click.option("--embed-model", help="sentence-transformers のモデル名またはパス（既定: ja-ginza-static）")
@click.option("--retriever", type=click.Choice(["hybrid", "bm25", "dense"]), help="検索方式（既定: hybrid）")
@click.option("--chroma-url", help="chromadb サーバー（例: http://127.0.0.1:8000）。省略時は index/ 内に保存")
@click.pass_context
def cli(ctx: click.Context, **options: object) -> None:
    """中小企業支援施策アシスタント: 経済産業局の資料から出典付きで答えます。"""
    ctx.obj = {k: v for k, v in options.items() if v is not None}


@cli.command()
@click.option("--rebuild", is_flag=True, help="最新でも作り直す")
@click.pass_context
def index(ctx: click.Context, rebuild: bool) -> None:
    """索引（chromadb + BM25）を作成します。"""
    from .index.store import open_index
    from .ingest.corpus import load_corpus

    settings = _settings(ctx)
    corpus = load_corpus(settings.corpus_dir)
    idx = open_index(settings, corpus, rebuild=rebuild, progress=_progress)
    click.echo(f"索引: スライド {len(corpus.slides)} 枚、検索単位 {len(idx.passages)} 件（{idx.build_dir}）")


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--issuer", help="発行元（例: 中国経済産業局）")
@click.option("--date", "date_text", help="資料の日付（例: 2026-06-01、令和8年6月1日）")
@click.option("--title", help="資料の題名（省略時は1枚目の題名）")
@click.option("--date-label", help="表示する日付の書き方（省略時は和暦: 令和8年6月1日）")
@click.option("--no-index", is_flag=True, help="索引は更新しない（次に使うときに作成）")
@click.pass_context
def add(ctx: click.Context, file: Path, issuer: str | None, date_text: str | None, title: str | None,
        date_label: str | None, no_index: bool) -> None:
    """資料（PDF・テキスト・Markdown）を追加し、索引を差分で更新します。"""
    from .index.store import open_index
    from .ingest.add import NewDeck, add_deck
    from .ingest.corpus import load_corpus

    settings = _settings(ctx)
    added = add_deck(settings.corpus_dir, NewDeck(file, issuer, date_text, title, date_label))
    for warning in added.warnings:
        click.echo(f"警告: {warning}", err=True)
    d = added.deck
    click.echo(f"追加しました: {d.file}「{d.title}」（{d.issuer}、{d.date_label}、スライド {added.slides} 枚）")
    if no_index:
        return
    try:
        idx = open_index(settings, load_corpus(settings.corpus_dir), progress=_progress)
    except AssistantError as exc:
        click.echo(f"エラー: 資料は追加しましたが、索引を更新できませんでした: {exc}\n"
                   "原因を取り除いてから assistant index を実行してください。", err=True)
        sys.exit(1)
    fresh = f"、新たに埋め込み {idx.embedded} 件" if idx.embedded is not None else ""
    click.echo(f"索引を更新しました: 検索単位 {len(idx.passages)} 件{fresh}")


@cli.command()
@click.option("--deck", "deck_file", help="資料ファイル名（例: 004_be9706bd3cebb7a2.txt）")
@click.option("--slide", "slide_no", type=int, help="スライド番号（全文を表示）")
@click.option("--json", "as_json", is_flag=True, help="JSON で出力")
@click.pass_context
def slides(ctx: click.Context, deck_file: str | None, slide_no: int | None, as_json: bool) -> None:
    """資料のスライド分割を確認します。"""
    from .ingest.corpus import load_corpus

    settings = _settings(ctx)
    corpus = load_corpus(settings.corpus_dir)
    decks = [corpus.deck(deck_file)] if deck_file else corpus.manifest.decks
    if slide_no is not None and not deck_file:
        raise InputError("--slide を使うときは --deck で資料を指定してください。")
    for deck in decks:
        items = corpus.deck_slides(deck.file)
        if slide_no is not None:
            items = [s for s in items if s.number == slide_no]
            if not items:
                last = len(corpus.deck_slides(deck.file))
                raise InputError(f"{deck.file} にスライド {slide_no} はありません（1〜{last}）。")
        if as_json:
            for s in items:
                click.echo(
                    json.dumps(
                        {
                            "source_file": s.source_file,
                            "slide": s.number,
                            "title": s.title,
                            "line_start": s.line_start,
                            "line_end": s.line_end,
                            "programs": list(s.programs),
                            "topic": list(s.topic),
                            "text": s.text,
                        },
                        ensure_ascii=False,
                    )
                )
            continue
        if slide_no is None:
            click.echo(f"== {deck.file}  {deck.issuer} {deck.date_label}  「{deck.title}」 {len(items)} 枚")
            for s in items:
                click.echo(f"{s.number:3d}  行{s.line_start}-{s.line_end}  {s.title}")
        else:
            s = items[0]
            click.echo(f"== {s.source_file} スライド{s.number}「{s.title}」 行{s.line_start}-{s.line_end}")
            click.echo(s.text)


@cli.command()
@click.argument("question", required=False)
@click.option("--batch", "batch", type=click.Path(path_type=Path), help='JSONL: {"id": ..., "question": ...}')
@click.option("--json", "as_json", is_flag=True, help="JSON で出力")
@click.option("--top-k", type=int, help="検索するスライド数")
@click.pass_context
def ask(ctx: click.Context, question: str | None, batch: Path | None, as_json: bool, top_k: int | None) -> None:
    """質問に、資料のスライドを出典として答えます。"""
    from .service import Assistant

    if (question is None) == (batch is None):
        raise InputError("質問を1つ指定するか、--batch でファイルを指定してください。")
    settings = _settings(ctx, top_k=top_k)
    if batch is not None:
        from .batch import read_questions

        items, problems = read_questions(batch)
        assistant = Assistant.load(settings, progress=_progress)
        failed = len(problems)
        for problem in problems:
            click.echo(f"警告: {problem}", err=True)
        for qid, q in items:
            try:
                answer = assistant.ask(q, qid)
            except InputError as exc:
                failed += 1
                out = {"id": qid, "error": str(exc), "answer": "", "abstained": True, "citations": [], "tool_calls": []}
                click.echo(json.dumps(out, ensure_ascii=False) if as_json else f"[{qid}] エラー: {exc}")
                continue
            click.echo(json.dumps(answer.to_dict(), ensure_ascii=False) if as_json else _render(answer))
        if failed:
            sys.exit(1)
        return
    assistant = Assistant.load(settings, progress=_progress)
    answer = assistant.ask(question)
    click.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=None) if as_json else _render(answer))


def _conditions(values: tuple[str, ...], book) -> frozenset[str]:
    from .text import nfkc

    out = set()
    for value in values:
        key = nfkc(value).strip()
        found = [
            cid for cid, t in book.vocabulary.conditions.items() if key in (cid, nfkc(t.label), *map(nfkc, t.phrases))
        ]
        if not found:
            known = "、".join(f"{cid}（{t.label}）" for cid, t in book.vocabulary.conditions.items())
            raise InputError(f"条件「{value}」はわかりません。指定できる条件: {known}")
        out.add(found[0])
    return frozenset(out)


@cli.command()
@click.option("--program", "-p", help="制度（例: ものづくり補助金、jizokuka、IT導入補助金）")
@click.option("--frame", "-f", help="枠・類型（例: グローバル枠、通常枠、インボイス対応類型）")
@click.option("--edition", "-e", help="版（例: 令和5年度補正、2026年）。省略時は最新の資料")
@click.option("--size", "-s", help="企業規模: small（小規模事業者）/ sme（中小企業）/ mid（中堅企業）/ large（大企業）")
@click.option("--employees", "-n", type=int, help="従業員数")
@click.option("--expense", "-x", help="補助対象経費（円。例: 12000000 または 1,200万円）")
@click.option(
    "--condition", "-c", "conditions", multiple=True, help="特例・条件（例: invoice、賃上げ、赤字）。複数指定可"
)
@click.option("--list", "list_rules", is_flag=True, help="計算できる制度・版・枠の一覧")
@click.option("--json", "as_json", is_flag=True, help="JSON で出力")
@click.pass_context
def calc(
    ctx: click.Context,
    program: str | None,
    frame: str | None,
    edition: str | None,
    size: str | None,
    employees: int | None,
    expense: str | None,
    conditions: tuple[str, ...],
    list_rules: bool,
    as_json: bool,
) -> None:
    """補助額を、資料の補助上限・補助率から計算します（出典付き）。"""
    from .ingest.corpus import load_corpus
    from .render import render_calc, render_rules
    from .tools.calculator import CalcRequest, calculate
    from .tools.parse import parse_expense
    from .tools.rules import load_rulebook

    settings = _settings(ctx)
    corpus = load_corpus(settings.corpus_dir)
    book = load_rulebook(corpus, settings.corpus_dir)
    if list_rules:
        click.echo(render_rules(book, as_json=as_json))
        return
    if not program:
        raise InputError("--program で制度を指定してください（一覧は assistant calc --list）。")
    req = CalcRequest(program, frame, edition, size, employees, parse_expense(expense), _conditions(conditions, book))
    result = calculate(req, book)
    click.echo(json.dumps(result.to_dict(), ensure_ascii=False) if as_json else render_calc(result))


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="JSONL で標準出力へ")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="CSV（Excel で開ける BOM 付き）か .jsonl に保存")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), help="締切の判定に使う今日の日付（既定: 今日）")
@click.pass_context
def triage(ctx: click.Context, file: Path, as_json: bool, output: Path | None, today) -> None:
    """問い合わせファイル（JSONL または CSV: id, text）を一括で振り分けます。"""
    import datetime as dt

    from .service import Assistant
    from .triage.io import csv_text, read_inquiries, write_atomic
    from .triage.triage import Triage

    items, problems = read_inquiries(file)
    for problem in problems:
        click.echo(f"警告: {problem}", err=True)
    settings = _settings(ctx)
    engine = Triage(Assistant.load(settings, progress=_progress))
    day = today.date() if today else dt.date.today()
    results = [engine.run(iid, text, day).to_dict() for iid, text in items]
    if output is not None:
        if output.suffix.lower() in (".jsonl", ".json"):
            write_atomic(output, (json.dumps(r, ensure_ascii=False) + "\n" for r in results))
        else:
            write_atomic(output, [csv_text(results)], encoding="utf-8-sig")
        click.echo(f"{len(results)}件を振り分けました → {output}", err=True)
    if as_json or output is None:
        for r in results:
            if as_json:
                click.echo(json.dumps(r, ensure_ascii=False))
            else:
                flag = "【要確認】" if r["needs_human"] else ""
                click.echo(f"[{r['id']}] {flag}{r['category']} / {' / '.join(r['programs']) or '該当なし'} / "
                           f"{' / '.join(r['contacts'][:2])}")
    if problems:
        sys.exit(1)


def _render(answer) -> str:
    from .render import render_answer

    return render_answer(answer)


def main() -> None:
    cli(prog_name="assistant")


if __name__ == "__main__":
    main()
