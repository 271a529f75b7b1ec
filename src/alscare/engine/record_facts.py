"""The facts the record gives (stage ``record`` of the catalogue), one function each.

Each function takes the :class:`~alscare.engine.facts.Facts` of the assessment and the
placeholder values of its pattern, and returns a :class:`~alscare.engine.facts.Fact`: the value
(unrounded; None when the record cannot give it) and the sentence that states it with its date.
A measurement older than its repeat window says so, with its age, in its sentence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from alscare.engine.facts import Fact, FactFunctions, Facts, number_text, on
from alscare.engine.state import (
    EMG_FINDINGS,
    PatientState,
    RegionExam,
    first_day_past,
    months_between,
)
from alscare.knowledge import KnowledgeBase
from alscare.knowledge.diagnosis import Investigation
from alscare.knowledge.treatment import Drug
from alscare.schemas.common import GeneticResultEntry, LabValue, RespiratoryMeasurement, TestEntry
from alscare.schemas.patient import (
    CareEvent,
    CognitionEntry,
    Finding,
    InterventionRecord,
    Medication,
)
from alscare.schemas.vocabulary import (
    AlsfrsItem,
    CareKind,
    InterventionEvent,
    InterventionKind,
    Jurisdiction,
    LabId,
    Region,
    TestResult,
)

__all__ = [
    "RECORD_FACTS",
    "canonical_value",
    "current_medication",
    "finding_statements",
    "measured_on",
    "stale",
    "test_sentence",
]

RECORD_FACTS = FactFunctions()
fact = RECORD_FACTS.register
family = RECORD_FACTS.family


def _words(identifier: str) -> str:
    return identifier.replace("_", " ")


# --- dates and staleness --------------------------------------------------------------------------


def stale(kb: KnowledgeBase, measurement: str, date: dt.date, as_of: dt.date) -> bool:
    """Whether a measurement of ``date`` is older than its repeat window on ``as_of``."""
    window = kb.rules.window_by_measurement.get(measurement)
    return window is not None and months_between(date, as_of) > window.months


def measured_on(facts: Facts, measurement: str, date: dt.date) -> str:
    """`` on DATE``, with the age and the window when the measurement is stale."""
    as_of = facts.state.as_of
    if not stale(facts.kb, measurement, date, as_of):
        return f" on {date}"
    return f" on {date} ({how_stale(facts.kb, measurement, date, as_of)})"


def how_stale(kb: KnowledgeBase, measurement: str, date: dt.date, as_of: dt.date) -> str:
    """``8 months old: stale, past the 3-month repeat window``: the one wording of staleness."""
    window = kb.rules.window_by_measurement[measurement]
    age = number_text(months_between(date, as_of))
    return f"{age} months old: stale, past the {number_text(window.months)}-month repeat window"


def _window_sources(facts: Facts, measurement: str, date: dt.date) -> tuple[str, ...]:
    if not stale(facts.kb, measurement, date, facts.state.as_of):
        return ()
    return facts.kb.rules.window_by_measurement[measurement].source_ids


# --- findings, examination, EMG -------------------------------------------------------------------


class _DatedEntry(Protocol):
    @property
    def date(self) -> dt.date: ...
    @property
    def date_inferred(self) -> bool: ...


def _dated(entry: _DatedEntry) -> str:
    """`` on <date>`` of an entry, saying so when the v1 upgrade supplied the date."""
    return on(entry.date, entry.date_inferred)


def _statement(entry: Finding, label: str) -> str:
    where = f" ({entry.region.value} region)" if entry.region is not None else ""
    state = "present" if entry.present else "absent"
    return f"{label}{where} recorded {state}{_dated(entry)}"


# A statement about a finding or a sign: what it says, and the sentence that says it (written
# only when a reason quotes it).
Said = tuple[bool, Callable[[], str]]


def _entry_statements(entries: Iterable[Finding], label: str) -> list[Said]:
    return [(entry.present, partial(_statement, entry, label)) for entry in entries]


def _sign_sentence(found: bool, sign: str, region: str, exam: RegionExam) -> str:
    prefix = "" if found else "no "
    when = on(exam.date, exam.inferred)
    return f"{prefix}{_words(sign)} on examination of the {region} region{when}"


def _exam_sign_statements(state: PatientState, sign: str, regions: Iterable[Region]) -> list[Said]:
    """What the current examination of each region says about a sign (a sign not recorded in
    an examined region was not found)."""
    said: list[Said] = []
    for region in regions:
        exam = state.exam.get(region)
        if exam is not None:
            found = getattr(exam.signs, sign) is True
            said.append((found, partial(_sign_sentence, found, sign, region.value, exam)))
    return said


def _screen_sentence(value: bool, label: str, screen: CognitionEntry) -> str:
    said = "recorded" if value else "not found"
    return f"{label} {said} on the cognitive screen{_dated(screen)}"


def _screen_statement(state: PatientState, field: str, label: str) -> list[Said]:
    for screen in reversed(state.cognition):
        value = getattr(screen, field)
        if value is not None:
            return [(value, partial(_screen_sentence, value, label, screen))]
    return []


def _finding_said(facts: Facts, finding_id: str) -> list[Said]:
    """Every current statement about a finding: its entries, the same sign on a region's current
    examination, the same field of the latest screen."""
    topic = facts.topic_findings[finding_id]
    state = facts.state
    entries = state.findings.get(finding_id)
    said = (
        _entry_statements(_where_it_belongs(entries, topic.region), topic.label) if entries else []
    )
    if topic.exam_sign is not None:
        regions = (topic.region,) if topic.region is not None else _REGIONS
        said += _exam_sign_statements(state, topic.exam_sign, regions)
    if topic.screen_field is not None:
        said += _screen_statement(state, topic.screen_field, topic.label)
    return said


_REGIONS = tuple(Region)


def _where_it_belongs(
    entries: dict[str | None, Finding], region: Region | None
) -> Iterable[Finding]:
    """The entries that speak of a finding of one region (foot drop: lumbosacral): those of
    that region or of none. Looked for elsewhere, it was not looked for at all."""
    if region is None:
        return entries.values()
    return [entry for where, entry in entries.items() if where is None or where == region]


def _deciding(said: list[Said]) -> tuple[bool | None, list[Said]]:
    """Present when a statement says so; absent when every statement says absent; unknown when
    there is none: the one answer to "is this finding present?"."""
    present = [item for item in said if item[0]]
    if present:
        return True, present
    return (False, said) if said else (None, [])


def finding_statements(facts: Facts, finding_id: str) -> tuple[bool | None, tuple[str, ...]]:
    """Whether a finding is present, and the sentences of the statements that decide it."""
    value, deciding = _deciding(_finding_said(facts, finding_id))
    return value, tuple(sentence() for _, sentence in deciding)


def _joined(deciding: list[Said]) -> Callable[[], str]:
    return lambda: "; ".join(sentence() for _, sentence in deciding)


def _decided(said: list[Said], unknown: str) -> Fact:
    value, deciding = _deciding(said)
    return Fact(value, _joined(deciding) if deciding else unknown)


def _unrecorded_findings(kb: KnowledgeBase) -> dict[str, Fact]:
    """The fact of every finding as it stands when the record says nothing of it."""
    return {f"finding.{f.id}": Fact(None, f"{f.label}: not recorded") for f in kb.topic.findings}


def _said_elsewhere(kb: KnowledgeBase) -> tuple[str, ...]:
    """The findings the topic equates with an examination sign or a screen field."""
    return tuple(f.id for f in kb.topic.findings if f.exam_sign or f.screen_field)


@family("finding.{finding}")
def _findings(facts: Facts) -> dict[str, Fact]:
    stated = dict(facts.prepared("unrecorded findings", _unrecorded_findings))
    for finding_id in (*facts.state.findings, *facts.prepared("said elsewhere", _said_elsewhere)):
        value, deciding = _deciding(_finding_said(facts, finding_id))
        if value is not None:
            stated[f"finding.{finding_id}"] = Fact(value, _joined(deciding))
    return stated


@fact("finding.{finding}.{region}")
def _finding_in_region(facts: Facts, finding_id: str, region: str) -> Fact:
    topic = facts.kb.topic.finding(finding_id)
    state = facts.state
    by_region = state.findings.get(finding_id, {})
    entry = by_region.get(region)
    if entry is None:
        # absent without a region is absent everywhere; present without one does not say where
        anywhere = by_region.get(None)
        entry = anywhere if anywhere is not None and not anywhere.present else None
    said = [] if entry is None else _entry_statements((entry,), topic.label)
    if topic.exam_sign is not None:
        said += _exam_sign_statements(state, topic.exam_sign, (Region(region),))
    return _decided(said, f"{topic.label} in the {region} region: not recorded")


@fact("findings.red_flags_since_diagnosis")
def _red_flags_since_diagnosis(facts: Facts) -> Fact:
    state = facts.state
    diagnosed = state.diagnosis_date
    if diagnosed is None:
        return Fact((), "no diagnosis recorded")
    topic = facts.kb.topic
    flags = [
        entry
        for finding in topic.findings_of_kind("red_flag")
        for entry in state.findings.get(finding.id, {}).values()
        if entry.present and entry.date > diagnosed
    ]
    if not flags:
        return Fact((), f"no red flag recorded since the diagnosis on {diagnosed}")
    ids = tuple(dict.fromkeys(entry.id.value for entry in flags))
    return Fact(
        ids,
        lambda: (
            f"since the diagnosis on {diagnosed}: "
            + "; ".join(_statement(entry, topic.finding(entry.id).label) for entry in flags)
        ),
    )


def _not_examined(kb: KnowledgeBase) -> dict[str, Fact]:
    return {region.value: Fact(None, f"{region.value} region not examined") for region in _REGIONS}


@fact("exam.{region_or_any}.{sign}")
def _exam_sign(facts: Facts, where: str, sign: str) -> Fact:
    """A sign on the current examination of one region, or of any region."""
    state = facts.state
    if where == "any":
        return _in_any_region(sign, _exam_sign_statements(state, sign, state.exam), state.exam)
    exam = state.exam.get(where)  # type: ignore[call-overload]  # Region is a str enum
    if exam is None:
        return facts.prepared("regions not examined", _not_examined)[where]
    found = getattr(exam.signs, sign) is True
    return Fact(found, partial(_sign_sentence, found, sign, where, exam))


def _in_any_region(sign: str, said: list[Said], exams: Iterable[Region]) -> Fact:
    if not said:
        return Fact(None, "no region examined")
    value, deciding = _deciding(said)
    if value:
        return Fact(True, _joined(deciding))
    return Fact(
        False,
        lambda: (
            f"no {_words(sign)} in the examined regions "
            f"({', '.join(region.value for region in exams)})"
        ),
    )


@family("emg.done", "emg.{emg_finding}")
def _emg(facts: Facts) -> dict[str, Fact]:
    state = facts.state
    studies = state.emg_studies
    stated = {
        "emg.done": Fact(True, lambda: f"EMG/NCS recorded{_dated(studies[-1])}")
        if studies
        else Fact(False, "no EMG/NCS recorded")
    }
    for name, label in EMG_FINDINGS.items():
        found = state.emg_findings.get(name)
        if found is None:
            stated[f"emg.{name}"] = Fact(None, f"{label}: not recorded")
        else:
            value, date = found
            stated[f"emg.{name}"] = Fact(value, partial(_emg_sentence, value, label, date))
    return stated


def _emg_sentence(value: bool, label: str, date: dt.date) -> str:
    return f"{'' if value else 'no '}{label} on {date}"


# --- investigations -------------------------------------------------------------------------------


def _latest_result(state: PatientState, investigation_id: str) -> TestEntry | None:
    """The latest entry with a result or value (a pending entry is no result)."""
    for entry in reversed(state.tests.get(investigation_id, ())):
        if entry.result != TestResult.PENDING:
            return entry
    return None


def canonical_value(kb: KnowledgeBase, entry: TestEntry) -> float | None:
    """The entry's value in the canonical unit of its test (as recorded when it has none)."""
    if entry.value is None or entry.unit is None:
        return None
    conversion = kb.diagnosis.conversion(entry.id)
    if conversion is None:
        return entry.value
    return entry.value * conversion.factors[entry.unit]


