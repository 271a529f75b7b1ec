"""Every condition of the knowledge base, checked against the whole base and compiled once.

A section's own models check what they can alone (a fact name exists, its test fits its kind).
What needs the whole base is checked here: named conditions and thresholds exist, a threshold is
in the unit of the fact it is compared with, the drugs and steps a fact names exist, named
conditions do not refer to themselves, and no rule uses a fact of a later stage of the
assessment than its own (a differential rule cannot read the criteria, which depend on it).
:func:`program_of` then compiles every condition into Python (``knowledge/rules.py``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from alscare.knowledge.facts import CATALOGUE, DOMAINS, FactName, FactSpec, Stage, parse_fact_name
from alscare.knowledge.rules import (
    AllOf,
    AnyOf,
    Compiled,
    Condition,
    Explainer,
    FactTest,
    NotOf,
    Ref,
    RuleLibrary,
    compile_conditions,
    conditions_in,
)

if TYPE_CHECKING:
    from alscare.knowledge.models import KnowledgeBase

__all__ = [
    "Program",
    "RuleProblem",
    "program_of",
    "root_conditions",
    "root_conditions_of",
    "rule_problems",
]

_CONDITION_TYPES = (AllOf, AnyOf, NotOf, Ref, FactTest)
Path = tuple[str, ...]

# The latest stage whose facts a rule at this place may read (by section, then by field).
_STAGE_LIMITS: dict[Path, Stage] = {
    ("scoring",): Stage.RECORD,
    ("diagnosis", "differentials"): Stage.REGIONS,
    ("diagnosis",): Stage.CRITERIA,
    ("treatment",): Stage.RECOMMENDATIONS,
}


@dataclass(frozen=True)
class RuleProblem:
    """A fault of one condition: where it is (section, fields and ids) and why."""

    path: Path
    reason: str


@dataclass(frozen=True)
class Program:
    """The compiled function of every condition of one knowledge base, by the condition, and
    every fact name the conditions use, matched to its catalogue entry. ``prepared`` keeps what
    a reader of the program derives from it once per knowledge base (the engine's table of fact
    functions by name)."""

    functions: dict[int, Compiled]
    named: dict[str, Compiled]
    why: dict[int, Explainer]
    why_named: dict[tuple[str, bool], Explainer]
    fact_names: dict[str, FactName]
    prepared: dict[str, Any] = field(default_factory=dict)

    def __call__(self, condition: Condition) -> Compiled:
        return self.functions[id(condition)]


def root_conditions(node: object, path: Path = ()) -> Iterator[tuple[Path, Condition]]:
    """Every condition that is a field of a model inside ``node`` (not its nested parts)."""
    if isinstance(node, _CONDITION_TYPES):
        yield path, node
        return
    if isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from root_conditions(getattr(node, name), (*path, name))
    elif isinstance(node, tuple | list):
        for index, item in enumerate(node):
            label = getattr(item, "id", None)
            yield from root_conditions(item, (*path, str(label if label is not None else index)))


def root_conditions_of(kb: KnowledgeBase) -> Iterator[tuple[Path, Condition]]:
    """Every root condition of the knowledge base, named conditions included."""
    for section, model in _sections(kb):
        yield from root_conditions(model, (section,))


def _sections(kb: KnowledgeBase) -> Iterator[tuple[str, BaseModel]]:
    for name in ("rules", "scoring", "diagnosis", "treatment"):
        yield name, getattr(kb, name)


def _stage_limit(path: Path) -> Stage | None:
    for length in (2, 1):
        limit = _STAGE_LIMITS.get(path[:length])
        if limit is not None:
            return limit
    return None  # named conditions: checked where they are used


def _ids(kb: KnowledgeBase) -> dict[str, set[str]]:
    return {
        "drugs": {drug.id for drug in kb.treatment.drugs},
        "steps": {step.id for _, step in kb.treatment.steps()},
    }


def _leaf_problems(leaf: FactTest, library: RuleLibrary, ids: dict[str, set[str]]) -> list[str]:
    problems = []
    threshold_id = leaf.threshold_id
    if threshold_id is not None:
        threshold = library.threshold_by_id.get(threshold_id)
        if threshold is None:
            problems.append(f"unknown threshold: {threshold_id}")
        elif threshold.unit != leaf.spec.unit:
            problems.append(
                f"threshold {threshold_id} is in {threshold.unit}, "
                f"fact {leaf.fact} in {leaf.spec.unit}"
            )
    for kind, item in leaf.name.kb_ids:
        if item not in ids[kind]:
            problems.append(f"fact {leaf.fact} names an unknown {kind.removesuffix('s')}: {item}")
    return problems


def _latest_stage(condition: Condition, library: RuleLibrary, trail: tuple[str, ...]) -> Stage:
    """The latest stage of any fact the condition reads, through its references."""
    latest = Stage.RECORD
    for part in conditions_in(condition):
        if isinstance(part, FactTest):
            latest = max(latest, part.spec.stage)
        elif isinstance(part, Ref) and part.ref not in trail:
            named = library.condition_by_id.get(part.ref)
            if named is not None:
                latest = max(latest, _latest_stage(named.when, library, (*trail, part.ref)))
    return latest


def _cycle(library: RuleLibrary) -> tuple[str, ...] | None:
    """A named condition that refers to itself, with the trail that shows it."""

    def visit(condition_id: str, trail: tuple[str, ...]) -> tuple[str, ...] | None:
        if condition_id in trail:
            return (*trail, condition_id)
        named = library.condition_by_id.get(condition_id)
        if named is None:
            return None
        for part in conditions_in(named.when):
            if isinstance(part, Ref):
                found = visit(part.ref, (*trail, condition_id))
                if found:
                    return found
        return None

    for named in library.conditions:
        found = visit(named.id, ())
        if found:
            return found
    return None


def rule_problems(kb: KnowledgeBase) -> list[RuleProblem]:
    """Every fault of the base's conditions that only the whole base shows."""
    library, ids = kb.rules, _ids(kb)
    problems: list[RuleProblem] = []
    cycle = _cycle(library)
    if cycle:
        path: Path = ("rules", "conditions", cycle[0], "when")
        problems.append(RuleProblem(path, "refers to itself through " + " -> ".join(cycle)))
        return problems
    for named in library.conditions:
        # A named condition is worked out once per assessment, so it cannot read the steps of
        # the treatment algorithm, which are decided one after another.
        if _latest_stage(named.when, library, (named.id,)) >= Stage.RECOMMENDATIONS:
            path = ("rules", "conditions", named.id, "when")
            problems.append(RuleProblem(path, "a named condition cannot test a recommendation"))
    for section, model in _sections(kb):
        for path, condition in root_conditions(model, (section,)):
            for part in conditions_in(condition):
                reasons: list[str] = []
                if isinstance(part, Ref) and part.ref not in library.condition_by_id:
                    reasons.append(f"refers to an unknown condition: {part.ref}")
                elif isinstance(part, FactTest):
                    reasons.extend(_leaf_problems(part, library, ids))
                problems.extend(RuleProblem(path, reason) for reason in reasons)
            limit = _stage_limit(path)
            if limit is not None and _latest_stage(condition, library, ()) > limit:
                problems.append(
                    RuleProblem(path, f"reads facts of a later stage than {limit.name.lower()}")
                )
    problems.extend(_follow_up_problems(kb))
    return problems


