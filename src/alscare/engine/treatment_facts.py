"""The patient facts the treatment and alert rules read, and the tests only treatment has.

A fact is one value of the patient (a number in the unit ``knowledge.treatment.FACTS`` names, a
yes/no, a text or a list) with the sentence that says where it came from, e.g. "FVC 45 %
predicted on 2025-01-10". Raw measurements come from the Timeline (the latest entry that holds
the value); derived values (delta-FS, weight loss, BMI, criteria, differentials) come from the
assessment computed so far, so nothing is computed twice. A value the record cannot give is
``None`` and its sentence says what is missing. Each fact is one function of
:data:`FACT_FUNCTIONS`; :class:`PatientFacts` is the lookup that serves them by name.

:func:`evaluate` applies a treatment condition with the shared evaluator of
``engine/conditions.py`` in its closed-world reading (a test of a value the record cannot give
fails, and the first part that decides a combinator explains it), the section's thresholds and
its own tests (named conditions, ALSFRS-R items, findings, examination signs, medications, drug
status, variants, earlier recommendations). The :class:`Verdict` says whether the condition
holds, the sentences that make it hold (or fail), the sources of the thresholds, statuses and
named conditions it used, and whether all of those were verified.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from alscare.engine.conditions import (
    CLOSED_WORLD,
    Evaluator,
    Fact,
    Verdict,
    number_text,
    unique,
)
from alscare.engine.timeline import Timeline, months_between
from alscare.knowledge import KnowledgeBase
from alscare.knowledge.treatment import (
    Condition,
    Drug,
    DrugStatusTest,
    ExamSignTest,
    FactId,
    FindingTest,
    ItemTest,
    Leaf,
    RecommendedTest,
    RefTest,
    TakingTest,
    VariantTest,
)
from alscare.schemas.assessment import Assessment, Recommendation
from alscare.schemas.patient import LabValue, Medication, RespiratoryMeasurement
from alscare.schemas.vocabulary import LabId

__all__ = ["FACT_FUNCTIONS", "PatientFacts", "evaluate"]


def _words(identifier: str) -> str:
    return identifier.replace("_", " ")


@dataclass
class PatientFacts:
    """The facts of one patient on ``timeline.as_of``; each fact is computed once, on demand."""

    timeline: Timeline
    assessment: Assessment
    kb: KnowledgeBase
    recommended: Mapping[str, Recommendation] = field(default_factory=dict)
    _cache: dict[str, Fact] = field(default_factory=dict, repr=False)  # by FactId
    # Named conditions never test recommendations (the knowledge model forbids it), so their
    # verdicts hold for the whole assessment and are computed once.
    _named: dict[str, Verdict] = field(default_factory=dict, repr=False)
    _medications: dict[str, Medication | None] = field(default_factory=dict, repr=False)

    def with_recommendations(self, made: Iterable[Recommendation]) -> PatientFacts:
        """The same facts, with the algorithm's steps decided so far."""
        return PatientFacts(
            self.timeline,
            self.assessment,
            self.kb,
            {recommendation.id: recommendation for recommendation in made},
            self._cache,
            self._named,
            self._medications,
        )

    def named(self, condition_id: str) -> Verdict:
        """The verdict of a named condition, with its own sources and verification."""
        if condition_id not in self._named:
            named = self.kb.treatment.condition(condition_id)
            inner = evaluate(named.when, self)
            self._named[condition_id] = Verdict(
                inner.holds,
                inner.because,
                unique((*inner.sources, *named.source_ids)),
                inner.verified and named.verified,
            )
        return self._named[condition_id]

    def __call__(self, name: str) -> Fact:
        """The fact of this name (a :class:`FactId`), computed once."""
        fact = self._cache.get(name)
        if fact is None:
            fact_id = FactId(name)
            fact = self._cache[fact_id] = FACT_FUNCTIONS[fact_id](self)
        return fact

    def own_test(self, test: Leaf) -> Verdict:
        """The verdict of a test only treatment has (any leaf but a fact test)."""
        if isinstance(test, RefTest):
            return self.named(test.ref)
        if isinstance(test, ItemTest):
            return _item_test(test, self)
        if isinstance(test, FindingTest):
            return _finding_test(test, self)
        if isinstance(test, ExamSignTest):
            return _exam_sign_test(test, self)
        if isinstance(test, TakingTest):
            return _taking_test(test, self)
        if isinstance(test, DrugStatusTest):
            return _drug_status_test(test, self)
        if isinstance(test, VariantTest):
            return _variant_test(test, self)
        assert isinstance(test, RecommendedTest)  # the last kind (fact tests never come here)
        return _recommended_test(test, self)

    def current_medication(self, drug: Drug) -> Medication | None:
        """The latest medication entry naming ``drug`` that was not stopped by ``as_of``."""
        if drug.id not in self._medications:
            current = [
                medication
                for medication in self.timeline.record.medications
                if drug.matches(medication.name)
                and (medication.until is None or medication.until > self.timeline.as_of)
            ]
            self._medications[drug.id] = current[-1] if current else None
        return self._medications[drug.id]

    def latest_lab(self, lab_id: LabId) -> LabValue | None:
        labs = [lab for lab in self.timeline.record.labs if lab.id == lab_id]
        return labs[-1] if labs else None

    def latest_respiratory(self, field_name: str) -> RespiratoryMeasurement | None:
        """The latest respiratory entry that records ``field_name``."""
        for entry in reversed(self.timeline.record.respiratory):
            if getattr(entry, field_name) is not None:
                return entry
        return None