def test_sentence(kb: KnowledgeBase, entry: TestEntry) -> str:
    """A test entry as a sentence, with the value also in the canonical unit."""
    label = kb.diagnosis.investigation(entry.id).label
    parts: list[str] = []
    if entry.value is not None and entry.unit is not None:
        converted = ""
        conversion = kb.diagnosis.conversion(entry.id)
        value = canonical_value(kb, entry)
        if conversion is not None and entry.unit != conversion.canonical and value is not None:
            converted = f" ({value:.0f} {conversion.canonical})"
        parts.append(f"{entry.value:g} {entry.unit}{converted}")
    if entry.result is not None:
        parts.append(entry.result.value)
    if entry.finding:
        parts.append(entry.finding)
    return f"{label} {', '.join(parts) or 'recorded'}{on(entry.date)}"


def _recorded_elsewhere(
    state: PatientState, investigation: Investigation
) -> Callable[[], str] | None:
    """The sentence of where else the record shows the investigation done, or None."""
    studies = state.emg_studies
    label = investigation.label
    if investigation.recorded_as == "emg" and studies:
        return lambda: f"{label} recorded{_dated(studies[-1])}"
    if investigation.recorded_as == "rns":
        found = [
            (name, value_date)
            for name in ("rns_decrement", "post_exercise_increment")
            if (value_date := state.emg_findings.get(name)) is not None
        ]
        if found:
            return lambda: (
                f"{label} recorded: "
                + "; ".join(
                    f"{'' if value else 'no '}{EMG_FINDINGS[name]} on {date}"
                    for name, (value, date) in found
                )
            )
    if investigation.recorded_as == "genetics":
        results = [g for g in state.genetics.values() if g.result != "not_tested"]
        if results:
            return lambda: (
                f"{label} recorded: " + ", ".join(f"{g.gene} {_words(g.result)}" for g in results)
            )
    if investigation.recorded_as == "diagnosis" and state.diagnosis_date is not None:
        diagnosed = state.diagnosis_date
        return lambda: f"ALS diagnosed on {diagnosed}"
    return None


