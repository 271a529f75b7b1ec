"""Trial screening: does one patient, on one date, meet a trial file's criteria?

:func:`screen` checks every criterion of a trial (``alscare.knowledge.trials``) against the
patient's assessment and the engine's facts, and says for each whether it is met, failed or
unknown, with a short reason; the trial's status is ``not_eligible`` when any criterion fails,
``unknown`` when none fails but some cannot be decided, ``eligible`` when all are met. A value
the screening needs and the record does not give is unknown, never a default: so is a value the
assessment flags as stale (older than its repeat window: a trial screens on current
measurements) or implausible. A patient who has died is never eligible.

Where each value comes from, so that a screening and the assessment never disagree:

* FVC, progression rate, El Escorial, Gold Coast, the ENCALS linear predictor: the
  ``Assessment``, as on the wire;
* age, months since onset, a causal variant, an intervention in place: the engine's facts
  (``alscare.engine.patient_facts``: ``patient.age_years``, ``patient.months_since_onset``,
  ``variant.<gene>`` by the knowledge base's one definition, ``intervention.<kind>.in_place``),
  and the hours a day from the patient state's latest event of the intervention.

:func:`load_trial` reads a trial file, :func:`load_trials` a folder of them,
:func:`shipped_trials` the trials alscare ships (``knowledge/content/trials/``);
:func:`fitting_trials` is what the patient page shows.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict

from alscare.engine import patient_facts
from alscare.engine.facts import Fact, Facts
from alscare.errors import KnowledgeError
from alscare.knowledge import KnowledgeBase
from alscare.knowledge.trials import (
    RANGE_CRITERIA,
    Criterion,
    ElEscorialCriterion,
    GeneCriterion,
    GoldCoastCriterion,
    InterventionExclusion,
    NumberRange,
    Trial,
    parse_trial,
)
from alscare.presentation import number, wording
from alscare.schemas.assessment import Assessment
from alscare.schemas.patient import PatientRecord
from alscare.schemas.vocabulary import InterventionEvent, InterventionKind

__all__ = [
    "CRITERION_LABELS",
    "STATUS_TEXT",
    "CriterionResult",
    "Outcome",
    "Screening",
    "Status",
    "fitting_trials",
    "load_trial",
    "load_trials",
    "screen",
    "shipped_trials",
]


class Outcome(StrEnum):
    """How one criterion went."""

    MET = "met"
    FAILED = "failed"
    UNKNOWN = "unknown"


class Status(StrEnum):
    """Whether the patient fits the trial on the recorded data."""

    ELIGIBLE = "eligible"
    NOT_ELIGIBLE = "not_eligible"
    UNKNOWN = "unknown"


#: How each criterion is named in a reason and on the page.
CRITERION_LABELS: Final = {
    "alive": "Alive",
    "age_years": "Age",
    "months_since_onset": "Time since symptom onset",
    "fvc_percent_predicted": "FVC",
    "progression_rate": "Progression rate (ΔFS)",
    "encals_linear_predictor": "ENCALS linear predictor",
    "el_escorial": "Revised El Escorial category",
    "gold_coast": "Gold Coast criteria",
}
#: The status as the patient page says it.
STATUS_TEXT: Final = {
    Status.ELIGIBLE: "meets every criterion on the recorded data",
    Status.UNKNOWN: "may fit: some criteria cannot be decided yet",
    Status.NOT_ELIGIBLE: "does not fit",
}
_UNITS: Final = {
    "age_years": ("years", 1),
    "months_since_onset": ("months", 1),
    "fvc_percent_predicted": ("% predicted", 1),
    "progression_rate": ("points/month", 2),
    "encals_linear_predictor": ("", 3),
}


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CriterionResult(_Model):
    """One criterion: ``criterion`` is its path in the trial file (``genes.SOD1``,
    ``exclude_interventions.niv``), ``reason`` the patient's value and what the trial asks."""

    criterion: str
    label: str
    outcome: Outcome
    reason: str
    sources: tuple[str, ...] = ()
    verified: bool = True
    note: str | None = None


