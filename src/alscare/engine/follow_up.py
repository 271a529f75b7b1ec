"""What falls due for a person with ALS on the assessment date: the clinic's worklist, patient
by patient (``kb.treatment.follow_up``).

Each item is due from a date the knowledge base's own intervals give, and says why:

* a measurement (respiratory tests, ALSFRS-R, weight): from the first day past its repeat
  window after the latest one, the same day the assessment calls it stale; never done, from the
  diagnosis;
* riluzole's liver tests: from the day the schedule's interval after the last dated ALT runs
  out, or from the start of the drug when no ALT is dated (the test comes before the drug);
* a decision an alert asks for (NIV, gastrostomy): while the alert is raised and the record
  holds no event of that intervention, from the latest of the measurements it rests on;
* the cognitive screen: never done, from the diagnosis.

Only for a person with ALS (the named condition ``person_with_als``), and nothing from the
date of death on. Items come in the knowledge base's order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from alscare.engine.facts import Facts
from alscare.engine.record_facts import how_stale, intervention_label, liver_check
from alscare.engine.state import PatientState, first_day_past
from alscare.knowledge.treatment import FollowUpItem

__all__ = ["follow_up"]

Alerts = Sequence[Mapping[str, Any]]


def follow_up(facts: Facts, alerts: Alerts) -> tuple[dict[str, Any], ...]:
    """The items due on the assessment date (wire data), given the alerts raised."""
    state = facts.state
    if state.deceased or facts.values["@person_with_als"] is not True:
        return ()
    raised = {alert["id"]: alert for alert in alerts}
    due = (_item_due(item, facts, raised) for item in facts.kb.treatment.follow_up)
    return tuple(item for item in due if item is not None)


def _item_due(
    item: FollowUpItem, facts: Facts, raised: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any] | None:
    if item.measurement is not None:
        found = _measurement_due(item.measurement, facts)
    elif item.liver_monitoring:
        found = _liver_tests_due(facts)
    elif item.alert is not None:
        found = _decision_due(item, facts, raised.get(item.alert))
    else:
        found = _screen_due(facts.state)
    if found is None:
        return None
    since, because, sources, verified = found
    return {
        "id": item.id,
        "label": item.label,
        "since": since,
        "because": because,
        "sources": tuple(dict.fromkeys((*item.source_ids, *sources))),
        "verified": item.verified and verified,
    }


_Due = tuple[dt.date | None, tuple[str, ...], tuple[str, ...], bool]


def _measurement_due(measurement: str, facts: Facts) -> _Due | None:
    state, kb = facts.state, facts.kb
    window = kb.rules.window_by_measurement[measurement]
    latest = last_measured(state, measurement)
    if latest is None:
        return state.diagnosis_date, (f"no {window.label} recorded",), window.source_ids, True
    since = first_day_past(latest, window.months)
    if since > state.as_of:
        return None
    because = f"{window.label} of {latest}, {how_stale(kb, measurement, latest, state.as_of)}"
    return since, (because,), window.source_ids, window.verified


def last_measured(state: PatientState, measurement: str) -> dt.date | None:
    """The date of the latest measurement of this kind on the assessment date: any ALSFRS-R
    rating (one with unrated items was still done), any weight, and for the respiratory
    window (keyed by FVC, the test it names first) any breathing test with a result."""
    if measurement == "alsfrs_r":
        return state.ratings[-1].date if state.ratings else None
    if measurement == "weight":
        return state.weights[-1].date if state.weights else None
    entry = state.latest_tests()
    return entry.date if entry is not None else None


def _liver_tests_due(facts: Facts) -> _Due | None:
    check = liver_check(facts)
    if check.due_on is None or check.due_on > facts.state.as_of:
        return None
    return check.due_on, (check.because,), check.sources, True


def _decision_due(item: FollowUpItem, facts: Facts, alert: Mapping[str, Any] | None) -> _Due | None:
    assert item.intervention is not None  # an alert item names its intervention (model check)
    answered = facts.values[f"intervention.{item.intervention}.state"]
    # an unrecorded intervention list (null) leaves the decision as open as an empty one
    if alert is None or answered not in (None, "none"):
        return None
    since = _latest(last_measured(facts.state, m) for m in item.based_on)
    unanswered = f"no {intervention_label(item.intervention)} offered, declined or started yet"
    return since, (*alert["because"], unanswered), tuple(alert["sources"]), alert["verified"]


def _screen_due(state: PatientState) -> _Due | None:
    if state.cognition:
        return None
    return state.diagnosis_date, ("no cognitive screen recorded",), (), True


def _latest(dates: Iterable[dt.date | None]) -> dt.date | None:
    known = [date for date in dates if date is not None]
    return max(known) if known else None