# --- facts ------------------------------------------------------------------------------------


def _diagnosis_recorded(facts: PatientFacts) -> Fact:
    diagnosed = facts.timeline.record.diagnosis_date
    if diagnosed is None:
        return Fact(False, "no diagnosis date recorded")
    return Fact(True, f"ALS diagnosed on {diagnosed}")


def _gold_coast_met(facts: PatientFacts) -> Fact:
    met = facts.assessment.criteria.gold_coast.met
    text = {True: "met", False: "not met", None: "not assessable"}[met]
    return Fact(met, f"Gold Coast criteria {text}")


def _el_escorial_category(facts: PatientFacts) -> Fact:
    category = facts.assessment.criteria.el_escorial.category
    if category is None:
        return Fact(None, "revised El Escorial category not assessable")
    return Fact(category.value, f"revised El Escorial category {_words(category.value)}")


def _measurement(name: str, field_name: str, unit: str) -> Callable[[PatientFacts], Fact]:
    def fact(facts: PatientFacts) -> Fact:
        entry = facts.latest_respiratory(field_name)
        if entry is None:
            return Fact(None, f"no {name} recorded")
        value: float = getattr(entry, field_name)
        return Fact(value, f"{name} {number_text(value)} {unit} on {entry.date}")

    return fact


def _paco2(unit: str) -> Callable[[PatientFacts], Fact]:
    """PaCO2 in ``unit`` (kPa or mmHg) from the latest entry recording it in either unit."""

    def fact(facts: PatientFacts) -> Fact:
        conversion = facts.kb.treatment.paco2_conversion
        for entry in reversed(facts.timeline.record.respiratory):
            kpa, mmhg = entry.paco2_kpa, entry.paco2_mmhg
            if kpa is None and mmhg is None:
                continue
            recorded_unit = "kPa" if kpa is not None else "mmHg"
            recorded = kpa if kpa is not None else mmhg
            assert recorded is not None  # one of the two is set
            text = f"PaCO2 {number_text(recorded)} {recorded_unit} on {entry.date}"
            if recorded_unit == unit:
                return Fact(recorded, text)
            factor = conversion.mmhg_per_kpa
            value = recorded * factor if unit == "mmHg" else recorded / factor
            return Fact(value, f"{text} ({number_text(value)} {unit})", conversion.source_ids)
        return Fact(None, "no PaCO2 recorded")

    return fact


def _respiratory_symptoms(facts: PatientFacts) -> Fact:
    respiratory = facts.timeline.record.respiratory
    if not respiratory:
        return Fact(None, "no respiratory assessment recorded")
    latest = respiratory[-1]
    symptoms = tuple(symptom.value for symptom in latest.symptoms)
    if not symptoms:
        return Fact((), f"no respiratory symptoms recorded on {latest.date}")
    listed = ", ".join(_words(symptom) for symptom in symptoms)
    return Fact(symptoms, f"respiratory symptoms on {latest.date}: {listed}")


