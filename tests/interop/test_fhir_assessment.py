"""The assessment as FHIR R4 resources (``interop/fhir/assessment_out.py``).

Every resource validates with both the ``fhir.resources`` R4B models and the ``fhirclient``
(R4 4.0.1) models, for the example records on several dates and for generated records; the
stages and categories equal the assessment's; every alert and recommendation appears with its
reasons and every cited source as the knowledge base gives it; ENCALS states its event and
caveat and never shows a figure it has not got; ids are valid, unique and the same run after
run; the Provenance names every other resource.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from hypothesis import given, settings
from hypothesis import strategies as st

import alscare
from alscare import Assessment, KnowledgeBase, assess, load_knowledge, parse_record
from alscare.interop.fhir.assessment_out import assessment_resources
from alscare.interop.fhir.names import ASSESSMENT_TAG, CODE_SYSTEM, extension_url
from alscare.presentation import (
    ENCALS_CAVEAT,
    ENCALS_NOT_APPLICABLE,
    UNVERIFIED,
    UNVERIFIED_LEGEND,
    Kind,
    Wording,
    gold_coast,
    stage,
)
from alscare.schemas.records import parse_record_json
from alscare.schemas.vocabulary import Action, Severity
from tests.integration.strategies import records as full_records
from tests.property.strategies import AS_OF, records_v1, records_v2

# The knowledge base as a module constant: Hypothesis prints a failing example's arguments.
KB = load_knowledge()
EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.json"))
DATES = (dt.date(2024, 1, 1), dt.date(2025, 3, 1), dt.date(2026, 6, 1))
FHIR_ID = re.compile(r"[A-Za-z0-9.-]{1,64}")
SOURCE = extension_url("source")
VERIFIED = extension_url("verified")
Resource = dict[str, Any]


def _example(path: Path, as_of: dt.date) -> Assessment:
    return assess(parse_record_json(path.read_text(encoding="utf-8")), as_of=as_of, kb=KB)


def _resources(assessment: Assessment, kb: KnowledgeBase = KB) -> list[Resource]:
    return assessment_resources(
        assessment, kb=kb, patient_reference=f"Patient/{assessment.patient_id}"
    )


def _of_type(resources: Sequence[Resource], resource_type: str) -> list[Resource]:
    return [resource for resource in resources if resource["resourceType"] == resource_type]


def _by_code(resources: Sequence[Resource], resource_type: str) -> dict[str, Resource]:
    return {
        resource["code"]["coding"][0]["code"]: resource
        for resource in _of_type(resources, resource_type)
    }


def _notes(resource: Resource) -> list[str]:
    return [note["text"] for note in resource.get("note", [])]


def _cited(resource: Resource) -> list[str]:
    """The source ids of a resource's source extensions, each checked against the KB."""
    found = []
    for extension in resource.get("extension", []):
        if extension["url"] != SOURCE:
            continue
        fields = {
            part["url"]: next(v for k, v in part.items() if k != "url")
            for part in extension["extension"]
        }
        source = KB.source(fields["id"])
        assert fields["citation"] == source.citation
        assert fields.get("doi") == source.doi
        assert fields.get("pmid") == source.pmid
        assert fields.get("url") == source.url
        found.append(fields["id"])
    return found


def _verified(resource: Resource) -> bool | None:
    flags = [e["valueBoolean"] for e in resource.get("extension", []) if e["url"] == VERIFIED]
    return flags[0] if flags else None


def _validate(resource: Resource) -> None:
    """Both model libraries accept the resource; fhirclient in strict mode, both ways."""
    kind = resource["resourceType"]
    get_fhir_model_class(kind).model_validate(resource)
    module = importlib.import_module(f"fhirclient.models.{kind.lower()}")
    assert getattr(module, kind)(resource, strict=True).as_json() == resource


