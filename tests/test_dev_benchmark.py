"""The development benchmark: the data is valid, and quality does not drop below the README's figures."""

import re
from collections import Counter

import pytest

from assistant.evaluation import evaluate, gold_slides, load_dataset
from assistant.settings import REPO_ROOT
from assistant.text import clean_line

DATASET = REPO_ROOT / "eval" / "qa_dev.yaml"
TOLERANCE = 0.05
QUALITY_ROWS = ("hit1", "hit5", "mrr", "fragment_accuracy", "abstention_accuracy")


def test_dataset_shape():
    items = load_dataset(DATASET)
    kinds = Counter(i.kind for i in items)
    assert len(items) >= 80
    assert kinds["paraphrase"] >= 10 and kinds["conflict"] >= 10 and kinds["out_of_scope"] >= 10
    decks = {g.source_file for i in items for g in i.gold}
    assert len(decks) == 4
    assert all(i.must_abstain == (i.kind == "out_of_scope") for i in items)


def test_every_gold_quote_is_found_on_one_slide(corpus):
    for item in load_dataset(DATASET):
        slides = gold_slides(item, corpus)  # raises when a quote is on no slide
        assert bool(slides) != item.must_abstain, item.id


def test_expected_fragments_are_on_the_gold_slides(corpus):
    for item in load_dataset(DATASET):
        if not item.expected:
            continue
        text = "\n".join(corpus.slide(f, n).text for f, n in gold_slides(item, corpus))
        for fragment in item.expected:
            assert clean_line(fragment) in text, (item.id, fragment)


def readme_figures() -> dict[str, dict[str, float]]:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- dev-benchmark -->")[1].split("<!-- /dev-benchmark -->")[0]
    rows = [r.strip().strip("|").split("|") for r in block.strip().splitlines() if r.startswith("|")]
    modes = [c.strip() for c in rows[0][1:]]
    figures: dict[str, dict[str, float]] = {m: {} for m in modes}
    for row in rows[2:]:
        name = row[0].strip()
        for mode, cell in zip(modes, row[1:], strict=True):
            if re.fullmatch(r"[\d.]+", cell.strip()):
                figures[mode][name] = float(cell)
    return figures


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_quality_does_not_regress_below_the_readme(assistant, mode):
    recorded = readme_figures()[mode]
    result = evaluate(assistant, load_dataset(DATASET), mode)
    for name in QUALITY_ROWS:
        assert getattr(result, name) >= recorded[name] - TOLERANCE, (mode, name, getattr(result, name), recorded[name])