@family("test.{investigation}.status", "test.{investigation}.result", "test.{investigation}.value")
def _tests(facts: Facts) -> dict[str, Fact]:
    """The status, the result and the value of every investigation, in one pass."""
    stated = dict(facts.prepared("tests not done", _tests_not_done))
    state, kb = facts.state, facts.kb
    for investigation_id, entries in state.tests.items():
        entry = _latest_result(state, investigation_id)
        if entry is None:
            label = facts.investigations[investigation_id].label
            when = entries[-1].date
            pending = f"{label}: result pending{on(when)}"
            stated[f"test.{investigation_id}.status"] = Fact("pending", pending)
            continue
        sentence = partial(test_sentence, kb, entry)
        stated[f"test.{investigation_id}.status"] = Fact("done", sentence)
        result = entry.result.value if entry.result else None
        stated[f"test.{investigation_id}.result"] = Fact(result, sentence)
        stated[f"test.{investigation_id}.value"] = Fact(canonical_value(kb, entry), sentence)
    for investigation in facts.prepared("recorded elsewhere", _recorded_elsewhere_kinds):
        if investigation.id in state.tests and _latest_result(state, investigation.id):
            continue
        elsewhere = _recorded_elsewhere(state, investigation)
        if elsewhere is not None:
            stated[f"test.{investigation.id}.status"] = Fact("done", elsewhere)
    return stated


def _tests_not_done(kb: KnowledgeBase) -> dict[str, Fact]:
    stated: dict[str, Fact] = {}
    for investigation in kb.diagnosis.investigations:
        label, key = investigation.label, f"test.{investigation.id}"
        stated[f"{key}.status"] = Fact("not_done", f"{label}: not done")
        no_result = Fact(None, f"{label}: no result recorded")
        stated[f"{key}.result"] = stated[f"{key}.value"] = no_result
    return stated


def _recorded_elsewhere_kinds(kb: KnowledgeBase) -> tuple[Investigation, ...]:
    return tuple(i for i in kb.diagnosis.investigations if i.recorded_as != "tests")


def _result_or_unknown(facts: Facts, investigation_id: str) -> TestEntry | Fact:
    entry = _latest_result(facts.state, investigation_id)
    if entry is None:
        return Fact(None, f"{facts.investigations[investigation_id].label}: no result recorded")
    return entry


def _against_range(facts: Facts, investigation_id: str, *, below: bool) -> Fact:
    entry = _result_or_unknown(facts, investigation_id)
    if isinstance(entry, Fact):
        return entry
    described = test_sentence(facts.kb, entry)
    limit = entry.lower_limit if below else entry.upper_limit
    side = "lower" if below else "upper"
    if entry.value is None or limit is None:
        return Fact(None, f"{described} (no {side} reference limit recorded to judge it by)")
    outside = entry.value < limit if below else entry.value > limit
    relation = ("below" if below else "above") if outside else "within"
    return Fact(
        outside, f"{described}, {relation} the laboratory's {side} limit of {limit:g} {entry.unit}"
    )