def _follow_up_problems(kb: KnowledgeBase) -> Iterator[RuleProblem]:
    """A follow-up item's measurements need a repeat window, and its alert some rule."""
    windows, alerts = kb.rules.window_by_measurement, kb.treatment.rules_by_alert
    for item in kb.treatment.follow_up:
        path: Path = ("treatment", "follow_up", item.id)
        for measurement in (item.measurement, *item.based_on):
            if measurement is not None and measurement not in windows:
                yield RuleProblem((*path, "measurement"), f"{measurement} has no repeat window")
        if item.alert is not None and item.alert not in alerts:
            yield RuleProblem((*path, "alert"), f"no rule raises the alert {item.alert}")


def _fact_names(kb: KnowledgeBase, roots: Iterable[Condition]) -> dict[str, FactName]:
    """Every fact name the conditions use, and every name of a pattern whose placeholders take
    a known list of values (the engine asks for those too), matched once."""
    names = {
        part.fact: part.name
        for condition in roots
        for part in conditions_in(condition)
        if isinstance(part, FactTest)
    }
    ids = _ids(kb)
    for spec in CATALOGUE:
        for name in _expansions(spec, ids):
            names.setdefault(name, parse_fact_name(name))
    return names


def _expansions(spec: FactSpec, ids: dict[str, set[str]]) -> Iterator[str]:
    choices: list[tuple[str, ...]] = []
    for part in spec.parts:
        if not part.startswith("{"):
            choices.append((part,))
            continue
        domain = DOMAINS[part.strip("{}")]
        if isinstance(domain, tuple):
            choices.append(domain)
        elif domain.startswith("kb:"):
            choices.append(tuple(sorted(ids[domain.removeprefix("kb:")])))
        else:
            return  # an open domain (gene symbols): only the names the conditions use
    for combination in itertools.product(*choices):
        yield ".".join(combination)


def program_of(kb: KnowledgeBase) -> Program:
    """The compiled conditions of ``kb``: compiled on first use and kept with the sections
    they were compiled from (a copy of the base with other sections compiles anew)."""
    sections = tuple(model for _, model in _sections(kb))
    cached = kb.__dict__.get("_program")
    if cached is not None and all(a is b for a, b in zip(cached[0], sections, strict=True)):
        program: Program = cached[1]
        return program
    roots = {
        id(condition): condition
        for _, model in _sections(kb)
        for _, condition in root_conditions(model)
    }
    compiled = compile_conditions(roots, kb.rules)
    program = Program(
        compiled.rules,
        compiled.named,
        compiled.why,
        compiled.why_named,
        _fact_names(kb, roots.values()),
    )
    kb.__dict__["_program"] = (sections, program)  # a cache, not a field
    return program