def _expected(assessment: Assessment) -> dict[str, tuple[Any, str | None, str]]:
    """Each Observation code the assessment gives: its result, value code and words."""
    staging, criteria = assessment.staging, assessment.criteria
    kings, clinical, mitos = staging.kings, staging.kings_clinical, staging.mitos
    met = criteria.gold_coast.met
    escorial, awaji = criteria.el_escorial, criteria.awaji
    expected = {"staging.kings": (kings, kings.stage, stage(kings.stage))}
    if clinical is not None:
        expected["staging.kings_clinical"] = (clinical, clinical.stage, stage(clinical.stage))
    if mitos is not None:
        expected["staging.mitos"] = (mitos, mitos.stage, stage(mitos.stage))
    words = Wording(KB)
    expected |= {
        "criteria.gold_coast": (
            criteria.gold_coast,
            None if met is None else ("met" if met else "not_met"),
            gold_coast(met),
        ),
        "criteria.el_escorial": (
            escorial,
            escorial.category,
            words.category(Kind.EL_ESCORIAL, escorial.category),
        ),
        "criteria.awaji": (awaji, awaji.category, words.category(Kind.AWAJI, awaji.category)),
    }
    return {
        code: (result, None if value is None else str(value), shown)
        for code, (result, value, shown) in expected.items()
    }


def _check_shape(resources: Sequence[Resource], assessment: Assessment) -> None:
    ids = [resource["id"] for resource in resources]
    assert len(ids) == len(set(ids))
    for resource in resources:
        _validate(resource)
        assert FHIR_ID.fullmatch(resource["id"])
        assert resource["meta"]["tag"] == [ASSESSMENT_TAG]
        assert json.loads(json.dumps(resource)) == resource
        if _verified(resource) is False:
            assert resource["code"]["text"].endswith(f"({UNVERIFIED})")
    provenance = resources[-1]
    assert provenance["resourceType"] == "Provenance"
    targets = [target["reference"] for target in provenance["target"]]
    assert targets == [f"{r['resourceType']}/{r['id']}" for r in resources[:-1]]
    assert provenance["recorded"] == f"{assessment.as_of.isoformat()}T00:00:00Z"
    assert provenance["agent"][0]["who"]["display"] == f"alscare {alscare.__version__}"
    assert provenance["entity"][1]["what"]["identifier"]["value"] == KB.version


def _check_findings(resources: Sequence[Resource], assessment: Assessment) -> None:
    observations = _by_code(resources, "Observation")
    expected = _expected(assessment)
    assert list(observations) == list(expected)
    for code, (result, value, shown) in expected.items():
        observation = observations[code]
        assert observation["status"] == "final"
        assert observation["subject"] == {"reference": f"Patient/{assessment.patient_id}"}
        assert observation["effectiveDateTime"] == assessment.as_of.isoformat()
        if value is None:
            assert "valueCodeableConcept" not in observation
            assert observation["dataAbsentReason"]["text"] == shown
        else:
            coded = observation["valueCodeableConcept"]["coding"][0]
            assert coded == {"system": CODE_SYSTEM, "code": f"{code}.{value}", "display": shown}
        notes = _notes(observation)
        assert notes[: len(result.because)] == list(result.because)
        lacking = getattr(result, "missing", assessment.staging.missing)
        assert all(f"Missing: {lack}" in notes for lack in lacking)
        assert _cited(observation) == list(dict.fromkeys(result.sources))
        assert _verified(observation) == getattr(result, "verified", None)


def _check_encals(resources: Sequence[Resource], assessment: Assessment) -> None:
    (risk,) = _of_type(resources, "RiskAssessment")
    encals = assessment.prognosis.encals
    notes = _notes(risk)
    assert encals.event is not None
    assert any(encals.event in note for note in notes)
    assert ENCALS_CAVEAT in notes
    assert (ENCALS_NOT_APPLICABLE in notes) is (encals.applicable is False)
    assert all(f"Missing: {lack}" in notes for lack in encals.missing)
    assert set(encals.because) <= set(notes)
    assert _cited(risk) == list(dict.fromkeys(encals.sources))
    assert risk["status"] == ("registered" if encals.missing else "final")
    predictions = risk.get("prediction", [])
    assert all(encals.event in p["outcome"]["text"] for p in predictions)
    conditional = encals.conditional
    later = (
        (conditional.survival, conditional.median_survival_months)
        if conditional is not None
        else ({}, None)
    )
    assert _curve(predictions, "event_free") == _expected_curve(
        encals.survival or {}, encals.median_survival_months
    )
    assert _curve(predictions, "event_free_after_assessment") == _expected_curve(*later)


