"""The subsidy calculator: rule data checked against the slides, the worked cases, and properties of the arithmetic."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.errors import DataError, InputError
from assistant.ingest.corpus import load_corpus
from assistant.tools.calculator import CalcRequest, MissingInputs, calculate
from assistant.tools.rules import CASES_SUFFIX, load_rulebook, rules_dir
from assistant.yamlio import load_yaml

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


@pytest.fixture(scope="module")
def book():
    return load_rulebook(load_corpus(CORPUS), CORPUS)


def _cases() -> list:
    out = []
    for path in sorted(rules_dir(CORPUS).glob(f"*{CASES_SUFFIX}")):
        for case in load_yaml(path):
            out.append(pytest.param(case, id=f"{path.name.removesuffix(CASES_SUFFIX)}: {case['name']}"))
    return out


CASES = _cases()


def _request(data: dict) -> CalcRequest:
    data = dict(data)
    data["conditions"] = frozenset(data.get("conditions", []))
    return CalcRequest(**data)


def test_there_are_at_least_40_worked_cases():
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES)
def test_worked_case(book, case):
    expect = case["expect"]
    req = _request(case["input"])
    if "missing" in expect:
        with pytest.raises(MissingInputs) as err:
            calculate(req, book)
        assert [m.key for m in err.value.missing] == expect["missing"]
        return
    if "error" in expect:
        with pytest.raises(InputError) as err:
            calculate(req, book)
        assert expect["error"] in str(err.value)
        return
    result = calculate(req, book).to_dict()
    for key, value in expect.items():
        got = result["edition"]["id"] if key == "edition" else result[key]
        if key.endswith("_range_yen"):
            value = list(value)
        assert got == value, f"{key}: {got} != {value}\n" + "\n".join(result["steps"])
    assert result["sources"], "every result cites its slides"


def test_every_rule_source_quote_occurs_on_its_slide(book):
    # load_rulebook already refuses a quote that is not on its slide; this pins that every rule has been checked
    quotes = [
        src
        for rules in book.programs.values()
        for ed in rules.editions
        for fr in ed.frames
        for item in [*fr.caps, *fr.uplifts, *fr.rates, *([fr.minimum] if fr.minimum else [])]
        for src in item.source
    ]
    slides = {(s.source_file, s.number): " ".join(s.text.split()) for s in book.corpus.slides}
    for src in quotes:
        assert " ".join(src.quote.split()) in slides[(src.file, src.slide)], src


def test_a_quote_not_on_its_slide_is_refused(tmp_path):
    import shutil

    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    path = corpus / "rules" / "shoryokuka.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("従業員数6~20名;500万円(750万円)", "従業員数6~20名;600万円"),
        encoding="utf-8",
    )
    with pytest.raises(DataError, match=r"shoryokuka\.yaml"):
        load_rulebook(load_corpus(corpus), corpus)


def test_duplicate_keys_and_unknown_keys_are_refused(tmp_path):
    import shutil

    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    path = corpus / "rules" / "shoryokuka.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("program: shoryokuka\n", "program: shoryokuka\nprogram: shoryokuka\n"), encoding="utf-8"
    )
    with pytest.raises(DataError, match="重複"):
        load_rulebook(load_corpus(corpus), corpus)
    path.write_text(text.replace("    notes: 002", "    note: 002"), encoding="utf-8")
    with pytest.raises(DataError, match=r"shoryokuka\.yaml"):
        load_rulebook(load_corpus(corpus), corpus)


# ------------------------------------------------------------------------------------------------ properties


def _frames(book):
    return [
        (rules.program, ed.id, fr.id) for rules in book.programs.values() for ed in rules.editions for fr in ed.frames
    ]


SIZES = st.sampled_from([None, "small", "sme", "mid", "large"])
CONDS = st.frozensets(
    st.sampled_from(
        [
            "invoice",
            "wage_raise",
            "large_wage_raise",
            "deficit",
            "saisei",
            "min_wage_near",
            "min_wage_raise",
            "high_income",
            "covid_recovery",
        ]
    )
)


def _calc_or_none(book, req):
    try:
        return calculate(req, book)
    except InputError:
        return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.data(),
    size=SIZES,
    employees=st.one_of(st.none(), st.integers(0, 2000)),
    expense=st.integers(1, 10**10),
    conditions=CONDS,
)
def test_amount_never_exceeds_cap_or_expense_and_grows_with_expense(book, data, size, employees, expense, conditions):
    program, edition, frame = data.draw(st.sampled_from(_frames(book)))
    req = CalcRequest(program, frame, edition, size, employees, expense, conditions)
    result = _calc_or_none(book, req)
    if result is None:
        return
    if result.subsidy_yen is not None:
        assert 0 <= result.subsidy_yen <= expense
        if result.cap_yen is not None:
            assert result.subsidy_yen <= result.cap_yen
        if result.cap_range_yen is not None:
            assert result.subsidy_yen <= result.cap_range_yen[1]
    if result.subsidy_range_yen is not None:
        lo, hi = result.subsidy_range_yen
        assert hi <= expense and (lo is None or lo <= hi)
    bigger = _calc_or_none(
        book,
        CalcRequest(program, frame, edition, size, employees, expense + data.draw(st.integers(1, 10**9)), conditions),
    )
    assert bigger is not None
    if result.subsidy_yen is not None and bigger.subsidy_yen is not None:
        assert bigger.subsidy_yen >= result.subsidy_yen
    if result.subsidy_range_yen is not None and bigger.subsidy_range_yen is not None:
        assert bigger.subsidy_range_yen[1] >= result.subsidy_range_yen[1]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    program=st.text(max_size=20) | st.sampled_from(["monodukuri", "jizokuka", "it_dounyu", "shoryokuka"]),
    frame=st.none() | st.text(max_size=10),
    edition=st.none() | st.text(max_size=10),
    size=st.none() | st.text(max_size=5),
    employees=st.none() | st.integers(-10, 10**7),
    expense=st.none() | st.integers(-(10**13), 10**13) | st.floats(allow_nan=True),
    conditions=st.frozensets(st.text(max_size=8), max_size=3) | CONDS,
)
def test_never_crashes_on_any_input(book, program, frame, edition, size, employees, expense, conditions):
    try:
        result = calculate(CalcRequest(program, frame, edition, size, employees, expense, conditions), book)
    except InputError as exc:
        assert str(exc)  # a message for the user, never a stack trace
        return
    assert result.steps and result.sources