@fact("test.{investigation}.below_range")
def _below_range(facts: Facts, investigation_id: str) -> Fact:
    return _against_range(facts, investigation_id, below=True)


@fact("test.{investigation}.above_range")
def _above_range(facts: Facts, investigation_id: str) -> Fact:
    return _against_range(facts, investigation_id, below=False)


# --- genetics -------------------------------------------------------------------------------------


@fact("gene.{gene}")
def _gene(facts: Facts, symbol: str) -> Fact:
    entry = facts.state.genetics.get(symbol.casefold())
    if entry is None:
        return Fact(None, f"{symbol}: no genetic result recorded")
    variant = f" ({entry.variant})" if entry.variant else ""
    return Fact(entry.result.value, f"{entry.gene} {_words(entry.result)}{variant}{on(entry.date)}")


@fact("variant.{gene_or_any}")
def variant_fact(facts: Facts, symbol: str) -> Fact:
    """A causal variant in the gene (any gene), by the knowledge base's one definition."""
    genetics = facts.state.genetics
    if symbol == "any":
        entries = list(genetics.values())
    else:
        found = genetics.get(symbol.casefold())
        entries = [found] if found is not None else []
    tested = [entry for entry in entries if entry.result != "not_tested"]
    which = "any gene" if symbol == "any" else symbol
    if not tested:
        return Fact(None, f"{which}: not tested")
    definition = facts.kb.rules.causal_variant
    causal = [entry for entry in tested if entry.result in definition.results]
    if causal:
        return Fact(
            True,
            lambda: "; ".join(
                f"{e.gene} {_words(e.result)} variant" + (f" {e.variant}" if e.variant else "")
                for e in causal
            ),
            definition.source_ids,
            definition.verified,
        )
    open_results = [entry for entry in tested if entry.result in definition.uncertain]
    if open_results:
        return Fact(
            None,
            lambda: "causal variant not settled: " + _results(open_results),
            definition.source_ids,
            definition.verified,
        )
    return Fact(
        False,
        lambda: f"no causal variant in {which} ({_results(tested)})",
        definition.source_ids,
        definition.verified,
    )


def _results(entries: Iterable[GeneticResultEntry]) -> str:
    return ", ".join(f"{entry.gene} {_words(entry.result)}" for entry in entries)


@fact("genetics.untested_panel_genes")
def _untested_panel_genes(facts: Facts) -> Fact:
    panel = facts.kb.treatment.genetic_testing_panel
    state = facts.state
    tested = {key for key, entry in state.genetics.items() if entry.result != "not_tested"}
    if not state.genetics and _latest_result(state, "genetic_testing") is not None:
        return Fact((), "genetic testing recorded (genes not listed)", panel.source_ids)
    untested = tuple(gene for gene in panel.genes if gene.casefold() not in tested)
    if not untested:
        return Fact((), f"tested: {', '.join(panel.genes)}", panel.source_ids)
    if not tested:
        return Fact(untested, "no genetic test result recorded", panel.source_ids)
    return Fact(untested, f"not tested: {', '.join(untested)}", panel.source_ids)


# --- the patient ----------------------------------------------------------------------------------


def _stated(value: str | None, label: str) -> Fact:
    if value is None:
        return Fact(None, f"{label} not recorded")
    return Fact(value, f"{label} {value}")


@fact("patient.sex")
def _sex(facts: Facts) -> Fact:
    sex = facts.state.record.sex
    return _stated(sex.value if sex else None, "sex")


@fact("patient.age_years")
def _age(facts: Facts) -> Fact:
    age = facts.state.age_on(facts.state.as_of)
    if age is None:
        return Fact(None, "age not recorded")
    return Fact(age, lambda: f"age {age:.0f} years")


@fact("patient.onset_site")
def _onset_site(facts: Facts) -> Fact:
    site = facts.state.onset_site
    return _stated(site.value if site else None, "onset site")


@fact("patient.progressive")
def _progressive(facts: Facts) -> Fact:
    progressive = facts.state.record.progressive
    if progressive is None:
        return Fact(None, "progression of motor impairment not recorded")
    if progressive:
        return Fact(True, "progressive motor impairment recorded")
    return Fact(False, "motor impairment recorded as not progressive")


@fact("patient.diagnosed")
def _diagnosed(facts: Facts) -> Fact:
    diagnosed = facts.state.diagnosis_date
    if diagnosed is None:
        return Fact(False, "no diagnosis of ALS recorded")
    return Fact(True, lambda: f"ALS diagnosed on {diagnosed}")


@fact("patient.months_since_onset")
def _months_since_onset(facts: Facts) -> Fact:
    return _months_since(facts, facts.state.onset, "symptom onset", "symptom onset not recorded")


@fact("patient.months_since_diagnosis")
def _months_since_diagnosis(facts: Facts) -> Fact:
    diagnosed = facts.state.diagnosis_date
    return _months_since(facts, diagnosed, "the diagnosis", "no diagnosis of ALS recorded")


def _months_since(facts: Facts, since: dt.date | None, what: str, unknown: str) -> Fact:
    if since is None:
        return Fact(None, unknown)
    months = months_between(since, facts.state.as_of)
    return Fact(months, lambda: f"{number_text(months)} months since {what} on {since}")


@fact("patient.deceased")
def _deceased(facts: Facts) -> Fact:
    died = facts.state.death_date
    if died is None:
        return Fact(False, "no death recorded")
    return Fact(True, lambda: f"died on {died}")