def _months_since_respiratory_tests(facts: PatientFacts) -> Fact:
    respiratory = facts.timeline.record.respiratory
    if not respiratory:
        return Fact(None, "no respiratory function tests recorded")
    latest = respiratory[-1].date
    months = months_between(latest, facts.timeline.as_of)
    return Fact(
        months, f"latest respiratory tests on {latest}, {number_text(months)} months before as_of"
    )


def _weight_loss_percent(facts: PatientFacts) -> Fact:
    loss = facts.assessment.scores.weight_loss_percent
    if loss is None:
        return Fact(None, "weight loss from premorbid weight not known")
    record = facts.timeline.record
    if record.weights and record.premorbid_weight_kg is not None:
        latest = record.weights[-1]
        return Fact(
            loss,
            f"weight {number_text(latest.kg)} kg on {latest.date}, {number_text(loss)} % below the "
            f"premorbid {number_text(record.premorbid_weight_kg)} kg",
        )
    return Fact(loss, f"weight loss {number_text(loss)} % of premorbid weight")


def _bmi(facts: PatientFacts) -> Fact:
    bmi = facts.assessment.scores.bmi
    if bmi is None:
        return Fact(None, "BMI not known")
    return Fact(bmi, f"BMI {number_text(bmi)} kg/m2")


def _progression_rate(facts: PatientFacts) -> Fact:
    rate = facts.assessment.scores.progression_rate
    if rate is None:
        return Fact(None, "progression rate (delta-FS) not known")
    return Fact(rate, f"progression rate (delta-FS) {number_text(rate, 2)} points/month")


def _uln_multiple(lab: LabValue | None, name: str) -> Fact:
    if lab is None:
        return Fact(None, f"no {name} recorded")
    when = f" on {lab.date}" if lab.date else ""
    if lab.upper_limit is None:
        return Fact(None, f"{name} {number_text(lab.value)} {lab.unit}{when} has no upper limit")
    multiple = lab.value / lab.upper_limit
    return Fact(
        multiple,
        f"{name} {number_text(lab.value)} {lab.unit}{when} = {number_text(multiple)} x ULN "
        f"({number_text(lab.upper_limit)} {lab.unit})",
    )


def _alt_uln_multiple(facts: PatientFacts) -> Fact:
    return _uln_multiple(facts.latest_lab(LabId.ALT), "ALT")


def _transaminase_uln_multiple(facts: PatientFacts) -> Fact:
    """The higher of ALT and AST as multiples of their upper limits (the SmPC's transaminases)."""
    alt = _uln_multiple(facts.latest_lab(LabId.ALT), "ALT")
    ast = _uln_multiple(facts.latest_lab(LabId.AST), "AST")
    known = [(fact.value, fact) for fact in (alt, ast) if isinstance(fact.value, float)]
    if not known:
        return Fact(None, f"{alt.because}; {ast.because}")
    return max(known, key=lambda pair: pair[0])[1]


def _neutrophils_below_lower_limit(facts: PatientFacts) -> Fact:
    lab = facts.latest_lab(LabId.NEUTROPHILS)
    if lab is None:
        return Fact(None, "no neutrophil count recorded")
    text = f"neutrophils {number_text(lab.value, 2)} x {lab.unit}" + (
        f" on {lab.date}" if lab.date else ""
    )
    if lab.lower_limit is None:
        return Fact(None, f"{text} has no lower limit")
    below = lab.value < lab.lower_limit
    relation = "below" if below else "not below"
    return Fact(
        below, f"{text}, {relation} the laboratory's lower limit {number_text(lab.lower_limit, 2)}"
    )


