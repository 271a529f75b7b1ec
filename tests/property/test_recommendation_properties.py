"""Properties of the treatment algorithm and the alerts over generated patients: every
recommendation and alert says why (``because``) and cites a known source; output order and
content are stable; the withdrawn drug is never recommended; nothing is started where the
knowledge base says it is unavailable."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from alscare import load_knowledge
from alscare.engine.alerts import alerts
from alscare.engine.recommendations import recommendations
from alscare.engine.timeline import cut_off
from alscare.schemas.assessment import (
    Assessment,
    Criteria,
    DifferentialResult,
    ElEscorialResult,
    GoldCoastResult,
    Scores,
)
from alscare.schemas.vocabulary import (
    Action,
    AlsfrsItem,
    DifferentialId,
    DifferentialLevel,
    ElEscorialCategory,
    FindingId,
    GeneticResult,
    Jurisdiction,
    RespiratorySymptom,
    Severity,
)
from tests.builders import make_record

KB = load_knowledge()
AS_OF = dt.date(2025, 3, 1)
ONSET = dt.date(2021, 1, 1)
SOURCE_IDS = {source.id for source in KB.sources}
STEP_ORDER = [step.id for _, step in KB.treatment.steps()]
STEP_GROUP = {step.id: group.id for group, step in KB.treatment.steps()}
MEDICATION_NAMES = [name for drug in KB.treatment.drugs for name in (drug.id, *drug.names)]

dates = st.dates(min_value=ONSET, max_value=AS_OF + dt.timedelta(days=60)).map(str)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def _optional_fields(**strategies: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A dict holding any subset of the given fields."""
    return st.fixed_dictionaries({}, optional=strategies)


ratings = st.builds(
    lambda date, items, gastrostomy: {"date": date, "items": items, "gastrostomy": gastrostomy},
    dates,
    st.fixed_dictionaries({item.value: st.integers(0, 4) for item in AlsfrsItem}),
    st.booleans(),
)
respiratory = st.builds(
    lambda date, values: {"date": date, **values},
    dates,
    _optional_fields(
        fvc_percent_predicted=st.floats(10, 130),
        snip_cmh2o=st.floats(5, 120),
        mip_cmh2o=st.floats(5, 120),
        paco2_kpa=st.floats(3, 10),
        paco2_mmhg=st.floats(25, 80),
        peak_cough_flow_l_min=st.floats(50, 600),
        symptoms=st.lists(st.sampled_from([s.value for s in RespiratorySymptom]), unique=True),
    ),
)
labs = st.one_of(
    st.builds(
        lambda date, value, upper, lab: {"id": lab, "date": date, "value": value, "unit": "U/L",
                                          **({"upper_limit": upper} if upper else {})},
        dates, st.floats(5, 400), maybe(st.floats(20, 60)), st.sampled_from(["alt", "ast"]),
    ),
    st.builds(
        lambda date, value, lower: {"id": "neutrophils", "date": date, "value": value,
                                    "unit": "10^9/L", **({"lower_limit": lower} if lower else {})},
        dates, st.floats(0.1, 10), maybe(st.floats(1.0, 2.5)),
    ),
)  # fmt: skip
intervention = st.one_of(
    st.none(),
    st.builds(lambda since: {"since": since}, dates),
    st.just({"declined": True}),
)
records = _optional_fields(
    jurisdiction=st.sampled_from([j.value for j in Jurisdiction]),
    diagnosis_date=dates,
    findings=st.lists(
        st.builds(lambda i, p: {"id": i, "present": p}, st.sampled_from(list(FindingId)),
                  st.booleans()),
        max_size=6,
    ),
    exam=st.fixed_dictionaries({}, optional={"lumbosacral": st.fixed_dictionaries(
        {}, optional={"spasticity": st.booleans(), "hyperreflexia": st.booleans()})}),
    genetics=st.lists(
        st.builds(lambda g, r: {"gene": g, "result": r},
                  st.sampled_from(["SOD1", "FUS", "C9orf72", "TARDBP"]),
                  st.sampled_from([r.value for r in GeneticResult])),
        max_size=4,
    ),
    alsfrs_r=st.lists(ratings, max_size=2),
    respiratory=st.lists(respiratory, max_size=2),
    premorbid_weight_kg=st.floats(50, 100),
    weights=st.lists(st.builds(lambda d, kg: {"date": d, "kg": kg}, dates, st.floats(40, 100)),
                     max_size=2),
    cognition=_optional_fields(ecas_total=st.integers(60, 136), ftd=st.booleans(),
                               behaviour_change=st.booleans()),
    medications=st.lists(
        st.builds(lambda n, s, u: {"name": n, "since": s, **({"until": u} if u else {})},
                  st.sampled_from(MEDICATION_NAMES), st.just(str(ONSET)), maybe(dates)),
        max_size=3,
    ),
    interventions=st.fixed_dictionaries(
        {"niv": intervention, "gastrostomy": intervention, "tracheostomy": intervention}),
    labs=st.lists(labs, max_size=3),
    care=_optional_fields(advance_care_plan=st.booleans(), palliative_care_referral=st.booleans(),
                          multidisciplinary_clinic=st.booleans()),
)  # fmt: skip
assessments = st.builds(
    lambda scores, gold_coast, el_escorial, differentials: Assessment(
        patient_id="T-1",
        as_of=AS_OF,
        knowledge_version=KB.version,
        scores=scores,
        criteria=Criteria(
            gold_coast=GoldCoastResult(met=gold_coast),
            el_escorial=ElEscorialResult(category=el_escorial),
        ),
        differentials=differentials,
    ),
    st.builds(Scores, progression_rate=maybe(st.floats(0, 4)),
              weight_loss_percent=maybe(st.floats(0, 30)), bmi=maybe(st.floats(12, 35))),
    maybe(st.booleans()),
    maybe(st.sampled_from(list(ElEscorialCategory))),
    st.lists(
        st.builds(lambda i, level: DifferentialResult(id=i, level=level, because=("a clue",),
                                                      sources=("turner2013_mimics",)),
                  st.sampled_from(list(DifferentialId)), st.sampled_from(list(DifferentialLevel))),
        max_size=3, unique_by=lambda result: result.id,
    ).map(tuple),
)  # fmt: skip