@fact("family_history.als")
def _family_als(facts: Facts) -> Fact:
    return _family_history(facts, "als")


@fact("family_history.ftd")
def _family_ftd(facts: Facts) -> Fact:
    return _family_history(facts, "ftd")


def _family_history(facts: Facts, what: str) -> Fact:
    history = facts.state.record.family_history
    value = getattr(history, what) if history else None
    label = what.upper()
    if value is None:
        return Fact(None, f"family history of {label}: not recorded")
    return Fact(value, f"{'' if value else 'no '}family history of {label}")


@fact("risk_factor.{risk_factor}")
def _risk_factor(facts: Facts, factor: str) -> Fact:
    if factor in facts.state.record.risk_factors:
        return Fact(True, f"risk factor: {_words(factor)}")
    return Fact(None, f"risk factor {_words(factor)}: not recorded")


# --- respiratory ----------------------------------------------------------------------------------

_RESPIRATORY: dict[str, tuple[str, str]] = {
    "fvc_percent_predicted": ("FVC", "% predicted"),
    "supine_fvc_percent_predicted": ("supine FVC", "% predicted"),
    "snip_cmh2o": ("SNIP", "cmH2O"),
    "mip_cmh2o": ("MIP", "cmH2O"),
    "spo2_percent": ("SpO2", "%"),
    "nocturnal_spo2_below_90_percent_time": ("nocturnal SpO2 below 90 % for", "% of sleep time"),
    "nocturnal_spo2_88_or_below_minutes": ("nocturnal SpO2 at or below 88 % for", "minutes"),
    "peak_cough_flow_l_min": ("peak cough flow", "L/min"),
}
_RESPIRATORY_WINDOW = "fvc_percent_predicted"  # one repeat window for the breathing tests


@family(*(f"respiratory.{field}" for field in _RESPIRATORY))
def _respiratory_measures(facts: Facts) -> dict[str, Fact]:
    """Each breathing test from the latest entry that records it, in one backward pass."""
    latest: dict[str, RespiratoryMeasurement] = {}
    for entry in reversed(facts.state.respiratory):
        for field in _RESPIRATORY:
            if field not in latest and getattr(entry, field) is not None:
                latest[field] = entry
    stated: dict[str, Fact] = {}
    for field, (name, unit) in _RESPIRATORY.items():
        found = latest.get(field)
        if found is None:
            stated[f"respiratory.{field}"] = Fact(None, f"no {name.removesuffix(' for')} recorded")
            continue
        value: float = getattr(found, field)
        sources = _window_sources(facts, _RESPIRATORY_WINDOW, found.date)
        sentence = partial(_measure_sentence, facts, name, unit, value, found.date)
        stated[f"respiratory.{field}"] = Fact(value, sentence, sources)
    return stated


def _measure_sentence(facts: Facts, name: str, unit: str, value: float, date: dt.date) -> str:
    return f"{name} {number_text(value)} {unit}{measured_on(facts, _RESPIRATORY_WINDOW, date)}"


def _paco2(facts: Facts, unit: str) -> Fact:
    """PaCO2 in ``unit`` from the latest entry recording it in either unit."""
    conversion = facts.kb.treatment.paco2_conversion
    for entry in reversed(facts.state.respiratory):
        kpa, mmhg = entry.paco2_kpa, entry.paco2_mmhg
        if kpa is None and mmhg is None:
            continue
        recorded: float
        recorded_unit, recorded = ("kPa", kpa) if kpa is not None else ("mmHg", mmhg or 0.0)
        when = measured_on(facts, _RESPIRATORY_WINDOW, entry.date)
        text = f"PaCO2 {number_text(recorded)} {recorded_unit}{when}"
        if recorded_unit == unit:
            return Fact(recorded, text)
        factor = conversion.mmhg_per_kpa
        value = recorded * factor if unit == "mmHg" else recorded / factor
        return Fact(value, f"{text} ({number_text(value)} {unit})", conversion.source_ids)
    return Fact(None, "no PaCO2 recorded")


@fact("respiratory.paco2_kpa")
def _paco2_kpa(facts: Facts) -> Fact:
    return _paco2(facts, "kPa")


@fact("respiratory.paco2_mmhg")
def _paco2_mmhg(facts: Facts) -> Fact:
    return _paco2(facts, "mmHg")


@fact("respiratory.symptoms")
def _respiratory_symptoms(facts: Facts) -> Fact:
    respiratory = facts.state.respiratory
    if not respiratory:
        return Fact(None, "no respiratory assessment recorded")
    latest = respiratory[-1]
    symptoms = tuple(symptom.value for symptom in latest.symptoms)
    if not symptoms:
        return Fact((), f"no respiratory symptoms recorded on {latest.date}")
    listed = ", ".join(_words(symptom) for symptom in symptoms)
    return Fact(symptoms, f"respiratory symptoms on {latest.date}: {listed}")


@fact("respiratory.months_since_tests")
def _months_since_tests(facts: Facts) -> Fact:
    tests = facts.state.latest_tests()
    if tests is None:
        return Fact(None, "no respiratory function tests recorded")
    latest = tests.date
    months = months_between(latest, facts.state.as_of)
    return Fact(
        months, f"latest respiratory tests on {latest}, {number_text(months)} months before"
    )


# --- ALSFRS-R -------------------------------------------------------------------------------------


_ITEMS = tuple(AlsfrsItem)
_ITEM_NAMES = tuple((item, f"alsfrs_r.{item.value}") for item in _ITEMS)