def _alt_check_overdue(facts: PatientFacts) -> Fact:
    """Whether the next ALT test on the drug's liver schedule is due (null after the schedule)."""
    schedule = facts.kb.treatment.riluzole_liver_monitoring
    drug = facts.kb.treatment.drug(schedule.drug)
    medication = facts.current_medication(drug)
    if medication is None or medication.since is None:
        return Fact(
            None, f"{drug.label}: no start date in the medication list", schedule.source_ids
        )
    months = months_between(medication.since, facts.timeline.as_of)
    on_drug = f"{drug.label} since {medication.since} ({number_text(months)} months)"
    phase = next((p for p in schedule.phases if months < p.until_month), None)
    if phase is None:
        last = schedule.phases[-1].until_month
        return Fact(
            None, f"{on_drug}: periodic ALT after month {number_text(last)}", schedule.source_ids
        )
    every, until = number_text(phase.every_months), number_text(phase.until_month)
    interval = f"ALT every {every} months until month {until}"
    dated = [lab for lab in facts.timeline.record.labs if lab.id == LabId.ALT and lab.date]
    if not dated:
        return Fact(True, f"{on_drug}: {interval}; no dated ALT recorded", schedule.source_ids)
    last_test = dated[-1].date
    assert last_test is not None  # filtered above
    overdue = months_between(last_test, facts.timeline.as_of) > phase.every_months
    return Fact(overdue, f"{on_drug}: {interval}; last ALT on {last_test}", schedule.source_ids)


def _intervention_in_place(name: str, label: str) -> Callable[[PatientFacts], Fact]:
    def fact(facts: PatientFacts) -> Fact:
        interventions = facts.timeline.record.interventions
        intervention = getattr(interventions, name) if interventions else None
        if intervention is None or intervention.declined:
            return Fact(False, f"no {label} recorded")
        since = f" since {intervention.since}" if intervention.since else ""
        hours = (
            f", {number_text(intervention.hours_per_day)} h/day"
            if intervention.hours_per_day is not None
            else ""
        )
        return Fact(True, f"{label} in place{since}{hours}")

    return fact


def _declined(name: str, label: str) -> Callable[[PatientFacts], Fact]:
    def fact(facts: PatientFacts) -> Fact:
        interventions = facts.timeline.record.interventions
        intervention = getattr(interventions, name) if interventions else None
        if intervention is not None and intervention.declined:
            return Fact(True, f"{label} offered and declined")
        return Fact(False, f"{label} not recorded as declined")

    return fact


def _gastrostomy_in_place(facts: PatientFacts) -> Fact:
    recorded = _intervention_in_place("gastrostomy", "gastrostomy")(facts)
    ratings = facts.timeline.record.alsfrs_r
    if recorded.value is not True and ratings and ratings[-1].uses_item_5b:
        return Fact(True, f"ALSFRS-R of {ratings[-1].date} rated with item 5b (gastrostomy)")
    return recorded


def _care_flag(name: str, yes: str, no: str) -> Callable[[PatientFacts], Fact]:
    def fact(facts: PatientFacts) -> Fact:
        care = facts.timeline.record.care
        flag: bool | None = getattr(care, name) if care else None
        return Fact(flag, yes if flag else no)

    return fact


def _cognition_flag(name: str, label: str) -> Callable[[PatientFacts], Fact]:
    def fact(facts: PatientFacts) -> Fact:
        cognition = facts.timeline.record.cognition
        flag: bool | None = getattr(cognition, name) if cognition else None
        return Fact(flag, f"{label} recorded" if flag else f"no {label} recorded")

    return fact


def _ecas_total(facts: PatientFacts) -> Fact:
    cognition = facts.timeline.record.cognition
    if cognition is None or cognition.ecas_total is None:
        return Fact(None, "no ECAS recorded")
    when = f" on {cognition.date}" if cognition.date else ""
    return Fact(float(cognition.ecas_total), f"ECAS total {cognition.ecas_total}/136{when}")


def _untested_panel_genes(facts: PatientFacts) -> Fact:
    panel = facts.kb.treatment.genetic_testing_panel
    record = facts.timeline.record
    tested = {entry.gene.casefold() for entry in record.genetics if entry.result != "not_tested"}
    if not record.genetics and any(test.id == "genetic_testing" for test in record.tests):
        return Fact((), "genetic testing recorded (genes not listed)", panel.source_ids)
    untested = tuple(gene for gene in panel.genes if gene.casefold() not in tested)
    if not untested:
        return Fact((), f"tested: {', '.join(panel.genes)}", panel.source_ids)
    if not tested:
        return Fact(untested, "no genetic test result recorded", panel.source_ids)
    return Fact(untested, f"not tested: {', '.join(untested)}", panel.source_ids)