def _curve(predictions: Sequence[Resource], outcome: str) -> list[tuple[float, float]]:
    """(months, probability) of the predictions of one outcome, in their order."""
    return [
        (p["whenRange"]["high"]["value"], p["probabilityDecimal"])
        for p in predictions
        if p["outcome"]["coding"][0]["code"] == f"prognosis.encals.{outcome}"
    ]


def _expected_curve(survival: dict[str, float], median: float | None) -> list[tuple[float, float]]:
    """The survival figures by months, then the median (where the probability is one half)."""
    rows = sorted((float(months), probability) for months, probability in survival.items())
    return rows + ([] if median is None else [(median, 0.5)])


def _check_care(resources: Sequence[Resource], assessment: Assessment) -> None:
    issues = _by_code(resources, "DetectedIssue")
    assert list(issues) == [f"alert.{alert.id}" for alert in assessment.alerts]
    for alert in assessment.alerts:
        issue = issues[f"alert.{alert.id}"]
        assert issue["patient"] == {"reference": f"Patient/{assessment.patient_id}"}
        assert [e["code"][0]["text"] for e in issue.get("evidence", [])] == list(alert.because)
        assert all(line in issue["detail"] for line in alert.because)
        assert _cited(issue) == list(dict.fromkeys(alert.sources))
        assert _verified(issue) is alert.verified
    requests = _by_code(resources, "ServiceRequest")
    assert list(requests) == [f"recommendation.{r.id}" for r in assessment.recommendations]
    for item in assessment.recommendations:
        request = requests[f"recommendation.{item.id}"]
        assert (request["status"], request["intent"]) == ("draft", "proposal")
        assert set(item.because) <= set(_notes(request))
        assert _cited(request) == list(dict.fromkeys(item.sources))
        assert _verified(request) is item.verified
    plans = _of_type(resources, "CarePlan")
    assert len(plans) == (1 if requests else 0)
    for plan in plans:
        listed = [activity["reference"]["reference"] for activity in plan["activity"]]
        assert listed == [f"ServiceRequest/{r['id']}" for r in requests.values()]


def _check(assessment: Assessment) -> list[Resource]:
    resources = _resources(assessment)
    _check_shape(resources, assessment)
    _check_findings(resources, assessment)
    _check_encals(resources, assessment)
    _check_care(resources, assessment)
    return resources


@pytest.mark.parametrize("as_of", DATES, ids=str)
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_assessment_resources_example_records_valid_and_complete(path, as_of):
    first = _check(_example(path, as_of))
    again = _resources(_example(path, as_of))
    assert json.dumps(first) == json.dumps(again)


@settings(max_examples=40)
@given(data=st.one_of(records_v1(), records_v2(), full_records()))
def test_assessment_resources_generated_records_valid_and_complete(data):
    _check(assess(parse_record(data), as_of=AS_OF, kb=KB))


def _p0001(as_of: dt.date = AS_OF) -> Assessment:
    return _example(EXAMPLES[0], as_of)


def test_assessment_resources_examples_cover_every_encals_state():
    """The examples above reach ENCALS computed with a conditional curve and not computed."""
    states = {
        (a.prognosis.encals.missing == (), a.prognosis.encals.conditional is not None)
        for a in (_example(path, as_of) for path in EXAMPLES for as_of in DATES)
    }
    assert {(True, True), (False, False)} <= states


def test_assessment_resources_encals_missing_inputs_no_figures():
    assessment = _example(EXAMPLES[1], dt.date(2025, 3, 1))
    assert assessment.prognosis.encals.missing
    (risk,) = _of_type(_resources(assessment), "RiskAssessment")
    assert risk["status"] == "registered"
    assert "prediction" not in risk
    assert "Estimate: not computed." in _notes(risk)