@family("alsfrs_r.{item}")
def _items(facts: Facts) -> dict[str, Fact]:
    """Every item of the latest rating."""
    rating = facts.state.rating
    if rating is None:
        unrated = Fact(None, "no ALSFRS-R rating recorded")
        return {name: unrated for _, name in _ITEM_NAMES}
    stated = {}
    scores = rating.items
    for item, name in _ITEM_NAMES:
        score = scores.get(item)
        value = None if score is None else float(score)
        stated[name] = Fact(value, partial(_item_sentence, facts, item, score))
    return stated


def _item_sentence(facts: Facts, item: AlsfrsItem, score: int | None) -> str:
    rating = facts.state.rating
    assert rating is not None  # only items of a rating are described
    rated = "not rated" if score is None else f"{score}/4"
    return f"ALSFRS-R {_words(item)} {rated}{measured_on(facts, 'alsfrs_r', rating.date)}"


@fact("alsfrs_r.item_5_form")
def _item_5_form(facts: Facts) -> Fact:
    rating = facts.state.rating
    if rating is None:
        return Fact(None, "no ALSFRS-R rating recorded")
    form = "5b" if rating.gastrostomy else "5a"
    assumed = " (taken as 5a: the record did not say)" if rating.gastrostomy_assumed else ""
    return Fact(form, f"ALSFRS-R item 5 rated as {form} on {rating.date}{assumed}")


# --- laboratory -----------------------------------------------------------------------------------


def _lab(facts: Facts, lab_id: LabId) -> LabValue | None:
    return facts.state.labs.get(lab_id)


def _uln_multiple(lab: LabValue | None, name: str) -> Fact:
    if lab is None:
        return Fact(None, f"no {name} recorded")
    if lab.upper_limit is None:
        return Fact(
            None, f"{name} {number_text(lab.value)} {lab.unit}{on(lab.date)} has no upper limit"
        )
    multiple = lab.value / lab.upper_limit
    return Fact(
        multiple,
        f"{name} {number_text(lab.value)} {lab.unit}{on(lab.date)} = {number_text(multiple)} x "
        f"ULN ({number_text(lab.upper_limit)} {lab.unit})",
    )


@fact("lab.alt_uln_multiple")
def _alt_uln_multiple(facts: Facts) -> Fact:
    return _uln_multiple(_lab(facts, LabId.ALT), "ALT")


@fact("lab.transaminase_uln_multiple")
def _transaminase_uln_multiple(facts: Facts) -> Fact:
    """The higher of ALT and AST as multiples of their upper limits (the SmPC's transaminases)."""
    alt = _uln_multiple(_lab(facts, LabId.ALT), "ALT")
    ast = _uln_multiple(_lab(facts, LabId.AST), "AST")
    known = [(item.value, item) for item in (alt, ast) if isinstance(item.value, float)]
    if not known:
        return Fact(None, f"{alt.because}; {ast.because}")
    return max(known, key=lambda pair: pair[0])[1]


@fact("lab.alt_without_upper_limit")
def _alt_without_upper_limit(facts: Facts) -> Fact:
    lab = _lab(facts, LabId.ALT)
    if lab is None or lab.upper_limit is not None:
        return Fact(False, "no ALT without a reference range recorded")
    return Fact(
        True,
        f"ALT {number_text(lab.value)} {lab.unit}{on(lab.date)} recorded without the "
        "laboratory's upper limit of normal",
    )


@fact("lab.neutropenia")
def _neutropenia(facts: Facts) -> Fact:
    lab = _lab(facts, LabId.NEUTROPHILS)
    if lab is None:
        return Fact(None, "no neutrophil count recorded")
    text = f"neutrophils {number_text(lab.value, 2)} x {lab.unit}{on(lab.date)}"
    if lab.lower_limit is not None:
        below = lab.value < lab.lower_limit
        relation = "below" if below else "not below"
        limit = number_text(lab.lower_limit, 2)
        return Fact(below, f"{text}, {relation} the laboratory's lower limit {limit}")
    standard = facts.kb.rules.threshold_by_id["neutropenia_neutrophil_count"]
    below = lab.value < standard.value
    relation = "below" if below else "not below"
    return Fact(
        below,
        f"{text}, {relation} {number_text(standard.value, 2)} x {standard.unit} (no laboratory "
        "lower limit recorded: the standard definition of neutropenia)",
        standard.source_ids,
        standard.verified,
    )


@fact("lab.alt_check_overdue")
def _alt_check_overdue(facts: Facts) -> Fact:
    """Whether the next ALT test on the drug's liver schedule is due (null after the schedule)."""
    check = liver_check(facts)
    overdue = None if check.due_on is None else check.due_on <= facts.state.as_of
    return Fact(overdue, check.because, check.sources)


@dataclass(frozen=True, slots=True)
class LiverCheck:
    """Where a patient stands on the drug's liver schedule: the day the next ALT falls due
    (None when no interval applies), with the sentence that says why."""

    due_on: dt.date | None
    because: str
    sources: tuple[str, ...]


def liver_check(facts: Facts) -> LiverCheck:
    """The next ALT of the liver schedule: the schedule's interval after the last dated ALT, or
    at once when there is none (ALT is checked before the drug starts)."""
    schedule = facts.kb.treatment.riluzole_liver_monitoring
    drug = facts.kb.treatment.drug(schedule.drug)
    medication = current_medication(facts.state, drug)
    sources = schedule.source_ids
    if medication is None or medication.since is None:
        return LiverCheck(None, f"{drug.label}: no start date in the medication list", sources)
    as_of = facts.state.as_of
    months = months_between(medication.since, as_of)
    on_drug = f"{drug.label} since {medication.since} ({number_text(months)} months)"
    phase = next((p for p in schedule.phases if months < p.until_month), None)
    if phase is None:
        last = number_text(schedule.phases[-1].until_month)
        return LiverCheck(None, f"{on_drug}: periodic ALT after month {last}", sources)
    every, until = number_text(phase.every_months), number_text(phase.until_month)
    interval = f"ALT every {every} months until month {until}"
    alt = _lab(facts, LabId.ALT)
    if alt is None or alt.date is None:
        return LiverCheck(
            medication.since, f"{on_drug}: {interval}; no dated ALT recorded", sources
        )
    due_on = first_day_past(alt.date, phase.every_months)
    return LiverCheck(due_on, f"{on_drug}: {interval}; last ALT on {alt.date}", sources)


