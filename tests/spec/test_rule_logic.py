"""The rule language's logic, as truth tables: Kleene's three-valued ``all``, ``any`` and ``not``,
``if_unknown`` at a leaf, and ``present`` that is never unknown. Each table is checked on the
compiled functions (what an assessment runs) and on the interpreter (the reference); a property
test checks the two agree on any condition. The tables double as the reference of docs/rules.md.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from alscare.knowledge.rules import Condition, FactValue, RuleLibrary, compile_conditions, evaluate

T, F, U = True, False, None
VALUES = (T, F, U)
CONDITION: TypeAdapter[Condition] = TypeAdapter(Condition)

# Two yes/no facts that may be unknown, the leaves of the tables.
A, B = "patient.progressive", "finding.ptosis"


def _condition(data: dict[str, Any]) -> Condition:
    return CONDITION.validate_python(data)


def _both(kb: Any, data: dict[str, Any], values: dict[str, FactValue]) -> tuple[Any, Any]:
    """The value of a condition compiled and interpreted."""
    condition = _condition(data)
    library: RuleLibrary = kb.rules
    compiled = compile_conditions({"c": condition}, library).rules
    with_refs = _Values(values, library)
    return compiled["c"](with_refs), evaluate(condition, values, library)


class _Values(dict[str, FactValue]):
    """Fact values, with named conditions worked out on demand (as the engine does)."""

    def __init__(self, values: dict[str, FactValue], library: RuleLibrary) -> None:
        super().__init__(values)
        self.library = library

    def __missing__(self, name: str) -> FactValue:
        assert name.startswith("@"), name
        return evaluate(self.library.condition_by_id[name[1:]].when, self, self.library)


def _leaf(name: str) -> dict[str, Any]:
    return {"fact": name, "is": True}


# Kleene: false dominates all, true dominates any, unknown otherwise.
ALL = {
    (a, b): (F if F in (a, b) else U if U in (a, b) else T)
    for a, b in itertools.product(VALUES, VALUES)
}
ANY = {
    (a, b): (T if T in (a, b) else U if U in (a, b) else F)
    for a, b in itertools.product(VALUES, VALUES)
}
NOT = {T: F, F: T, U: U}


@pytest.mark.parametrize(("a", "b"), list(ALL))
def test_logic_all_truth_table(kb, a, b):
    assert _both(kb, {"all": [_leaf(A), _leaf(B)]}, {A: a, B: b}) == (ALL[a, b], ALL[a, b])


@pytest.mark.parametrize(("a", "b"), list(ANY))
def test_logic_any_truth_table(kb, a, b):
    assert _both(kb, {"any": [_leaf(A), _leaf(B)]}, {A: a, B: b}) == (ANY[a, b], ANY[a, b])


@pytest.mark.parametrize("a", VALUES)
def test_logic_not_truth_table(kb, a):
    assert _both(kb, {"not": _leaf(A)}, {A: a}) == (NOT[a], NOT[a])


@pytest.mark.parametrize(
    ("if_unknown", "value", "expected"),
    [(None, U, U), (False, U, F), (True, U, T), (False, T, T), (True, F, F)],
)
def test_logic_if_unknown_decides_only_an_unknown_leaf(kb, if_unknown, value, expected):
    leaf: dict[str, Any] = {"fact": A, "is": True}
    if if_unknown is not None:
        leaf["if_unknown"] = if_unknown
    assert _both(kb, leaf, {A: value}) == (expected, expected)


def test_logic_if_unknown_false_under_not_reads_unknown_as_absent(kb):
    # "not on NIV" holds for a record that says nothing about NIV only because the leaf says so
    condition = {"not": {"fact": A, "is": True, "if_unknown": False}}
    assert _both(kb, condition, {A: U}) == (T, T)
    assert _both(kb, {"not": _leaf(A)}, {A: U}) == (U, U)


@pytest.mark.parametrize(
    ("value", "present", "absent"),
    [(U, F, T), ((), F, T), (("orthopnea",), T, F)],
)
def test_logic_present_is_never_unknown(kb, value, present, absent):
    name = "respiratory.symptoms"
    assert _both(kb, {"fact": name, "present": True}, {name: value}) == (present, present)
    assert _both(kb, {"fact": name, "present": False}, {name: value}) == (absent, absent)


@pytest.mark.parametrize(
    ("test", "value", "expected"),
    [
        ({"below": 18.5}, 18.46, T),  # an unrounded value meets the threshold
        ({"below": 18.5}, 18.5, F),
        ({"at_most": 18.5}, 18.5, T),
        ({"at_least": 18.5}, 18.49, F),
        ({"above": 18.5}, 18.51, T),
        ({"below": "gastrostomy_bmi"}, 18.46, T),  # a named threshold is its value
        ({"below": 18.5}, U, U),
    ],
)
def test_logic_comparisons(kb, test, value, expected):
    name = "nutrition.bmi"
    assert _both(kb, {"fact": name, **test}, {name: value}) == (expected, expected)


@pytest.mark.parametrize(
    ("test", "value", "expected"),
    [
        ({"is": "bulbar"}, "bulbar", T),
        ({"is": "bulbar"}, "cervical", F),
        ({"in": ["bulbar", "cervical"]}, "cervical", T),
        ({"in": ["bulbar"]}, U, U),
    ],
)
def test_logic_text_tests(kb, test, value, expected):
    name = "patient.onset_site"
    assert _both(kb, {"fact": name, **test}, {name: value}) == (expected, expected)


def test_logic_includes_any_of_the_texts(kb):
    name = "respiratory.symptoms"
    condition = {"fact": name, "includes": ["orthopnea", "morning_headache"]}
    assert _both(kb, condition, {name: ("morning_headache",)}) == (T, T)
    assert _both(kb, condition, {name: ("unrefreshing_sleep",)}) == (F, F)


def test_logic_named_condition_is_its_condition(kb):
    # rapid_progression: progression rate above the fast band
    name = "alsfrs_r.progression_rate"
    assert _both(kb, {"ref": "rapid_progression"}, {name: 1.2}) == (T, T)
    assert _both(kb, {"ref": "rapid_progression"}, {name: 0.8}) == (F, F)
    assert _both(kb, {"ref": "rapid_progression"}, {name: U}) == (U, U)


# --- compiled and interpreted agree on any condition ------------------------------------------

_LEAVES = st.sampled_from(
    [
        {"fact": A, "is": True},
        {"fact": B, "is": False},
        {"fact": A, "is": True, "if_unknown": False},
        {"fact": "nutrition.bmi", "below": 18.5},
        {"fact": "nutrition.bmi", "present": True},
        {"fact": "patient.onset_site", "in": ["bulbar", "cervical"]},
    ]
)
_TREES = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.builds(lambda parts: {"all": parts}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda parts: {"any": parts}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda part: {"not": part}, inner),
    ),
    max_leaves=8,
)
_FACTS = st.fixed_dictionaries(
    {
        A: st.sampled_from(VALUES),
        B: st.sampled_from(VALUES),
        "nutrition.bmi": st.one_of(st.none(), st.floats(10, 30)),
        "patient.onset_site": st.sampled_from([None, "bulbar", "lumbosacral"]),
    }
)


@given(tree=_TREES, values=_FACTS)
def test_property_compiled_condition_equals_interpreter(kb, tree, values):
    compiled, interpreted = _both(kb, tree, values)
    assert compiled is interpreted