def _suspected_mimics(facts: PatientFacts) -> Fact:
    """Differentials at a mimic level that the diagnosis section does not put on the ALS
    spectrum (PLS and PMA are spectrum phenotypes, not mimics)."""
    levels = facts.kb.treatment.mimic.levels
    mimics = [
        result
        for result in facts.assessment.differentials
        if result.level in levels and not facts.kb.diagnosis.differential(result.id).spectrum
    ]
    if not mimics:
        return Fact((), "no mimic of ALS suspected")
    because = "; ".join(
        f"{facts.kb.diagnosis.differential(result.id).label} {result.level.value}"
        + (f" ({', '.join(result.because)})" if result.because else "")
        for result in mimics
    )
    sources = unique(source for result in mimics for source in result.sources)
    return Fact(tuple(result.id for result in mimics), because, sources)


FACT_FUNCTIONS: dict[FactId, Callable[[PatientFacts], Fact]] = {
    FactId.DIAGNOSIS_RECORDED: _diagnosis_recorded,
    FactId.GOLD_COAST_MET: _gold_coast_met,
    FactId.EL_ESCORIAL_CATEGORY: _el_escorial_category,
    FactId.FVC_PERCENT_PREDICTED: _measurement("FVC", "fvc_percent_predicted", "% predicted"),
    FactId.SNIP_CMH2O: _measurement("SNIP", "snip_cmh2o", "cmH2O"),
    FactId.MIP_CMH2O: _measurement("MIP", "mip_cmh2o", "cmH2O"),
    FactId.PACO2_KPA: _paco2("kPa"),
    FactId.PACO2_MMHG: _paco2("mmHg"),
    FactId.PEAK_COUGH_FLOW: _measurement("peak cough flow", "peak_cough_flow_l_min", "L/min"),
    FactId.RESPIRATORY_SYMPTOMS: _respiratory_symptoms,
    FactId.MONTHS_SINCE_RESPIRATORY_TESTS: _months_since_respiratory_tests,
    FactId.WEIGHT_LOSS_PERCENT: _weight_loss_percent,
    FactId.BMI: _bmi,
    FactId.PROGRESSION_RATE: _progression_rate,
    FactId.ALT_ULN_MULTIPLE: _alt_uln_multiple,
    FactId.TRANSAMINASE_ULN_MULTIPLE: _transaminase_uln_multiple,
    FactId.NEUTROPHILS_BELOW_LOWER_LIMIT: _neutrophils_below_lower_limit,
    FactId.ALT_CHECK_OVERDUE: _alt_check_overdue,
    FactId.ON_NIV: _intervention_in_place("niv", "NIV"),
    FactId.NIV_DECLINED: _declined("niv", "NIV"),
    FactId.TRACHEOSTOMY_IN_PLACE: _intervention_in_place("tracheostomy", "tracheostomy"),
    FactId.GASTROSTOMY_IN_PLACE: _gastrostomy_in_place,
    FactId.GASTROSTOMY_DECLINED: _declined("gastrostomy", "gastrostomy"),
    FactId.MULTIDISCIPLINARY_CLINIC: _care_flag(
        "multidisciplinary_clinic",
        "attends a multidisciplinary clinic",
        "multidisciplinary clinic not recorded",
    ),
    FactId.ADVANCE_CARE_PLAN: _care_flag(
        "advance_care_plan", "advance care plan recorded", "no advance care plan recorded"
    ),
    FactId.PALLIATIVE_CARE_REFERRAL: _care_flag(
        "palliative_care_referral",
        "referred to palliative care",
        "no palliative care referral recorded",
    ),
    FactId.ECAS_TOTAL: _ecas_total,
    FactId.FTD: _cognition_flag("ftd", "frontotemporal dementia"),
    FactId.BEHAVIOUR_CHANGE: _cognition_flag("behaviour_change", "behaviour change"),
    FactId.UNTESTED_PANEL_GENES: _untested_panel_genes,
    FactId.SUSPECTED_MIMICS: _suspected_mimics,
}


# --- conditions and the tests only treatment has ----------------------------------------------


