"""The Gradio app for SME staff: chat with cited answers, a sources panel, a calculator tab, feedback.

The page opens at once; the assistant (corpus, index, model) loads in a background thread and a status line shows the
progress, so a first start that builds the index never shows a frozen page. Per-session state lives in ``gr.State``,
so concurrent users never see each other's conversations.
"""

from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import AssistantError
from ..service import Assistant
from ..settings import Settings
from . import chat

EXAMPLES = [
    "ものづくり補助金のグローバル枠の補助上限はいくらですか？",
    "デジタル化・AI導入補助金の事務局の電話番号を教えて",
    "持続化補助金の賃金引上げ特例の要件は？",
    "令和5年度補正の省力化投資補助金のカタログ型で、従業員10名、800万円の設備ならいくら補助される？",
    "IT導入補助金のインボイス対応類型で会計ソフト80万円、中小企業ならいくら？",
    "サイバーセキュリティお助け隊とは何ですか？",
]

WAITING_SOURCES = '<div class="sources-empty">回答を作成しています…</div>'

CSS = """
mark.used { background: #fff3a3; padding: 0 2px; }
.badge-older { background: #ffe1c4; border-radius: 4px; padding: 0 6px; font-size: 0.85em; }
.source { margin: 0.4em 0; }
.slide-text { font-size: 0.9em; line-height: 1.5; max-height: 28em; overflow-y: auto; border-left: 3px solid #ddd;
              padding-left: 8px; }
#notice { background: #f5f7ff; border-radius: 6px; padding: 4px 10px; }
"""


@dataclass
class Loader:
    """Loads the assistant once, in the background, and reports progress for the status line."""

    settings: Settings
    status: str = "準備中: 資料と索引を読み込んでいます…"
    assistant: Assistant | None = None
    error: str | None = None
    feedback_lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None
    _ready: threading.Event = field(default_factory=threading.Event)
    _triage: object | None = None

    def start(self) -> Loader:
        self._thread = threading.Thread(target=self._load, name="assistant-loader", daemon=True)
        self._thread.start()
        return self

    def _progress(self, msg: str) -> None:
        self.status = f"準備中: {msg}"

    def _load(self) -> None:
        try:
            self.assistant = Assistant.load(self.settings, progress=self._progress)
            slides = len(self.assistant.corpus.slides)
            self.status = f"準備完了: 資料 {len(self.assistant.corpus.manifest.decks)} 件・スライド {slides} 枚"
            generator = self.assistant.generator
            if generator is not None:
                self.status += f"・生成モデル {generator.chat.label}（出典と照合できない回答は抜粋で表示）"
        except AssistantError as exc:
            self.error = str(exc)
            self.status = f"起動できませんでした: {exc}"
        except Exception as exc:  # shown as a message, never a trace
            self.error = "内部エラー"
            self.status = f"起動できませんでした（{type(exc).__name__}）。ログを確認してください。"
        finally:
            self._ready.set()

    def triage(self):
        """The triage engine, built once on first use (its contact directory scans every slide)."""
        assistant = self.wait(timeout=600)
        if assistant is None:
            return None
        with self.feedback_lock:
            if self._triage is None:
                from ..triage.triage import Triage

                self._triage = Triage(assistant)
        return self._triage

    def output_dir(self) -> Path:
        path = Path(tempfile.gettempdir()) / "assistant-triage"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def wait(self, timeout: float | None = None) -> Assistant | None:
        self._ready.wait(timeout)
        return self.assistant