def test_assessment_resources_encals_not_applicable_says_so():
    record = parse_record_json(EXAMPLES[0].read_text(encoding="utf-8"))
    early = record.model_copy(update={"diagnosis_date": dt.date(2023, 11, 20)})
    assessment = assess(early, as_of=AS_OF, kb=KB)
    assert assessment.prognosis.encals.applicable is False
    (risk,) = _of_type(_check(assessment), "RiskAssessment")
    assert risk["status"] == "final"
    assert "prediction" not in risk
    assert ENCALS_NOT_APPLICABLE in _notes(risk)


def test_assessment_resources_unverified_alert_marked_in_text_flag_and_legend():
    assessment = _p0001()
    unverified = next(alert for alert in assessment.alerts if not alert.verified)
    issue = _by_code(_resources(assessment), "DetectedIssue")[f"alert.{unverified.id}"]
    assert issue["code"]["text"] == f"{issue['code']['coding'][0]['display']} ({UNVERIFIED})"
    assert _verified(issue) is False
    assert issue["detail"].endswith(UNVERIFIED_LEGEND)


def test_assessment_resources_severity_mapped_to_detected_issue_values():
    assessment = _p0001()
    alert = assessment.alerts[0]
    alerts = tuple(
        alert.model_copy(update={"id": f"{alert.id}_{s.value}", "severity": s}) for s in Severity
    )
    issues = _of_type(_resources(assessment.model_copy(update={"alerts": alerts})), "DetectedIssue")
    assert [issue["severity"] for issue in issues] == ["high", "moderate", "low"]


def test_assessment_resources_stop_and_hold_are_not_to_be_done():
    assessment = _p0001()
    item = assessment.recommendations[0]
    items = tuple(
        item.model_copy(update={"id": f"{item.id}_{action.value}", "action": action})
        for action in Action
    )
    requests = _of_type(
        _resources(assessment.model_copy(update={"recommendations": items})), "ServiceRequest"
    )
    flags = {r["orderDetail"][0]["coding"][0]["code"]: r["doNotPerform"] for r in requests}
    assert {code for code, flag in flags.items() if flag} == {"action.stop", "action.hold"}


@pytest.mark.parametrize("field", ["recommendations", "alerts"])
def test_assessment_resources_conclusion_without_source_refused(field):
    assessment = _p0001()
    first = getattr(assessment, field)[0].model_copy(update={"sources": ()})
    with pytest.raises(ValueError, match="cites no source"):
        _resources(assessment.model_copy(update={field: (first,)}))


def test_assessment_resources_source_not_in_knowledge_refused():
    assessment = _p0001()
    first = assessment.alerts[0].model_copy(update={"sources": ("no_such_source",)})
    with pytest.raises(ValueError, match="no_such_source"):
        _resources(assessment.model_copy(update={"alerts": (first,)}))


def test_assessment_resources_other_knowledge_version_refused():
    assessment = _p0001().model_copy(update={"knowledge_version": "2000.1"})
    with pytest.raises(ValueError, match="2000.1"):
        _resources(assessment)


def test_assessment_resources_patient_id_no_fhir_id_gives_stable_uuids():
    assessment = _p0001().model_copy(update={"patient_id": "P_" + "9" * 62})
    first = _resources(assessment)
    ids = [resource["id"] for resource in first]
    assert all(re.fullmatch(r"[0-9a-f-]{36}", resource_id) for resource_id in ids)
    assert len(set(ids)) == len(ids)
    assert [resource["id"] for resource in _resources(assessment)] == ids


def test_assessment_resources_ids_differ_by_date():
    first = {r["id"] for r in _resources(_p0001(dt.date(2025, 3, 1)))}
    later = {r["id"] for r in _resources(_p0001(dt.date(2025, 3, 2)))}
    assert first.isdisjoint(later)