# --- medications and drugs ------------------------------------------------------------------------


def is_taken(medication: Medication, as_of: dt.date) -> bool:
    """Whether a medication list entry is taken on ``as_of``: it has not been stopped by then."""
    return medication.until is None or medication.until > as_of


def current_medication(state: PatientState, drug: Drug) -> Medication | None:
    """The latest entry naming ``drug`` that is taken on the assessment date."""
    current = [
        medication
        for medication in state.medications
        if drug.matches(medication.name) and is_taken(medication, state.as_of)
    ]
    return current[-1] if current else None


def _drugs_named(kb: KnowledgeBase, name: str) -> tuple[str, ...]:
    """The drugs a medication list entry names, found once per name and knowledge base."""
    matches: dict[str, tuple[str, ...]] = kb.program.prepared.setdefault("drugs named", {})
    found = matches.get(name)
    if found is None:
        found = matches[name] = tuple(d.id for d in kb.treatment.drugs if d.matches(name))
    return found


@family("medication.{drug}.current", "medication.{drug}.stopped_for")
def _medications(facts: Facts) -> dict[str, Fact]:
    """Whether each drug is taken now, and why it was last stopped, in one pass."""
    state, kb = facts.state, facts.kb
    current: dict[str, Medication] = {}
    stopped: dict[str, Medication] = {}
    for medication in state.medications:  # in date order: the last of each drug stays
        taken = is_taken(medication, state.as_of)
        for drug_id in _drugs_named(kb, medication.name):
            (current if taken else stopped)[drug_id] = medication
    stated: dict[str, Fact] = {}
    for drug_id, drug in facts.drugs.items():
        taken_now = current.get(drug_id)
        key = f"medication.{drug_id}"
        if taken_now is None:
            not_listed = f"{drug.label} not in the current medication list"
            stated[f"{key}.current"] = Fact(False, not_listed)
            stated[f"{key}.stopped_for"] = _stopped_for(drug.label, stopped.get(drug_id))
        else:
            stated[f"{key}.current"] = Fact(True, partial(_taken_sentence, drug.label, taken_now))
            stated[f"{key}.stopped_for"] = Fact(None, f"{drug.label} is taken now")
    return stated


def _taken_sentence(label: str, medication: Medication) -> str:
    return f"{label} in the medication list ('{medication.name}'{_since(medication)})"


def _stopped_for(label: str, last: Medication | None) -> Fact:
    if last is None:
        return Fact(None, f"{label} never recorded as stopped")
    reason = last.stop_reason.value if last.stop_reason else "unspecified"
    why = f" for {_words(reason)}" if last.stop_reason else " (no reason recorded)"
    return Fact(reason, lambda: f"{label} stopped on {last.until}{why}")


def _since(medication: Medication) -> str:
    return f" since {medication.since}" if medication.since else ""


@family("drug.{drug}.status")
def _drug_status(facts: Facts) -> dict[str, Fact]:
    """Each drug's status in the record's jurisdiction: the same for every record of that
    jurisdiction, so stated once per knowledge base and jurisdiction."""
    jurisdiction = facts.state.record.jurisdiction
    by_jurisdiction: dict[object, dict[str, Fact]] = facts.program.prepared.setdefault(
        "drug status", {}
    )
    stated = by_jurisdiction.get(jurisdiction)
    if stated is None:
        stated = by_jurisdiction[jurisdiction] = {
            f"drug.{drug.id}.status": _status_in(drug, jurisdiction)
            for drug in facts.kb.treatment.drugs
        }
    return stated


def _status_in(drug: Drug, jurisdiction: Jurisdiction | None) -> Fact:
    if jurisdiction is None:
        return Fact(None, f"jurisdiction not recorded, so {drug.label} status unknown")
    status = drug.status_in(jurisdiction)
    if status is None:
        return Fact(None, f"{drug.label} status in {jurisdiction.value} not in the knowledge base")
    return Fact(
        status.status,
        f"{drug.label} in {jurisdiction.value}: {_words(status.status)}. {status.note}",
        status.source_ids,
        status.verified,
    )


# --- interventions, care, cognition ---------------------------------------------------------------


_NOTHING_ABOUT_INTERVENTIONS = "the record says nothing about interventions"
_KINDS = tuple(InterventionKind)


def intervention_label(kind: str) -> str:
    """How an intervention reads in a sentence: NIV, gastrostomy, tracheostomy."""
    return "NIV" if kind == InterventionKind.NIV else _words(kind)


# Each intervention with its label and the stem of its fact names.
_INTERVENTION_NAMES = tuple(
    (kind, intervention_label(kind), f"intervention.{kind.value}") for kind in _KINDS
)