def evaluate(condition: Condition, facts: PatientFacts) -> Verdict:
    """Whether ``condition`` holds for the patient, with the reasons and their sources."""
    evaluator: Evaluator[Leaf] = Evaluator(
        facts, CLOSED_WORLD, facts.kb.treatment.threshold, facts.own_test
    )
    return evaluator(condition)


def _item_test(test: ItemTest, facts: PatientFacts) -> Verdict:
    ratings = facts.timeline.record.alsfrs_r
    if not ratings:
        return Verdict(False, ("no ALSFRS-R rating recorded",))
    latest = ratings[-1]
    score = latest.items[test.alsfrs_r_item]
    if test.at_most is not None:
        holds = score <= test.at_most
    else:
        assert test.at_least is not None  # the model requires one bound
        holds = score >= test.at_least
    return Verdict(holds, (f"ALSFRS-R {_words(test.alsfrs_r_item)} {score}/4 on {latest.date}",))


def _finding_test(test: FindingTest, facts: PatientFacts) -> Verdict:
    latest = {finding.id: finding for finding in facts.timeline.record.findings}
    present = [latest[item] for item in test.finding if item in latest and latest[item].present]
    if not present:
        names = " or ".join(_words(item) for item in test.finding)
        return Verdict(False, (f"no {names} recorded",))
    return Verdict(
        True,
        tuple(
            f"{_words(finding.id)} recorded" + (f" on {finding.date}" if finding.date else "")
            for finding in present
        ),
    )


def _exam_sign_test(test: ExamSignTest, facts: PatientFacts) -> Verdict:
    exam = facts.timeline.record.exam
    found = [
        f"{_words(sign)} on examination ({region.value})"
        for sign in test.exam_sign
        for region, signs in exam.items()
        if signs is not None and getattr(signs, sign) is True
    ]
    if not found:
        names = " or ".join(_words(sign) for sign in test.exam_sign)
        return Verdict(False, (f"no {names} on examination",))
    return Verdict(True, tuple(found))


def _taking_test(test: TakingTest, facts: PatientFacts) -> Verdict:
    drug = facts.kb.treatment.drug(test.taking)
    medication = facts.current_medication(drug)
    if medication is None:
        return Verdict(False, (f"{drug.label} not in the current medication list",))
    since = f" since {medication.since}" if medication.since else ""
    return Verdict(True, (f"{drug.label} in the medication list ('{medication.name}'{since})",))


def _drug_status_test(test: DrugStatusTest, facts: PatientFacts) -> Verdict:
    drug = facts.kb.treatment.drug(test.drug_status.drug)
    jurisdiction = facts.timeline.record.jurisdiction
    if jurisdiction is None:
        return Verdict(False, (f"jurisdiction not recorded, so {drug.label} status unknown",))
    status = drug.status_in(jurisdiction)
    if status is None:
        return Verdict(
            False, (f"{drug.label} status in {jurisdiction.value} not in the knowledge base",)
        )
    return Verdict(
        status.status in test.drug_status.in_,
        (f"{drug.label} in {jurisdiction.value}: {_words(status.status)}. {status.note}",),
        status.source_ids,
        status.verified,
    )


def _variant_test(test: VariantTest, facts: PatientFacts) -> Verdict:
    genes = {gene.casefold() for gene in test.variant.genes or ()}
    found = [
        entry
        for entry in facts.timeline.record.genetics
        if entry.result in test.variant.results and (not genes or entry.gene.casefold() in genes)
    ]
    if not found:
        results = " or ".join(_words(result) for result in test.variant.results)
        which = f" {'/'.join(test.variant.genes)}" if test.variant.genes else ""
        return Verdict(False, (f"no {results}{which} variant recorded",))
    return Verdict(
        True,
        tuple(
            f"{entry.gene} {_words(entry.result)} variant"
            + (f" {entry.variant}" if entry.variant else "")
            for entry in found
        ),
    )


def _recommended_test(test: RecommendedTest, facts: PatientFacts) -> Verdict:
    step = test.recommended.step
    made = facts.recommended.get(step)
    if made is None:
        return Verdict(False, (f"no {_words(step)} recommendation",))
    return Verdict(
        made.action in test.recommended.actions,
        (f"{_words(step)} recommendation: {made.action.value}",),
    )
