"""One frozen settings object, built at the entry point from ASSISTANT_* env vars and CLI flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_EMBED_MODEL = "ja-ginza-static"
RETRIEVER_MODES = ("hybrid", "bm25", "dense")


@dataclass(frozen=True)
class Settings:
    """Where state lives and how retrieval behaves."""

    corpus_dir: Path = REPO_ROOT / "corpus"
    index_dir: Path = REPO_ROOT / "index"
    embed_model: str = DEFAULT_EMBED_MODEL
    retriever: str = "hybrid"
    top_k: int = 5
    rrf_k: int = 60
    max_question_chars: int = 2000
    host: str = "127.0.0.1"
    port: int = 7860
    feedback_file: Path = REPO_ROOT / "feedback" / "feedback.jsonl"
    log_questions: bool = False  # ASSISTANT_LOG_QUESTIONS=1: evaluators' log of questions, personal data masked
    question_log: Path = REPO_ROOT / "logs" / "questions.jsonl"
    chroma_url: str = ""  # a chromadb server (http://host:port); empty: the embedded store under index_dir
    # optional generative answers (assistant/generate): empty = the extractive composer only
    generator: str = ""  # ollama:MODEL / openai:MODEL / transformers:PATH / gemma3-270m (PyPI package)
    generator_url: str = ""  # base URL of the Ollama or OpenAI-compatible server
    generator_api_key: str = field(default="", repr=False)  # OpenAI-compatible key (else OPENAI_API_KEY)
    generator_max_tokens: int = 400
    generator_timeout: float = 120.0  # seconds for one answer; past it, the extractive answer is shown
    generator_slides: int = 4  # retrieved slides the model reads
    model_cache: Path = Path.home() / ".cache" / "support-measure-assistant"  # converted local models
    # triage: past inquiries with the programs chosen for them (a folder of triage_*.yaml, or one such file)
    triage_examples: Path = REPO_ROOT / "eval"
    triage_use_examples: bool = True  # ASSISTANT_TRIAGE_USE_EXAMPLES=0: triage from the slides alone

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Build settings from ASSISTANT_* variables, then apply non-None overrides (CLI flags)."""
        env = dict(os.environ if env is None else env)
        values: dict[str, object] = {}
        home = env.get("ASSISTANT_HOME")
        if home:
            values["corpus_dir"] = Path(home) / "corpus"
            values["index_dir"] = Path(home) / "index"
            values["feedback_file"] = Path(home) / "feedback" / "feedback.jsonl"
            values["question_log"] = Path(home) / "logs" / "questions.jsonl"
        for f in fields(cls):
            name = f"ASSISTANT_{f.name.upper()}"
            raw = env.get(name)
            if raw is None or raw.strip() == "":
                continue
            values[f.name] = _coerce(f.type, raw.strip(), name)
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def validate(self) -> None:
        from .errors import InputError

        if self.retriever not in RETRIEVER_MODES:
            modes = " / ".join(RETRIEVER_MODES)
            raise InputError(f"検索方式「{self.retriever}」は使えません。{modes} のいずれかを指定してください。")
        if not 1 <= self.top_k <= 50:
            raise InputError("top_k は 1〜50 の範囲で指定してください。")
        if not 0 <= self.port <= 65535:
            raise InputError("ポート番号は 0〜65535 で指定してください。")
        if self.chroma_url:
            from .index.vectors import check_chroma_url

            check_chroma_url(self.chroma_url)
        if self.generator:
            from .generate.spec import parse_spec

            parse_spec(self.generator)
        if not 1 <= self.generator_slides <= 20:
            raise InputError("generator_slides は 1〜20 の範囲で指定してください。")
        if not 16 <= self.generator_max_tokens <= 8192:
            raise InputError("generator_max_tokens は 16〜8192 の範囲で指定してください。")
        if not 1 <= self.generator_timeout <= 3600:
            raise InputError("generator_timeout は 1〜3600 秒の範囲で指定してください。")

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _coerce(type_name: object, raw: str, var: str) -> object:
    from .errors import InputError

    name = str(type_name)
    if "Path" in name:
        return Path(raw)
    if "bool" in name:
        if raw.lower() in _TRUE + _FALSE:
            return raw.lower() in _TRUE
        raise InputError(f"環境変数 {var} は 1 か 0（true / false）で指定してください（指定: {raw[:40]}）。")
    try:
        if "int" in name:
            return int(raw)
        if "float" in name:
            return float(raw)
    except ValueError:
        raise InputError(f"環境変数 {var} は数値で指定してください（指定: {raw[:40]}）。") from None
    return raw