class Screening(_Model):
    """One patient against one trial on one date."""

    trial_id: str
    title: str
    note: str | None
    patient_id: str
    as_of: dt.date
    status: Status
    example: bool
    verified: bool
    criteria: tuple[CriterionResult, ...]
    trial_sources: tuple[str, ...]

    @property
    def unknown(self) -> tuple[CriterionResult, ...]:
        """The criteria that cannot be decided: what to find out."""
        return tuple(c for c in self.criteria if c.outcome is Outcome.UNKNOWN)

    @property
    def failed(self) -> tuple[CriterionResult, ...]:
        return tuple(c for c in self.criteria if c.outcome is Outcome.FAILED)

    @property
    def sources(self) -> tuple[str, ...]:
        """Every source the screening cites, once each: the trial's, then the criteria's."""
        cited = (*self.trial_sources, *(s for c in self.criteria for s in c.sources))
        return tuple(dict.fromkeys(cited))

    @property
    def status_text(self) -> str:
        return STATUS_TEXT[self.status]

    def to_json_line(self) -> str:
        return self.model_dump_json()


# --- reading trial files --------------------------------------------------------------------


def load_trial(path: Path | Traversable, *, kb: KnowledgeBase) -> Trial:
    """A trial file, validated against ``kb`` (KnowledgeError names the file and field)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise KnowledgeError(str(path), None, "(file)", f"cannot be read: {error}") from None
    return parse_trial(text, name=str(path), kb=kb)


_SHIPPED: dict[int, tuple[KnowledgeBase, tuple[Trial, ...]]] = {}


def shipped_trials(kb: KnowledgeBase) -> tuple[Trial, ...]:
    """The trials alscare ships (``knowledge/content/trials/*.yaml``), in file-name order,
    read once per knowledge base."""
    cached = _SHIPPED.get(id(kb))
    if cached is None or cached[0] is not kb:
        cached = _SHIPPED[id(kb)] = (kb, _read_shipped(kb))
    return cached[1]


def _read_shipped(kb: KnowledgeBase) -> tuple[Trial, ...]:
    return load_trials(resources.files("alscare.knowledge") / "content" / "trials", kb=kb)


def load_trials(folder: Path | Traversable, *, kb: KnowledgeBase) -> tuple[Trial, ...]:
    """Every trial file (``*.yaml``) of a folder, in file-name order; each trial's id must be
    its file's name, so no two share an id."""
    if not folder.is_dir():
        raise KnowledgeError(str(folder), None, "(directory)", "trial folder not found")
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".yaml")), key=_name)
    trials = []
    for file in files:
        trial = load_trial(file, kb=kb)
        stem = file.name.removesuffix(".yaml")
        if trial.id != stem:
            reason = f"must be the file's name, {stem!r}"
            raise KnowledgeError(str(file), trial.id, "id", reason)
        trials.append(trial)
    return tuple(trials)


def _name(file: Traversable) -> str:
    return file.name


# --- screening ------------------------------------------------------------------------------


def screen(
    record: PatientRecord,
    assessment: Assessment,
    trial: Trial,
    *,
    kb: KnowledgeBase,
    facts: Facts | None = None,
) -> Screening:
    """``record`` against ``trial`` on the assessment's date. ``assessment`` is the engine's
    assessment of this record on that date; ``facts`` (computed when not given) the engine's
    facts of it, for screening several trials at the cost of one."""
    facts = _facts_of(record, assessment, kb, facts)
    source_ids = tuple(ref.id for ref in trial.sources)
    results = (_alive(facts), *_criteria(trial, assessment, facts, kb, source_ids))
    return Screening(
        trial_id=trial.id,
        title=trial.title,
        note=trial.note,
        patient_id=record.id,
        as_of=assessment.as_of,
        status=_status(results),
        example=trial.example,
        verified=trial.verified and all(result.verified for result in results),
        criteria=results,
        trial_sources=source_ids,
    )


def fitting_trials(
    record: PatientRecord,
    assessment: Assessment,
    *,
    kb: KnowledgeBase,
    trials: Iterable[Trial] | None = None,
) -> tuple[Screening, ...]:
    """The trials (the shipped ones unless given) the patient is eligible for or may be, the
    eligible first; each screening's ``unknown`` says what is still to find out."""
    facts = patient_facts(record, as_of=assessment.as_of, kb=kb)
    chosen = shipped_trials(kb) if trials is None else tuple(trials)
    screened = [screen(record, assessment, trial, kb=kb, facts=facts) for trial in chosen]
    eligible = [s for s in screened if s.status is Status.ELIGIBLE]
    unknown = [s for s in screened if s.status is Status.UNKNOWN]
    return (*eligible, *unknown)


def _facts_of(
    record: PatientRecord, assessment: Assessment, kb: KnowledgeBase, facts: Facts | None
) -> Facts:
    if record.id != assessment.patient_id:
        raise ValueError(f"assessment of {assessment.patient_id}, record {record.id}")
    if facts is None:
        return patient_facts(record, as_of=assessment.as_of, kb=kb)
    same_record = facts.state.record is record or facts.state.record == record
    if not same_record or facts.state.as_of != assessment.as_of:
        raise ValueError("the facts are not of this record on the assessment's date")
    return facts


def _status(results: Sequence[CriterionResult]) -> Status:
    outcomes = {result.outcome for result in results}
    if Outcome.FAILED in outcomes:
        return Status.NOT_ELIGIBLE
    if Outcome.UNKNOWN in outcomes:
        return Status.UNKNOWN
    return Status.ELIGIBLE


def _criteria(
    trial: Trial,
    assessment: Assessment,
    facts: Facts,
    kb: KnowledgeBase,
    trial_sources: tuple[str, ...],
) -> Iterable[CriterionResult]:
    criteria = trial.criteria
    for name in RANGE_CRITERIA:
        criterion = getattr(criteria, name)
        if criterion is not None:
            yield _range(name, criterion, _RANGE_VALUES[name](assessment, facts), trial_sources)
    if criteria.el_escorial is not None:
        yield _el_escorial(criteria.el_escorial, assessment, kb, trial_sources)
    if criteria.gold_coast is not None:
        yield _gold_coast(criteria.gold_coast, assessment, trial_sources)
    if criteria.genes is not None:
        yield from _genes(criteria.genes, facts, trial_sources)
    for exclusion in criteria.exclude_interventions:
        yield _intervention(exclusion, facts, kb, trial_sources)


def _result(
    criterion_id: str,
    label: str,
    outcome: Outcome,
    reason: str,
    criterion: Criterion,
    trial_sources: tuple[str, ...],
    *,
    sources: Iterable[str] = (),
    verified: bool = True,
) -> CriterionResult:
    """A result citing the criterion's sources (the trial's when it has none of its own) and
    those of the knowledge the patient's value was computed with."""
    cited = criterion.source_ids or trial_sources
    return CriterionResult(
        criterion=criterion_id,
        label=label,
        outcome=outcome,
        reason=reason,
        sources=tuple(dict.fromkeys((*cited, *sources))),
        verified=criterion.checked and verified,
        note=criterion.note,
    )


def _alive(facts: Facts) -> CriterionResult:
    died = facts("patient.deceased")
    outcome = Outcome.FAILED if died.value else Outcome.MET
    return CriterionResult(
        criterion="alive", label=CRITERION_LABELS["alive"], outcome=outcome, reason=died.because
    )


# --- ranges -----------------------------------------------------------------------------------


class _Value:
    """A value a range criterion reads: the number (None: unknown), the sentence that states it
    or says why it is unknown, and the sources and mark of the knowledge that computed it."""

    __slots__ = ("because", "number", "sources", "verified")

    def __init__(
        self,
        value: float | None,
        because: str,
        sources: tuple[str, ...] = (),
        verified: bool = True,
    ) -> None:
        self.number = value
        self.because = because
        self.sources = sources
        self.verified = verified


def _from_fact(fact: Fact) -> _Value:
    value = fact.value
    known = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    return _Value(known, fact.because, fact.sources, fact.verified)


def _age(assessment: Assessment, facts: Facts) -> _Value:
    value = _from_fact(facts("patient.age_years"))
    if value.number is not None:
        # Rounded down, as ages are counted: 63.997 is not yet 64 and must not read as 64.
        shown = number(math.floor(value.number * 100) / 100, "years", digits=2)
        value.because = f"age {shown} on {assessment.as_of}"
    return value


def _months_since_onset(assessment: Assessment, facts: Facts) -> _Value:
    value = _from_fact(facts("patient.months_since_onset"))
    if value.number is not None:
        # Two decimals tell one day from the next (a day is 0.03 months).
        shown = number(value.number, "months", digits=2)
        value.because = f"{shown} since symptom onset on {facts.state.onset}"
    return value


def _fvc(assessment: Assessment, facts: Facts) -> _Value:
    return _score(assessment, "fvc_percent_predicted", "FVC", "no FVC % predicted recorded")


def _progression_rate(assessment: Assessment, facts: Facts) -> _Value:
    missing = next(
        (item for item in assessment.scores.missing if "progression rate" in item),
        "a complete ALSFRS-R rating and the symptom onset date",
    )
    return _score(assessment, "progression_rate", "progression rate (ΔFS)", f"needs {missing}")


def _score(assessment: Assessment, key: str, what: str, unknown: str) -> _Value:
    """A score of the assessment; unknown when it is missing, stale or implausible."""
    scores = assessment.scores
    value: float | None = getattr(scores, key)
    if value is None:
        return _Value(None, f"{what} not known: {unknown}")
    unit, digits = _UNITS[key]
    when = scores.dates.get(key)
    stated = f"{what} {number(value, unit, digits=digits)}" + (f" on {when}" if when else "")
    if key in scores.implausible or key in scores.stale:
        note = scores.notes.get(key, "stale" if key in scores.stale else "implausible")
        return _Value(None, f"{stated}, not used: {note}")
    return _Value(value, stated)


def _linear_predictor(assessment: Assessment, facts: Facts) -> _Value:
    encals = assessment.prognosis.encals
    sources, verified = encals.sources, encals.verified
    if encals.applicable is False:
        outside = [item for item in encals.because if item.startswith("not applicable")]
        reason = "; ".join(outside) or "the ENCALS model does not apply to this patient"
        return _Value(None, f"no ENCALS prediction ({reason})", sources, verified)
    if encals.linear_predictor is None:
        missing = "; ".join(encals.missing) or "an input the model needs"
        return _Value(None, f"no ENCALS prediction (needs {missing})", sources)
    shown = number(encals.linear_predictor, digits=3)
    return _Value(encals.linear_predictor, f"ENCALS linear predictor {shown}", sources, verified)


_RANGE_VALUES: Final[dict[str, Callable[[Assessment, Facts], _Value]]] = {
    "age_years": _age,
    "months_since_onset": _months_since_onset,
    "fvc_percent_predicted": _fvc,
    "progression_rate": _progression_rate,
    "encals_linear_predictor": _linear_predictor,
}


def _range(
    name: str, criterion: NumberRange, value: _Value, trial_sources: tuple[str, ...]
) -> CriterionResult:
    asked = _asked(name, criterion)
    reason = f"{value.because}; the trial asks for {asked}"
    found, low, high = value.number, criterion.min, criterion.max
    if found is None:
        outcome = Outcome.UNKNOWN
    elif low is not None and found < low.value:  # both bounds inclusive
        outcome, reason = (
            Outcome.FAILED,
            f"{value.because}: below the trial's bound (it asks for {asked})",
        )
    elif high is not None and found > high.value:
        outcome, reason = (
            Outcome.FAILED,
            f"{value.because}: above the trial's bound (it asks for {asked})",
        )
    else:
        outcome = Outcome.MET
    return _result(
        name, CRITERION_LABELS[name], outcome, reason, criterion, trial_sources,
        sources=value.sources, verified=value.verified,
    )  # fmt: skip


def _asked(name: str, criterion: NumberRange) -> str:
    """The range in words, bounds included: "at least 80 % predicted", "-6 to -2"."""
    unit, digits = _UNITS[name]
    low, high = criterion.min, criterion.max
    if low is not None and high is not None:
        return f"{number(low.value, digits=digits)} to {number(high.value, unit, digits=digits)}"
    if low is not None:
        return f"at least {number(low.value, unit, digits=digits)}"
    assert high is not None  # a range has a bound (knowledge/trials.py)
    return f"at most {number(high.value, unit, digits=digits)}"


# --- categories, genes, interventions ---------------------------------------------------------


def _el_escorial(
    criterion: ElEscorialCriterion,
    assessment: Assessment,
    kb: KnowledgeBase,
    trial_sources: tuple[str, ...],
) -> CriterionResult:
    found = assessment.criteria.el_escorial
    words = wording(kb)
    asked = "one of: " + words.labels("el_escorial", criterion.allowed).lower()
    if found.category is None:
        missing = "; ".join(found.missing) or "the examination and EMG"
        outcome, stated = Outcome.UNKNOWN, f"category cannot be decided (needs {missing})"
    else:
        outcome = Outcome.MET if found.category in criterion.allowed else Outcome.FAILED
        stated = words.category("el_escorial", found.category).lower()
    reason = f"{stated}; the trial asks for {asked}"
    label = CRITERION_LABELS["el_escorial"]
    return _result(
        "el_escorial", label, outcome, reason, criterion, trial_sources,
        sources=found.sources, verified=found.verified,
    )  # fmt: skip


def _gold_coast(
    criterion: GoldCoastCriterion, assessment: Assessment, trial_sources: tuple[str, ...]
) -> CriterionResult:
    found = assessment.criteria.gold_coast
    asked = "met" if criterion.met else "not met"
    if found.met is None:
        missing = "; ".join(found.missing) or "the examination and EMG"
        outcome, stated = Outcome.UNKNOWN, f"cannot be decided (needs {missing})"
    else:
        outcome = Outcome.MET if found.met is criterion.met else Outcome.FAILED
        stated = "met" if found.met else "not met"
    reason = f"{stated}; the trial asks for them {asked}"
    label = CRITERION_LABELS["gold_coast"]
    return _result(
        "gold_coast", label, outcome, reason, criterion, trial_sources,
        sources=found.sources, verified=found.verified,
    )  # fmt: skip


def _genes(
    criterion: GeneCriterion, facts: Facts, trial_sources: tuple[str, ...]
) -> Iterable[CriterionResult]:
    """One result per required gene, from the engine's ``variant.<gene>`` fact."""
    for gene in criterion.required:
        fact = facts(f"variant.{gene}")
        outcome = _outcome(fact.value)
        reason = f"{fact.because}; the trial asks for a causal {gene} variant"
        yield _result(
            f"genes.{gene}", f"Causal {gene} variant", outcome, reason, criterion, trial_sources,
            sources=fact.sources, verified=fact.verified,
        )  # fmt: skip


def _outcome(value: object) -> Outcome:
    if value is None:
        return Outcome.UNKNOWN
    return Outcome.MET if value is True else Outcome.FAILED


def _intervention(
    exclusion: InterventionExclusion,
    facts: Facts,
    kb: KnowledgeBase,
    trial_sources: tuple[str, ...],
) -> CriterionResult:
    """Excluded when the intervention is in place (for more than the hours a day given)."""
    kind = exclusion.kind
    name = wording(kb).label("intervention", kind)
    over = exclusion.hours_per_day_over
    limit = "" if over is None else f" over {number(over, 'h/day')}"
    in_place = facts(f"intervention.{kind.value}.in_place")
    outcome = _excluded(exclusion, in_place.value, _hours_per_day(facts, kind))
    reason = f"{in_place.because}; the trial excludes {name}{limit}"
    if outcome is Outcome.UNKNOWN and in_place.value is True:
        reason = f"{in_place.because}, hours a day not recorded; the trial excludes {name}{limit}"
    return _result(
        f"exclude_interventions.{kind.value}", f"No {name}{limit}", outcome, reason,
        exclusion, trial_sources, sources=in_place.sources, verified=in_place.verified,
    )  # fmt: skip


def _excluded(exclusion: InterventionExclusion, in_place: object, hours: float | None) -> Outcome:
    if in_place is None:
        return Outcome.UNKNOWN
    if in_place is not True:
        return Outcome.MET
    over = exclusion.hours_per_day_over
    if over is None:
        return Outcome.FAILED
    if hours is None:
        return Outcome.UNKNOWN
    return Outcome.FAILED if hours > over else Outcome.MET


def _hours_per_day(facts: Facts, kind: InterventionKind) -> float | None:
    """Hours a day of the intervention's latest event, when that event started it."""
    interventions = facts.state.interventions
    events = interventions.get(kind) if interventions is not None else None
    if not events or events[-1].event != InterventionEvent.STARTED:
        return None
    return events[-1].hours_per_day