def _run(fields: dict[str, Any], so_far: Assessment) -> Assessment:
    # Every generated date is on or after onset, as the record schema requires.
    timeline = cut_off(make_record(symptom_onset={"date": str(ONSET)}, **fields), AS_OF)
    advice = recommendations(timeline, so_far, KB)
    with_advice = so_far.model_copy(update={"recommendations": advice})
    return with_advice.model_copy(update={"alerts": alerts(timeline, with_advice, KB)})


@given(records, assessments)
def test_every_recommendation_and_alert_has_a_because_and_a_known_source(fields, so_far):
    result = _run(fields, so_far)
    for output in (*result.recommendations, *result.alerts):
        assert output.because, output.id
        assert all(sentence.strip() for sentence in output.because)
        assert output.sources, output.id
        assert set(output.sources) <= SOURCE_IDS


@given(records, assessments)
def test_recommendations_in_algorithm_order_once_each_and_deterministic(fields, so_far):
    first, second = _run(fields, so_far), _run(fields, so_far)
    assert first == second
    ids = [r.id for r in first.recommendations]
    assert len(ids) == len(set(ids))
    assert [STEP_ORDER.index(i) for i in ids] == sorted(STEP_ORDER.index(i) for i in ids)
    assert all(r.group == STEP_GROUP[r.id] for r in first.recommendations)


@given(records, assessments)
def test_alerts_once_each_most_severe_first(fields, so_far):
    raised = _run(fields, so_far).alerts
    assert len({a.id for a in raised}) == len(raised)
    ranks = [list(Severity).index(a.severity) for a in raised]
    assert ranks == sorted(ranks)


@given(records, assessments)
def test_withdrawn_drug_never_recommended_and_nothing_started_where_unavailable(fields, so_far):
    result = _run(fields, so_far)
    jurisdiction = fields.get("jurisdiction")
    for recommendation in result.recommendations:
        if recommendation.id == "sodium_phenylbutyrate_taurursodiol":
            assert recommendation.action == Action.STOP
        if recommendation.action in (Action.START, Action.CONSIDER) and jurisdiction:
            drug = next((d for d in KB.treatment.drugs if d.id == recommendation.id), None)
            status = drug.status_in(Jurisdiction(jurisdiction)) if drug else None
            assert status is None or status.status not in {
                "not_authorised",
                "withdrawn",
                "refused",
            }


@given(records, assessments)
def test_stop_and_liver_alerts_only_for_a_drug_being_taken(fields, so_far):
    result = _run(fields, so_far)
    taking = bool(fields.get("medications"))
    stopped = [r for r in result.recommendations if r.action == Action.STOP]
    liver = [a for a in result.alerts if a.id.startswith("riluzole_")]
    if not taking:
        assert not stopped and not liver