@family(
    "intervention.{intervention}.state",
    "intervention.{intervention}.in_place",
    "intervention.{intervention}.needed",
)
def _interventions(facts: Facts) -> dict[str, Fact]:
    """Each intervention's state, whether it is in place and whether it was ever needed."""
    state = facts.state
    stated: dict[str, Fact] = {}
    for kind, label, key in _INTERVENTION_NAMES:
        if state.interventions is None:
            unknown = Fact(None, f"{label}: {_NOTHING_ABOUT_INTERVENTIONS}")
            stated.update({f"{key}.state": unknown, f"{key}.in_place": unknown,
                           f"{key}.needed": unknown})  # fmt: skip
        else:
            events = state.interventions[kind]
            stated[f"{key}.state"] = _latest_event(label, events)
            stated[f"{key}.in_place"] = _in_place(label, events)
            stated[f"{key}.needed"] = _needed(label, events)
    rating = state.rating
    if rating is not None and rating.gastrostomy:  # item 5b: a gastrostomy is in place
        stated["intervention.gastrostomy.in_place"] = Fact(
            True, f"ALSFRS-R of {rating.date} rated with item 5b (gastrostomy)"
        )
    return stated


def _latest_event(label: str, events: tuple[InterventionRecord, ...]) -> Fact:
    if not events:
        return Fact("none", f"no {label} offered or started")
    latest = events[-1]
    return Fact(latest.event.value, lambda: f"{label} {latest.event.value}{_dated(latest)}")


def _in_place(label: str, events: tuple[InterventionRecord, ...]) -> Fact:
    latest = events[-1] if events else None
    if latest is None:
        return Fact(False, f"no {label}: not in place")
    if latest.event != InterventionEvent.STARTED:
        return Fact(False, lambda: f"{label} {latest.event.value}{_dated(latest)}: not in place")
    hours = f", {number_text(latest.hours_per_day)} h/day" if latest.hours_per_day else ""
    since = on(latest.date, latest.date_inferred, "since")
    return Fact(True, lambda: f"{label} in place{since}{hours}")


def _needed(label: str, events: tuple[InterventionRecord, ...]) -> Fact:
    """Provided, trialled or refused (King's): started, declined or stopped."""
    decided = [event for event in events if event.event != InterventionEvent.OFFERED]
    if not decided:
        return Fact(False, f"no {label} provided, trialled or refused")
    first = decided[0]
    return Fact(True, lambda: f"{label} {first.event.value}{_dated(first)}")


_NIV_MEASURES: tuple[tuple[str, str, str, bool], ...] = (
    ("fvc_percent_predicted", "FVC", "% predicted", False),
    ("snip_cmh2o", "SNIP", "cmH2O", False),
    ("mip_cmh2o", "MIP", "cmH2O", False),
    ("paco2_kpa", "PaCO2", "kPa", True),
)


@fact("intervention.niv.changes_since_declined")
def _changes_since_declined(facts: Facts) -> Fact:
    state = facts.state
    events = state.interventions[InterventionKind.NIV] if state.interventions else ()
    if not events or events[-1].event != InterventionEvent.DECLINED:
        return Fact((), "NIV not declined")
    declined = events[-1].date
    changes: list[tuple[str, str]] = []
    for field, name, unit, rising_is_worse in _NIV_MEASURES:
        then = _latest_on_or_before(state, field, declined)
        now = state.latest_with(field)
        if then is None or now is None or now.date <= declined:
            continue
        before, after = getattr(then, field), getattr(now, field)
        if (after > before) if rising_is_worse else (after < before):
            changes.append(
                (
                    field,
                    f"{name} {number_text(before)} to {number_text(after)} {unit} "
                    f"({then.date} to {now.date})",
                )
            )
    changes.extend(_new_symptoms(state, declined))
    if not changes:
        return Fact((), f"NIV declined on {declined}; nothing has worsened since")
    listed = "; ".join(text for _, text in changes)
    return Fact(
        tuple(field for field, _ in changes), f"NIV declined on {declined}; since then {listed}"
    )


def _latest_on_or_before(
    state: PatientState, field: str, day: dt.date
) -> RespiratoryMeasurement | None:
    for entry in reversed(state.respiratory):
        if entry.date <= day and getattr(entry, field) is not None:
            return entry
    return None


def _new_symptoms(state: PatientState, declined: dt.date) -> list[tuple[str, str]]:
    before = [entry for entry in state.respiratory if entry.date <= declined]
    after = [entry for entry in state.respiratory if entry.date > declined]
    if not after:
        return []
    old = set(before[-1].symptoms) if before else set()
    new = [symptom for symptom in after[-1].symptoms if symptom not in old]
    if not new:
        return []
    listed = ", ".join(_words(symptom) for symptom in new)
    return [("symptoms", f"new respiratory symptoms on {after[-1].date}: {listed}")]


@family("care.{care}")
def _care(facts: Facts) -> dict[str, Fact]:
    stated = dict(facts.prepared("care not recorded", _care_not_recorded))
    for kind, event in facts.state.care.items():
        stated[f"care.{kind.value}"] = Fact(True, partial(_care_sentence, kind.value, event))
    return stated


def _care_not_recorded(kb: KnowledgeBase) -> dict[str, Fact]:
    return {f"care.{kind.value}": Fact(False, f"no {_words(kind)} recorded") for kind in CareKind}


def _care_sentence(kind: str, event: CareEvent) -> str:
    return f"{_words(kind)}{_dated(event)}"


@fact("cognition.ecas_total")
def _ecas_total(facts: Facts) -> Fact:
    for screen in reversed(facts.state.cognition):
        if screen.ecas_total is not None:
            return Fact(
                float(screen.ecas_total),
                f"ECAS total {screen.ecas_total}/136{_dated(screen)}",
            )
    return Fact(None, "no ECAS recorded")


@fact("cognition.ftd")
def _ftd(facts: Facts) -> Fact:
    """The one answer on FTD: the finding whose topic entry is the screens' ftd field."""
    return facts(f"finding.{facts.kb.topic.finding_of_screen_field['ftd'].id}")


@fact("cognition.behaviour_change")
def _behaviour_change(facts: Facts) -> Fact:
    said = _screen_statement(facts.state, "behaviour_change", "behaviour change")
    return _decided(said, "no behaviour change recorded")
