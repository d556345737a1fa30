"""The ``assistant`` command: a thin click shell over library calls."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .errors import AssistantError, InputError
from .settings import Settings

_HELP = "--help で使い方を確認してください。"


def _ja_reason(message: str) -> str:
    """click's messages for the usual mistakes, in Japanese."""
    if "valid integer" in message:
        return "整数で指定してください"
    if "does not match the format" in message:
        return "日付は 2026-03-01 の形で指定してください"
    if "is not one of" in message:
        return f"指定できる値から選んでください: {message}"
    if "does not exist" in message:
        return "ファイルが見つかりません"
    return message


def _settings(ctx: click.Context, **overrides: object) -> Settings:
    return Settings.from_env(**(ctx.obj or {}), **overrides)


def _progress(msg: str) -> None:
    click.echo(msg, err=True)


class _Group(click.Group):
    """Turns every AssistantError into a short Japanese message and a non-zero exit, never a stack trace."""

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        """click's own errors (an unknown option, 「abc」 for a number) in Japanese too, exit code 2."""
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            return super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.BadParameter as exc:
            hint = exc.param.get_error_hint(exc.ctx) if exc.param is not None and exc.ctx is not None else ""
            where = f"{hint} の" if hint else ""
            reason = _ja_reason(exc.message)
            click.echo(f"エラー: {where}値が正しくありません（{reason}）。{_HELP}", err=True)
            sys.exit(2)
        except click.UsageError as exc:
            click.echo(f"エラー: コマンドの指定が正しくありません（{exc.message}）。{_HELP}", err=True)
            sys.exit(2)
        except click.ClickException as exc:
            click.echo(f"エラー: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("中断しました。", err=True)
            sys.exit(130)

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
@click.option("--generator", help="生成モデル（例: ollama:qwen2.5:7b、gemma3-270m）。省略時は資料の抜粋で回答")
@click.option("--generator-url", help="生成モデルのサーバー URL（Ollama / OpenAI 互換）")
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
    if question is not None:
        from .service import clean_question

        clean_question(question, settings.max_question_chars)  # an empty or 1 MB question: told before loading
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
@click.option("--examples", type=click.Path(path_type=Path),
              help="過去の問い合わせ事例（triage_*.yaml のフォルダか 1 ファイル。既定: eval/）")
@click.option("--no-examples", is_flag=True, help="過去の事例を使わず、資料だけで振り分ける")
@click.pass_context
def triage(ctx: click.Context, file: Path, as_json: bool, output: Path | None, today, examples: Path | None,
           no_examples: bool) -> None:
    """問い合わせファイル（JSONL または CSV: id, text）を一括で振り分けます。"""
    import datetime as dt

    from .service import Assistant
    from .triage.io import csv_text, read_inquiries, write_atomic
    from .triage.triage import Triage

    items, problems = read_inquiries(file)
    for problem in problems:
        click.echo(f"警告: {problem}", err=True)
    settings = _settings(ctx, triage_examples=examples, triage_use_examples=False if no_examples else None)
    engine = Triage(Assistant.load(settings, progress=_progress))
    day = today.date() if today else dt.date.today()
    results, failed = engine.run_all(items, day)
    for iid in failed:
        click.echo(f"警告: 問い合わせ {iid} は内部エラーのため振り分けられませんでした。", err=True)
    if output is not None:
        try:
            if output.suffix.lower() in (".jsonl", ".json"):
                write_atomic(output, (json.dumps(r, ensure_ascii=False) + "\n" for r in results))
            else:
                write_atomic(output, [csv_text(results)], encoding="utf-8-sig")
        except OSError as exc:
            raise AssistantError(f"出力ファイル {output} に書き込めません: {exc.strerror or exc}") from exc
        click.echo(f"{len(results)}件を振り分けました → {output}", err=True)
    if as_json or output is None:
        for r in results:
            if as_json:
                click.echo(json.dumps(r, ensure_ascii=False))
            else:
                flag = "【要確認】" if r["needs_human"] else ""
                click.echo(f"[{r['id']}] {flag}{r['category']} / {' / '.join(r['programs']) or '該当なし'} / "
                           f"{' / '.join(r['contacts'][:2])}")
    if problems or failed:
        sys.exit(1)


class _DefaultGroup(click.Group):
    """``assistant eval DATASET`` runs; ``assistant eval diff A B`` compares: a first word that is no subcommand
    is the dataset of ``run``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@cli.group(cls=_DefaultGroup, name="eval")
def eval_() -> None:
    """評価: データセットを設定ごとに実行してレポートを作ります（assistant eval DATASET / assistant eval diff A B）。"""


@eval_.command("run")
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option("--config", "config_file", type=click.Path(path_type=Path),
              help="設定ファイル（YAML/JSON: configs: [{name, retriever, embed_model, top_k, composer}]）")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="出力フォルダ（既定: eval/runs/日時）")
@click.option("--ragas", "ragas_file", type=click.Path(path_type=Path), help="RAGAS 形式（JSONL）にも書き出す")
@click.option("--baseline", type=click.Path(path_type=Path), help="比較する summary.json（下回ると終了コード 1）")
@click.option("--tolerance", type=float, default=0.05, show_default=True, help="baseline からの許容低下幅")
@click.pass_context
def eval_run(ctx: click.Context, dataset: Path, config_file: Path | None, out_dir: Path | None,
             ragas_file: Path | None, baseline: Path | None, tolerance: float) -> None:
    """DATASET（YAML / JSON / JSONL）を設定ごとに実行し、結果・要約・レポートを書き出します。"""
    import datetime as dt

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    from rich.table import Table

    from .evaluation.compare import regressions, to_ragas
    from .evaluation.dataset import load_dataset
    from .evaluation.report import HEADLINE, write_run
    from .evaluation.runner import Runner, check_dataset, load_configs, summarize

    base = _settings(ctx)
    items = load_dataset(dataset)
    check_dataset(items, base)
    configs = load_configs(config_file, base)
    out_dir = out_dir or Path("eval") / "runs" / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    console = Console(stderr=True)
    results, summaries = {}, {}
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        for config in configs:
            task = bar.add_task(f"{config.name} を読み込み中", total=len(items))
            runner = Runner(config, base)
            bar.update(task, description=f"{config.name} を評価中")
            results[config.name] = runner.run(items, on_item=lambda _r, t=task: bar.advance(t))
            summaries[config.name] = summarize(results[config.name], k=config.top_k)
    files = write_run(out_dir, dataset.name, results, summaries)
    table = Table(title=f"{dataset.name}（{len(items)} 問）")
    table.add_column("指標")
    for name in summaries:
        table.add_column(name, justify="right")
    for key in (k for k in HEADLINE if any(k in s for s in summaries.values())):  # generation rows: with a model
        table.add_row(key, *["–" if s.get(key) is None else str(s[key]) for s in summaries.values()])
    Console().print(table)
    if ragas_file is not None:
        from .triage.io import write_atomic

        refs = {i.id: " / ".join(i.expected) for i in items}
        rows = to_ragas([r.to_dict() for rs in results.values() for r in rs], refs)
        write_atomic(ragas_file, (json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        files.append(ragas_file)
    click.echo("書き出しました: " + ", ".join(str(f) for f in files[:4]), err=True)
    if baseline is not None:
        try:
            base_summary = json.loads(baseline.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"baseline {baseline} を読めません: {exc}") from exc
        drops = regressions({"configs": summaries}, base_summary, tolerance)
        for d in drops:
            click.echo(f"低下: {d}", err=True)
        if drops:
            sys.exit(1)


@eval_.command("diff")
@click.argument("run_a", type=click.Path(path_type=Path))
@click.argument("run_b", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="JSONL で出力")
def eval_diff(run_a: Path, run_b: Path, as_json: bool) -> None:
    """二つの評価結果（フォルダか results.jsonl）で、正誤が変わった質問を示します。"""
    from dataclasses import asdict

    from .evaluation.compare import diff, read_results

    changes = diff(read_results(run_a), read_results(run_b))
    if as_json:
        for c in changes:
            click.echo(json.dumps(asdict(c), ensure_ascii=False))
        return
    fixed = sum(c.after == "正解" for c in changes)
    broken = sum(c.before == "正解" for c in changes)
    click.echo(f"変化 {len(changes)} 件（良くなった {fixed} / 悪くなった {broken}）")
    for c in changes:
        why = f" — {'; '.join(c.problems)}" if c.after == "不正解" and c.problems else ""
        click.echo(f"[{c.config}] {c.id} ({c.kind}) {c.before} → {c.after}: {c.question[:50]}{why}")


def _render(answer) -> str:
    from .render import render_answer

    return render_answer(answer)


def main() -> None:
    cli(prog_name="assistant")


if __name__ == "__main__":
    main()