def build_app(loader: Loader):
    """The Blocks app; every handler calls one function of ``chat``."""
    import gradio as gr

    def _assistant() -> Assistant | None:
        return loader.wait(timeout=600)

    def status_update():
        done = loader._ready.is_set()
        return gr.update(value=f"**{loader.status}**"), gr.update(active=not done)

    def on_submit(question: str, history: list[dict], session: chat.Session | None):
        # every output is sent as a value: a gr.update() makes Gradio keep one more component per call in the
        # session's config (memory grew ~15 KB a question under load)
        session = session or chat.Session()
        history = list(history or [])
        if not (question or "").strip():
            history.append({"role": "assistant", "content": "質問を入力してください。"})
            yield history, session, "", chat.sources_html(session.last)
            return
        history.append({"role": "user", "content": question})
        assistant = _assistant()
        if assistant is None:
            history.append({"role": "assistant", "content": loader.status})
            yield history, session, "", chat.sources_html(session.last)
            return
        history.append({"role": "assistant", "content": ""})
        before, sources = session.last, WAITING_SOURCES
        for partial in chat.respond(assistant, session, question):
            history[-1] = {"role": "assistant", "content": partial}
            if session.last is not before and sources is WAITING_SOURCES:  # the answer is done: its sources
                sources = chat.sources_html(session.last)
            yield history, session, "", sources
        yield history, session, "", chat.sources_html(session.last)

    def on_clear():
        return [], chat.Session(), chat.sources_html(None)

    def on_feedback(rating: str, comment: str, session: chat.Session | None):
        value = {"良い": "good", "良くない": "bad"}.get(rating or "", "")
        return chat.save_feedback(
            loader.settings.feedback_file, session or chat.Session(), value, comment, loader.feedback_lock
        )

    def on_program(program: str | None):
        assistant = _assistant()
        if assistant is None:
            return gr.update(), gr.update()
        editions = chat.edition_choices(assistant, program)
        frames = chat.frame_choices(assistant, program, None)
        return (
            gr.update(choices=editions, value=""),
            gr.update(choices=frames, value=frames[0][1] if frames else None),
        )

    def on_edition(program: str | None, edition: str | None):
        assistant = _assistant()
        if assistant is None:
            return gr.update()
        frames = chat.frame_choices(assistant, program, edition)
        return gr.update(choices=frames, value=frames[0][1] if frames else None)

    def on_calc(program, edition, frame, size, employees, expense, conditions):
        assistant = _assistant()
        if assistant is None:
            return loader.status, ""
        return chat.run_calculator(assistant, program, edition, frame, size, employees, expense, conditions)

    assistant_for_choices = loader.assistant  # None while loading; choices are filled on first interaction
    programs = chat.program_choices(assistant_for_choices) if assistant_for_choices else []

    # uploaded inquiry files hold callers' personal data: Gradio's cache of them is emptied hourly
    with gr.Blocks(title="中小企業支援施策アシスタント", delete_cache=(3600, 3600)) as app:
        session = gr.State(None)
        gr.Markdown("# 中小企業支援施策アシスタント\n経済産業局の資料（スライド）から、出典付きで答えます。")
        gr.Markdown(f"⚠️ {chat.NOTICE}", elem_id="notice")
        status = gr.Markdown(f"**{loader.status}**", elem_id="status")
        timer = gr.Timer(1.0)
        timer.tick(status_update, outputs=[status, timer])
        with gr.Tab("チャット", id="chat-tab"):
            with gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(label="回答", elem_id="chatbot", height=520)
                    question = gr.Textbox(
                        label="質問",
                        placeholder="例: ものづくり補助金の補助率は？",
                        elem_id="question",
                        lines=2,
                        max_lines=6,
                    )
                    with gr.Row():
                        send = gr.Button("送信", variant="primary", elem_id="send")
                        clear = gr.Button("会話をリセット", elem_id="clear")
                    gr.Examples(EXAMPLES, inputs=[question], label="質問の例")
                    with gr.Accordion("この回答を評価する", open=False, elem_id="feedback-box"):
                        rating = gr.Radio(["良い", "良くない"], label="評価", elem_id="rating")
                        comment = gr.Textbox(label="コメント（任意）", elem_id="comment")
                        fb_send = gr.Button("評価を送る", elem_id="feedback-send")
                        fb_msg = gr.Markdown(elem_id="feedback-msg")
                with gr.Column(scale=2):
                    gr.Markdown("### 出典スライド")
                    sources = gr.HTML(chat.sources_html(None), elem_id="sources")
            outputs = [chatbot, session, question, sources]
            send.click(on_submit, [question, chatbot, session], outputs, api_name="ask")
            question.submit(on_submit, [question, chatbot, session], outputs, api_name=False)
            clear.click(on_clear, outputs=[chatbot, session, sources])
            fb_send.click(on_feedback, [rating, comment, session], fb_msg)
        with gr.Tab("補助額の計算", id="calc-tab"):
            with gr.Row():
                with gr.Column(scale=2):
                    program = gr.Dropdown(programs, label="制度", elem_id="calc-program")
                    edition = gr.Dropdown([], label="版（資料）", elem_id="calc-edition")
                    frame = gr.Dropdown([], label="枠・類型", elem_id="calc-frame")
                    size = gr.Radio([], label="企業規模", elem_id="calc-size")
                    employees = gr.Number(label="従業員数", precision=0, minimum=0, elem_id="calc-employees")
                    expense = gr.Textbox(label="補助対象経費（例: 1200万円）", elem_id="calc-expense")
                    conditions = gr.CheckboxGroup([], label="特例・条件", elem_id="calc-conditions")
                    calc_btn = gr.Button("計算する", variant="primary", elem_id="calc-run")
                with gr.Column(scale=3):
                    calc_out = gr.Markdown(elem_id="calc-result")
                    calc_src = gr.HTML(elem_id="calc-sources")
            program.change(on_program, program, [edition, frame])
            edition.change(on_edition, [program, edition], frame)
            calc_btn.click(
                on_calc, [program, edition, frame, size, employees, expense, conditions], [calc_out, calc_src]
            )

        with gr.Tab("問い合わせの振り分け", id="triage-tab"):
            gr.Markdown(
                "問い合わせをまとめて振り分けます。CSV（Excel の Shift-JIS も可）または JSONL、列は `id, text`。"
            )
            with gr.Row():
                tri_file = gr.File(
                    label="問い合わせファイル", file_types=[".csv", ".jsonl", ".json", ".txt"], elem_id="triage-file"
                )
                tri_today = gr.Textbox(
                    label="今日の日付（締切の判定。空欄なら今日）", placeholder="2026-03-01", elem_id="triage-today"
                )
            tri_run = gr.Button("振り分ける", variant="primary", elem_id="triage-run")
            tri_msg = gr.Markdown(elem_id="triage-msg")
            tri_table = gr.Dataframe(headers=chat.TRIAGE_HEADERS, wrap=True, elem_id="triage-table")
            tri_download = gr.File(label="結果（CSV、Excel で開けます）", elem_id="triage-download")

            def on_triage(path, today):
                engine = loader.triage()
                if engine is None:
                    return loader.status, [], None
                return chat.run_triage_file(engine, path, today, loader.output_dir())

            tri_run.click(on_triage, [tri_file, tri_today], [tri_msg, tri_table, tri_download])

        def fill_choices():
            assistant = _assistant()
            if assistant is None:
                return gr.update(), gr.update(), gr.update()
            return (
                gr.update(choices=chat.program_choices(assistant)),
                gr.update(choices=chat.size_choices(assistant), value=""),
                gr.update(choices=chat.condition_choices(assistant)),
            )

        app.load(fill_choices, outputs=[program, size, conditions])
    return app


def main(argv: list[str] | None = None) -> None:
    """``python app.py [--host H] [--port P]``: start the app on the embedded defaults (localhost)."""
    import argparse

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline: no telemetry calls
    parser = argparse.ArgumentParser(description="中小企業支援施策アシスタント（Gradio アプリ）")
    parser.add_argument("--host", help="待ち受けるアドレス（既定: 127.0.0.1）")
    parser.add_argument("--port", type=int, help="ポート番号（既定: 7860、環境変数 ASSISTANT_PORT）")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env(host=args.host, port=args.port)
    except AssistantError as exc:
        raise SystemExit(f"エラー: {exc}") from exc
    loader = Loader(settings).start()
    app = build_app(loader)
    app.queue()  # one answer at a time: the tokenizer and the model are shared; an answer takes milliseconds
    print(f"アプリを起動します: http://{settings.host}:{settings.port}/", flush=True)
    app.launch(
        server_name=settings.host,
        server_port=settings.port,
        share=False,
        show_error=False,
        css=CSS,
        ssr_mode=False,
        footer_links=[],
        quiet=True,
    )
