"""Properties of the treatment algorithm and the alerts over generated patients, records of both
versions assessed as a whole: every recommendation and alert says why (``because``) and cites a
known source; output order and content are stable; the withdrawn drug is never recommended;
nothing is started where the knowledge base says it is unavailable; nothing is stopped and no
liver or blood alert is raised for a patient who takes no drug."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from alscare import assess, load_knowledge, parse_record
from alscare.schemas.assessment import Alert, Assessment, Recommendation
from alscare.schemas.vocabulary import (
    Action,
    AlsfrsItem,
    FindingId,
    GeneticResult,
    Jurisdiction,
    RespiratorySymptom,
    Severity,
)
from tests.property.strategies import (
    ABNORMAL_TESTS,
    AS_OF,
    EMG_FLAGS,
    NORMAL_TESTS,
    REGIONS,
    exam_region,
    records_v2,
)

KB = load_knowledge()
ONSET = dt.date(2021, 1, 1)
SOURCE_IDS = {source.id for source in KB.sources}
STEP_ORDER = [step.id for _, step in KB.treatment.steps()]
STEP_GROUP = {step.id: group.id for group, step in KB.treatment.steps()}
MEDICATION_NAMES = [name for drug in KB.treatment.drugs for name in (drug.id, *drug.names)]
UNAVAILABLE = {"not_authorised", "withdrawn", "refused"}

# Some entries fall after as_of: they are left out, and must change none of the properties.
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
        nocturnal_spo2_below_90_percent_time=st.floats(0, 40),
        nocturnal_spo2_88_or_below_minutes=st.floats(0, 120),
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
# The examination, EMG and results that decide the criteria and the differential the algorithm
# reads (a person with ALS, a suspected mimic).
emg = st.builds(
    lambda date, flags: {"date": date, "regions": {}, **flags},
    dates,
    st.fixed_dictionaries({}, optional=dict.fromkeys(EMG_FLAGS, st.booleans())),
)
tests = st.lists(
    st.builds(lambda test, date: {**test, "date": date},
              st.sampled_from(NORMAL_TESTS + ABNORMAL_TESTS), dates),
    max_size=3,
)  # fmt: skip
records_v1 = _optional_fields(
    jurisdiction=st.sampled_from([j.value for j in Jurisdiction]),
    diagnosis_date=dates,
    progressive=st.booleans(),
    height_cm=st.integers(150, 200),
    findings=st.lists(
        st.builds(lambda i, p: {"id": i, "present": p}, st.sampled_from(list(FindingId)),
                  st.booleans()),
        max_size=6,
    ),
    exam=st.fixed_dictionaries({}, optional=dict.fromkeys(REGIONS, exam_region)),
    emg=emg,
    tests=tests,
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
).map(lambda fields: {"schema": "alscare.patient/v1", "id": "T-1",
                      "symptom_onset": {"date": str(ONSET)}, **fields})  # fmt: skip
# Every generated date is on or after onset, as the record schema requires.
records = st.one_of(records_v1, records_v2())


def _run(data: dict[str, Any]) -> Assessment:
    return assess(parse_record(data), as_of=AS_OF, kb=KB)


def _taking_a_drug(data: dict[str, Any]) -> bool:
    """Whether a medication of the record is current on as_of (since on or before it, until
    after it)."""
    for medication in data.get("medications") or ():
        since, until = medication.get("since"), medication.get("until")
        started = since is None or dt.date.fromisoformat(since) <= AS_OF
        if started and (until is None or dt.date.fromisoformat(until) > AS_OF):
            return True
    return False


@given(records)
def test_every_recommendation_and_alert_has_a_because_and_a_known_source(data):
    result = _run(data)
    outputs: list[Recommendation | Alert] = [*result.recommendations, *result.alerts]
    for output in outputs:
        assert output.because, output.id
        assert all(sentence.strip() for sentence in output.because)
        assert output.sources, output.id
        assert set(output.sources) <= SOURCE_IDS


@given(records)
def test_recommendations_in_algorithm_order_once_each_and_deterministic(data):
    first, second = _run(data), _run(data)
    assert first == second
    ids = [r.id for r in first.recommendations]
    assert len(ids) == len(set(ids))
    assert [STEP_ORDER.index(i) for i in ids] == sorted(STEP_ORDER.index(i) for i in ids)
    assert all(r.group == STEP_GROUP[r.id] for r in first.recommendations)


@given(records)
def test_alerts_once_each_most_severe_first(data):
    raised = _run(data).alerts
    assert len({a.id for a in raised}) == len(raised)
    ranks = [list(Severity).index(a.severity) for a in raised]
    assert ranks == sorted(ranks)


@given(records)
def test_withdrawn_drug_never_recommended_and_nothing_started_where_unavailable(data):
    result = _run(data)
    jurisdiction = data.get("jurisdiction")
    for recommendation in result.recommendations:
        if recommendation.id == "sodium_phenylbutyrate_taurursodiol":
            assert recommendation.action == Action.STOP
        if recommendation.action in (Action.START, Action.CONSIDER) and jurisdiction:
            drug = next((d for d in KB.treatment.drugs if d.id == recommendation.id), None)
            status = drug.status_in(Jurisdiction(jurisdiction)) if drug else None
            assert status is None or status.status not in UNAVAILABLE


@given(records)
def test_stop_and_drug_alerts_only_for_a_drug_being_taken(data):
    result = _run(data)
    if not _taking_a_drug(data):
        assert not [r for r in result.recommendations if r.action == Action.STOP]
        assert not [a for a in result.alerts if a.id.startswith("riluzole_")]


@given(records_v1)
def test_person_with_als_gets_every_all_patients_step(data):
    # The all_patients group applies to every person with ALS: a recorded diagnosis makes one.
    diagnosed = {**data, "diagnosis_date": str(ONSET + dt.timedelta(days=200))}
    made = {r.id for r in _run(diagnosed).recommendations}
    assert {"riluzole", "multidisciplinary_care", "dietitian"} <= made
