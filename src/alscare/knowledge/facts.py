"""The fact catalogue: every patient fact a rule may test, by dotted name, kind and unit.

A rule's leaf names one fact (``respiratory.fvc_percent_predicted``, ``finding.ftd_features``).
Each entry here is a name pattern whose ``{placeholders}`` take values from a domain (a
vocabulary, or ids the knowledge base defines, such as drugs and steps), the kind of value
(yes/no, number, text, list), its unit, whether it can be unknown, the stage of the assessment
that provides it, and what it means. ``engine/facts.py`` computes each entry with one function;
a test checks that the two lists match, and ``docs/rules.md`` is generated from this one.

Stages say when a fact exists: ``record`` facts come from the patient's record as it stood on
the assessment date; ``regions`` from the UMN/LMN involvement of each region; ``differentials``
from the differential; ``criteria`` from the diagnostic criteria; ``scores`` from the derived
scores (progression rate, BMI, weight loss, staleness); ``recommendations`` from the steps of
the treatment algorithm decided so far. A rule may use the facts of the stages before its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum
from typing import Final, Literal

from alscare.schemas.vocabulary import (
    AlsfrsItem,
    CareKind,
    ElEscorialCategory,
    FindingId,
    GeneticResult,
    InterventionEvent,
    InterventionKind,
    InvestigationId,
    LmnSign,
    OnsetSite,
    Region,
    RespiratorySymptom,
    RiskFactorId,
    Sex,
    StopReason,
    TestResult,
    UmnSign,
)

__all__ = [
    "CATALOGUE",
    "DOMAINS",
    "FactKind",
    "FactName",
    "FactSpec",
    "Stage",
    "parse_fact_name",
]

FactKind = Literal["yes_no", "number", "text", "list"]


class Stage(IntEnum):
    """The step of the assessment that provides a fact; later stages see earlier facts."""

    RECORD = 1
    REGIONS = 2
    DIFFERENTIALS = 3
    CRITERIA = 4
    SCORES = 5
    RECOMMENDATIONS = 6


#: The values a placeholder takes: a fixed list, or the ids of a kind of knowledge item
#: (``kb:drugs``, ``kb:steps``), checked once the whole knowledge base is loaded.
DOMAINS: Final[dict[str, tuple[str, ...] | str]] = {
    "finding": tuple(FindingId),
    "region": tuple(Region),
    "region_or_any": (*Region, "any"),
    "sign": (*LmnSign, *UmnSign),
    "emg_finding": (
        "motor_conduction_block",
        "sensory_conduction_abnormal",
        "myopathic_units",
        "rns_decrement",
        "post_exercise_increment",
    ),
    "investigation": tuple(InvestigationId),
    "gene": r"[A-Za-z0-9_-]+",
    "gene_or_any": r"[A-Za-z0-9_-]+",
    "risk_factor": tuple(RiskFactorId),
    "item": tuple(AlsfrsItem),
    "intervention": tuple(InterventionKind),
    "care": tuple(CareKind),
    "drug": "kb:drugs",
    "step": "kb:steps",
}

_MEASURES = "the latest respiratory entry that records it, with its date"


@dataclass(frozen=True)
class FactSpec:
    """One entry of the catalogue.

    ``values`` lists the texts a text or list fact can hold (``None``: any). ``unknown`` says
    whether the fact can be unknown (``None``); a fact that cannot is always true or false, a
    number, a text or a list. ``unit`` is the unit of a number, or ``investigation`` for a
    test value in the canonical unit of its investigation.
    """

    pattern: str
    kind: FactKind
    stage: Stage
    summary: str
    unit: str | None = None
    values: tuple[str, ...] | None = None
    unknown: bool = True

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.pattern.split("."))


def _spec(
    pattern: str,
    kind: FactKind,
    summary: str,
    *,
    stage: Stage = Stage.RECORD,
    unit: str | None = None,
    values: tuple[str, ...] | None = None,
    unknown: bool = True,
) -> FactSpec:
    return FactSpec(pattern, kind, stage, summary, unit, values, unknown)


def _respiratory(field: str, unit: str, what: str) -> FactSpec:
    return _spec(f"respiratory.{field}", "number", f"{what}: {_MEASURES}.", unit=unit)


CATALOGUE: Final[tuple[FactSpec, ...]] = (
    # --- findings, examination, EMG ---------------------------------------------------------
    _spec(
        "finding.{finding}",
        "yes_no",
        "Whether the finding is present: for each region, the latest entry on or before the "
        "assessment date decides (an entry without a region speaks for every region, so it "
        "replaces earlier entries of any region); present if a current entry says so, absent "
        "if every current entry says absent. A finding of one region in the topic (foot drop: "
        "lumbosacral) reads only entries of that region or of none. A finding the topic "
        "equates with an examination sign (muscle atrophy = wasting, hyperreflexia, "
        "fasciculations) is also present when the current examination of a region shows that "
        "sign, and not found where an examined region lacks it; ftd_features also follows the "
        "latest cognitive screen that records FTD. Unknown when never recorded.",
    ),
    _spec(
        "finding.{finding}.{region}",
        "yes_no",
        "Whether the finding is present in that region: the current entry recorded for the "
        "region decides; a later entry without a region replaces it (as above) and, when it "
        "says absent, is absent in every region (present without a region does not say where). "
        "Unknown when never recorded for the region.",
    ),
    _spec(
        "findings.red_flags_since_diagnosis",
        "list",
        "Red-flag findings (pointing away from ALS) recorded present on a date after the "
        "diagnosis date; empty before a diagnosis.",
        values=None,
        unknown=False,
    ),
    _spec(
        "exam.{region_or_any}.{sign}",
        "yes_no",
        "The sign in the region's current examination (the latest that examined it); with "
        "`any`, in any region's current examination. Unknown when the region (any: every "
        "region) was never examined.",
    ),
    _spec(
        "emg.done",
        "yes_no",
        "Whether any needle EMG / nerve conduction study is recorded.",
        unknown=False,
    ),
    _spec(
        "emg.{emg_finding}",
        "yes_no",
        "A study-wide EMG/NCS finding, from the latest study that recorded it. Unknown when no "
        "study recorded it (rns_decrement and post_exercise_increment: RNS not done).",
    ),
    # --- investigations and genetics ----------------------------------------------------------
    _spec(
        "test.{investigation}.status",
        "text",
        "not_done, pending or done: done when a result is recorded (a tests entry, or where "
        "the investigation says so the EMG study, the RNS fields, genetic results or the "
        "diagnosis).",
        values=("not_done", "pending", "done"),
        unknown=False,
    ),
    _spec(
        "test.{investigation}.result",
        "text",
        "The qualitative result of the latest entry with a result.",
        values=tuple(TestResult),
    ),
    _spec(
        "test.{investigation}.value",
        "number",
        "The value of the latest entry with a result, in the investigation's canonical unit.",
        unit="investigation",
    ),
    _spec(
        "test.{investigation}.below_range",
        "yes_no",
        "Whether that value lies below the laboratory's lower reference limit; unknown "
        "without a value or a limit.",
    ),
    _spec(
        "test.{investigation}.above_range",
        "yes_no",
        "Whether that value lies above the laboratory's upper reference limit; unknown "
        "without a value or a limit.",
    ),
    _spec(
        "gene.{gene}",
        "text",
        "The classification of the latest genetic result for the gene (any case).",
        values=tuple(GeneticResult),
    ),
    _spec(
        "variant.{gene_or_any}",
        "yes_no",
        "A causal variant (the knowledge base's definition: rules/definitions.yaml) in the "
        "gene; `any`: in any gene. False when the gene (any: some gene) was tested without "
        "one; unknown when it was not tested.",
    ),
    _spec(
        "genetics.untested_panel_genes",
        "list",
        "Genes of the minimum testing panel with no result recorded.",
        unknown=False,
    ),
    # --- the patient ---------------------------------------------------------------------------
    _spec("patient.sex", "text", "Sex as recorded.", values=tuple(Sex)),
    _spec(
        "patient.age_years",
        "number",
        "Age on the assessment date, from the birth date or from an age and the date it was true.",
        unit="years",
    ),
    _spec("patient.onset_site", "text", "Site of the first symptom.", values=tuple(OnsetSite)),
    _spec(
        "patient.progressive",
        "yes_no",
        "Progressive motor impairment documented by history or repeated examination.",
    ),
    _spec(
        "patient.diagnosed",
        "yes_no",
        "A diagnosis date on or before the assessment date.",
        unknown=False,
    ),
    _spec(
        "patient.months_since_onset",
        "number",
        "Months from symptom onset to the assessment date.",
        unit="months",
    ),
    _spec(
        "patient.months_since_diagnosis",
        "number",
        "Months from diagnosis to the assessment date.",
        unit="months",
    ),
    _spec(
        "patient.deceased",
        "yes_no",
        "A date of death on or before the assessment date.",
        unknown=False,
    ),
    _spec("family_history.als", "yes_no", "A family history of ALS."),
    _spec("family_history.ftd", "yes_no", "A family history of frontotemporal dementia."),
    _spec(
        "risk_factor.{risk_factor}",
        "yes_no",
        "True when the record lists the risk factor; unknown otherwise.",
    ),
    # --- respiratory ---------------------------------------------------------------------------
    _respiratory("fvc_percent_predicted", "% predicted", "FVC"),
    _respiratory("supine_fvc_percent_predicted", "% predicted", "Supine FVC"),
    _respiratory("snip_cmh2o", "cmH2O", "Sniff nasal inspiratory pressure (magnitude)"),
    _respiratory("mip_cmh2o", "cmH2O", "Maximal inspiratory pressure (magnitude)"),
    _spec(
        "respiratory.paco2_kpa",
        "number",
        f"PaCO2 in kPa, from {_MEASURES} in either unit (converted).",
        unit="kPa",
    ),
    _spec(
        "respiratory.paco2_mmhg",
        "number",
        f"PaCO2 in mmHg, from {_MEASURES} in either unit (converted).",
        unit="mmHg",
    ),
    _respiratory("spo2_percent", "%", "SpO2 awake"),
    _respiratory(
        "nocturnal_spo2_below_90_percent_time",
        "% of sleep time",
        "Nocturnal oximetry, share of sleep time with SpO2 below 90 %",
    ),
    _respiratory(
        "nocturnal_spo2_88_or_below_minutes",
        "minutes",
        "Nocturnal oximetry, cumulative minutes with SpO2 at or below 88 %",
    ),
    _respiratory("peak_cough_flow_l_min", "L/min", "Peak cough flow"),
    _spec(
        "respiratory.symptoms",
        "list",
        "Respiratory symptoms of the latest respiratory entry.",
        values=tuple(RespiratorySymptom),
    ),
    _spec(
        "respiratory.months_since_tests",
        "number",
        "Months from the latest respiratory entry to the assessment date.",
        unit="months",
    ),
    # --- ALSFRS-R, scores ----------------------------------------------------------------------
    _spec(
        "alsfrs_r.{item}",
        "number",
        "The item's score on the latest ALSFRS-R rating (0-4); unknown when not rated then.",
        unit="points",
    ),
    _spec(
        "alsfrs_r.item_5_form",
        "text",
        "The form item 5 was rated in on the latest rating: 5a, or 5b with a gastrostomy.",
        values=("5a", "5b"),
    ),
    _spec(
        "alsfrs_r.progression_rate",
        "number",
        "Progression rate (delta-FS) of the latest complete rating; unknown when implausible.",
        stage=Stage.SCORES,
        unit="points/month",
    ),
    _spec(
        "nutrition.weight_loss_percent",
        "number",
        "Weight lost since the premorbid weight, in % of it (latest weight); unknown when "
        "implausible.",
        stage=Stage.SCORES,
        unit="%",
    ),
    _spec(
        "nutrition.bmi",
        "number",
        "Body-mass index of the latest weight; unknown when implausible.",
        stage=Stage.SCORES,
        unit="kg/m2",
    ),
    _spec(
        "measurements.due",
        "list",
        "Measurements older than their repeat window (rules/definitions.yaml), or never made "
        "for a person with ALS: the ids of scores.stale.",
        stage=Stage.SCORES,
        unknown=False,
    ),
    # --- laboratory ------------------------------------------------------------------------------
    _spec(
        "lab.alt_uln_multiple",
        "number",
        "The latest ALT as a multiple of the laboratory's upper limit of normal; unknown "
        "without the limit.",
        unit="x ULN",
    ),
    _spec(
        "lab.transaminase_uln_multiple",
        "number",
        "The higher of the latest ALT and AST as multiples of their upper limits.",
        unit="x ULN",
    ),
    _spec(
        "lab.alt_without_upper_limit",
        "yes_no",
        "The latest ALT was recorded without the laboratory's upper limit of normal.",
        unknown=False,
    ),
    _spec(
        "lab.neutropenia",
        "yes_no",
        "The latest neutrophil count is below the laboratory's lower limit, or, without one, "
        "below the standard definition of neutropenia (rules/thresholds.yaml).",
    ),
    _spec(
        "lab.alt_check_overdue",
        "yes_no",
        "An ALT test is due on riluzole's liver-test schedule; unknown without a start date "
        "or after the schedule's last phase.",
    ),
    # --- medications, drugs, interventions, care, cognition -------------------------------------
    _spec(
        "medication.{drug}.current",
        "yes_no",
        "The drug is in the medication list on the assessment date (since on or before it, "
        "until after it).",
        unknown=False,
    ),
    _spec(
        "medication.{drug}.stopped_for",
        "text",
        "Why the drug was last stopped (unspecified without a reason); unknown when it was "
        "never stopped or is taken now.",
        values=(*StopReason, "unspecified"),
    ),
    _spec(
        "drug.{drug}.status",
        "text",
        "The drug's regulatory status in the record's jurisdiction; unknown without a "
        "jurisdiction or a status for it.",
        values=("authorised", "not_authorised", "withdrawn", "trials_only", "refused"),
    ),
    _spec(
        "intervention.{intervention}.state",
        "text",
        "The latest event of the intervention on or before the assessment date, or none; "
        "unknown when the record says nothing about interventions.",
        values=(*InterventionEvent, "none"),
    ),
    _spec(
        "intervention.{intervention}.in_place",
        "yes_no",
        "The intervention's latest event is started (ALSFRS-R item 5b counts as a gastrostomy "
        "in place); unknown when the record says nothing about interventions.",
    ),
    _spec(
        "intervention.{intervention}.needed",
        "yes_no",
        "The intervention was ever started, declined or stopped (King's: provided, trialled "
        "or refused); unknown when the record says nothing about interventions.",
    ),
    _spec(
        "intervention.niv.changes_since_declined",
        "list",
        "What worsened since NIV was last declined: the measurements of the NIV criteria "
        "(FVC, SNIP, MIP lower; PaCO2 higher; more respiratory symptoms); empty when NIV is "
        "not declined or nothing worsened.",
        unknown=False,
    ),
    _spec(
        "care.{care}",
        "yes_no",
        "A care event of this kind on or before the assessment date.",
        unknown=False,
    ),
    _spec(
        "cognition.ecas_total",
        "number",
        "ECAS total of the latest screen that recorded one.",
        unit="points",
    ),
    _spec(
        "cognition.ftd",
        "yes_no",
        "Frontotemporal dementia: the latest statement among cognitive screens and "
        "ftd_features findings decides (present wins a tie).",
    ),
    _spec(
        "cognition.behaviour_change",
        "yes_no",
        "Behaviour change on the latest screen that recorded it.",
    ),
    # --- what earlier stages concluded ----------------------------------------------------------
    _spec(
        "region.{region}.umn",
        "yes_no",
        "UMN signs in the region (clinical); unknown when not examined.",
        stage=Stage.REGIONS,
    ),
    _spec(
        "region.{region}.lmn",
        "yes_no",
        "LMN signs in the region (clinical or EMG, Gold Coast / Awaji reading); unknown when "
        "neither examined nor studied.",
        stage=Stage.REGIONS,
    ),
    _spec(
        "region.{region}.involved",
        "yes_no",
        "UMN or LMN signs in the region (three-valued or).",
        stage=Stage.REGIONS,
    ),
    _spec(
        "regions.umn_count",
        "number",
        "Regions with UMN signs; unknown when no region was assessed.",
        stage=Stage.REGIONS,
        unit="regions",
    ),
    _spec(
        "regions.lmn_count",
        "number",
        "Regions with LMN signs; unknown when no region was assessed.",
        stage=Stage.REGIONS,
        unit="regions",
    ),
    _spec(
        "differential.suspected_mimics",
        "list",
        "Differentials the record makes suspected mimics (the knowledge base's definition: "
        "rules/definitions.yaml).",
        stage=Stage.DIFFERENTIALS,
        unknown=False,
    ),
    _spec(
        "criteria.gold_coast.met",
        "yes_no",
        "The Gold Coast criteria: met, not met, or undecided (unknown).",
        stage=Stage.CRITERIA,
    ),
    _spec(
        "criteria.el_escorial.category",
        "text",
        "The revised El Escorial category; unknown when no region was examined.",
        stage=Stage.CRITERIA,
        values=tuple(ElEscorialCategory),
    ),
    _spec(
        "recommended.{step}",
        "text",
        "The action an earlier step of the treatment algorithm ended in, or none.",
        stage=Stage.RECOMMENDATIONS,
        values=("start", "continue", "consider", "hold", "stop", "refer", "monitor", "none"),
        unknown=False,
    ),
)

_BY_HEAD: Final[dict[str, tuple[FactSpec, ...]]] = {}
for _entry in CATALOGUE:
    _BY_HEAD[_entry.parts[0]] = (*_BY_HEAD.get(_entry.parts[0], ()), _entry)


@dataclass(frozen=True)
class FactName:
    """A fact name matched to its catalogue entry, with the placeholder values it gives and the
    knowledge ids it names (to check once the whole knowledge base is loaded)."""

    name: str
    spec: FactSpec
    args: tuple[str, ...]
    kb_ids: tuple[tuple[str, str], ...]


def _match(spec: FactSpec, parts: list[str]) -> FactName | None:
    if len(parts) != len(spec.parts):
        return None
    args: list[str] = []
    kb_ids: list[tuple[str, str]] = []
    for part, expected in zip(parts, spec.parts, strict=True):
        if not expected.startswith("{"):
            if part != expected:
                return None
            continue
        domain = DOMAINS[expected.strip("{}")]
        if isinstance(domain, tuple):
            if part not in domain:
                return None
        elif domain.startswith("kb:"):
            kb_ids.append((domain.removeprefix("kb:"), part))
        elif not re.fullmatch(domain, part):
            return None
        args.append(part)
    return FactName(".".join(parts), spec, tuple(args), tuple(kb_ids))


def parse_fact_name(name: str) -> FactName:
    """The catalogue entry of a fact name; ValueError naming the problem when there is none."""
    parts = name.split(".")
    candidates = _BY_HEAD.get(parts[0], ())
    for spec in candidates:
        found = _match(spec, parts)
        if found is not None:
            return found
    if not candidates:
        heads = ", ".join(sorted(_BY_HEAD))
        raise ValueError(f"unknown fact {name!r}: no fact starts with {parts[0]!r} ({heads})")
    patterns = ", ".join(spec.pattern for spec in candidates)
    raise ValueError(f"unknown fact {name!r}; facts of {parts[0]!r}: {patterns}")
