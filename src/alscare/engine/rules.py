"""The facts of a patient record that diagnosis rules read.

A diagnosis condition (``knowledge.diagnosis.Condition``) is evaluated by
``engine/conditions.py`` against a *fact lookup*: :class:`RecordFacts` resolves every name of
``knowledge.diagnosis.FACT_PATTERNS`` from a Timeline into a :class:`Fact`, the value (None when
the record does not tell) plus a plain-English sentence saying what the record shows. Other
sections may reuse it and add facts of their own through ``extra``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

from alscare.engine.conditions import Fact, unique
from alscare.engine.timeline import Timeline, months_between
from alscare.errors import KnowledgeError
from alscare.knowledge import KnowledgeBase
from alscare.knowledge.diagnosis import Investigation
from alscare.schemas.assessment import RegionStatus
from alscare.schemas.patient import Finding, TestEntry
from alscare.schemas.vocabulary import Region, TestResult

# ``unique`` lives in engine/conditions.py; engine/regions.py still imports it from here.
__all__ = ["EMG_FINDINGS", "RecordFacts", "unique"]

#: How the study-wide EMG/NCS findings read in a sentence.
EMG_FINDINGS: dict[str, str] = {
    "motor_conduction_block": "motor conduction block on nerve conduction studies",
    "sensory_conduction_abnormal": "abnormal sensory nerve conduction",
    "myopathic_units": "myopathic motor units on EMG",
    "rns_decrement": "decrement on repetitive nerve stimulation",
    "post_exercise_increment": "increment after brief exercise",
}


def _text(identifier: str) -> str:
    return identifier.replace("_", " ")


def _on(date: dt.date | None) -> str:
    return f" on {date.isoformat()}" if date else ""


def _number(value: float) -> str:
    return f"{value:g}"


class RecordFacts:
    """The facts of one record as of its Timeline.

    ``regions`` (from engine/regions.py) feeds the ``region.*`` and ``regions.*`` facts;
    ``gold_coast_met`` feeds ``criteria.gold_coast.met``; ``extra`` adds or overrides facts by
    exact name (for other rule sets).
    """

    def __init__(
        self,
        timeline: Timeline,
        kb: KnowledgeBase,
        *,
        regions: Mapping[Region, RegionStatus] | None = None,
        gold_coast_met: bool | None = None,
        extra: Mapping[str, Fact] | None = None,
    ) -> None:
        self.timeline = timeline
        self.record = timeline.record
        self.kb = kb
        self.regions = dict(regions or {})
        self.gold_coast_met = gold_coast_met
        self.extra = dict(extra or {})
        # Every fact is resolved once per instance (its inputs never change).
        self._facts: dict[str, Fact] = {}
        self._tests: dict[str, tuple[TestEntry, ...]] | None = None  # by test id, on first use
        self._resolvers: dict[str, Callable[[list[str]], Fact]] = {
            "finding": lambda parts: self.finding(parts[0]),
            "exam": lambda parts: self._exam(parts[0], parts[1]),
            "region": lambda parts: self._region(parts[0], parts[1]),
            "regions": lambda parts: self._region_count(parts[0].removesuffix("_count")),
            "emg": lambda parts: self._emg(parts[0]),
            "test": lambda parts: self._test(parts[0], parts[1]),
            "gene": lambda parts: self.gene(parts[0]),
            "patient": lambda parts: self._patient(parts[0]),
            "family_history": lambda parts: self._family_history(parts[0]),
            "risk_factor": lambda parts: self._risk_factor(parts[0]),
            "criteria": lambda parts: self._gold_coast(),
        }

    def __call__(self, name: str) -> Fact:
        fact = self._facts.get(name)
        if fact is None:
            fact = self._facts[name] = self._resolve(name)
        return fact

    def _resolve(self, name: str) -> Fact:
        if name in self.extra:
            return self.extra[name]
        head, *parts = name.split(".")
        resolver = self._resolvers.get(head)
        if resolver is None:
            raise KnowledgeError("diagnosis", None, name, "no resolver for this fact")
        return resolver(parts)

    # --- findings and examination --------------------------------------------------------

    def finding_label(self, finding_id: str) -> str:
        return self.kb.topic.finding_labels().get(finding_id, _text(finding_id).capitalize())

    def finding(self, finding_id: str) -> Fact:
        """Present when the latest entry of any region says so; absent when entries exist and
        none says present; unknown when the finding was not recorded."""
        latest: dict[Region | None, Finding] = {}
        for entry in self.record.findings:
            if entry.id == finding_id:
                latest[entry.region] = entry  # the timeline sorts each series by date
        label = self.finding_label(finding_id)
        if not latest:
            return Fact(None, f"{label}: not recorded")
        present = [entry for entry in latest.values() if entry.present]
        if not present:
            return Fact(False, f"{label}: looked for and absent")
        entry = present[-1]
        where = f" ({entry.region.value})" if entry.region else ""
        return Fact(True, f"{label}{where}{_on(entry.date)}")

    def _exam(self, where: str, sign: str) -> Fact:
        examined = {region: exam for region, exam in self.record.exam.items() if exam is not None}
        if where != "any":
            region = Region(where)
            if region not in examined:
                return Fact(None, f"{region.value} region not examined")
            found = getattr(examined[region], sign) is True
            prefix = "" if found else "no "
            return Fact(found, f"{prefix}{_text(sign)} in the {region.value} region")
        if not examined:
            return Fact(None, "no region examined")
        with_sign = [r.value for r, exam in examined.items() if getattr(exam, sign) is True]
        if with_sign:
            return Fact(True, f"{_text(sign)} on examination ({', '.join(with_sign)})")
        names = ", ".join(r.value for r in examined)
        return Fact(False, f"no {_text(sign)} in the examined regions ({names})")

    def _region(self, where: str, what: str) -> Fact:
        region = Region(where)
        status = self.regions.get(region, RegionStatus())
        if what == "involved":
            value = _either(status.umn, status.lmn)
            label = "UMN or LMN signs"
        else:
            value = status.umn if what == "umn" else status.lmn
            label = f"{what.upper()} signs"
        if value is None:
            return Fact(None, f"{region.value}: {label} not assessed")
        stated = f"{label} present" if value else f"no {label}"
        return Fact(value, f"{region.value}: {stated}")

    def _region_count(self, what: str) -> Fact:
        values = {
            region: status.umn if what == "umn" else status.lmn
            for region, status in self.regions.items()
        }
        assessed = [region.value for region, value in values.items() if value is not None]
        label = what.upper()
        if not assessed:
            return Fact(None, f"{label} involvement not assessed in any region")
        involved = [region.value for region, value in values.items() if value]
        if not involved:
            return Fact(0.0, f"no {label} signs in the regions assessed ({', '.join(assessed)})")
        count = f"{len(involved)} region{'s' if len(involved) > 1 else ''}"
        return Fact(float(len(involved)), f"{label} signs in {count} ({', '.join(involved)})")

    # --- EMG and tests ---------------------------------------------------------------------

    def _emg(self, what: str) -> Fact:
        emg = self.record.emg
        if what == "done":
            if emg is None:
                return Fact(False, "no EMG/NCS recorded")
            return Fact(True, f"EMG/NCS recorded{_on(emg.date)}")
        label = EMG_FINDINGS[what]
        value = getattr(emg, what) if emg else None
        if value is None:
            return Fact(None, f"{label}: not recorded")
        date = emg.date if emg else None
        return Fact(value, f"{'' if value else 'no '}{label}{_on(date)}")

    def investigation(self, investigation_id: str) -> Investigation:
        return self.kb.diagnosis.investigation(investigation_id)

    def entries(self, investigation_id: str) -> tuple[TestEntry, ...]:
        """The record's entries of one test, oldest first."""
        by_test = self._tests
        if by_test is None:
            grouped: dict[str, list[TestEntry]] = {}
            for entry in self.record.tests:
                grouped.setdefault(entry.id, []).append(entry)
            by_test = self._tests = {key: tuple(group) for key, group in grouped.items()}
        return by_test.get(investigation_id, ())

    def latest_result(self, investigation_id: str) -> TestEntry | None:
        """The latest entry with a result or value (a pending entry is no result)."""
        done = [e for e in self.entries(investigation_id) if e.result != TestResult.PENDING]
        return done[-1] if done else None

    def test_status(self, investigation_id: str) -> Fact:
        """not_done, pending or done, with what the record holds."""
        investigation = self.investigation(investigation_id)
        entry = self.latest_result(investigation_id)
        if entry is not None:
            return Fact("done", self.describe(entry))
        special = self._recorded_elsewhere(investigation)
        if special is not None:
            return Fact("done", special)
        pending = self.entries(investigation_id)
        if pending:
            return Fact("pending", f"{investigation.label}: result pending{_on(pending[-1].date)}")
        return Fact("not_done", f"{investigation.label}: not done")

    def _recorded_elsewhere(self, investigation: Investigation) -> str | None:
        record = self.record
        if investigation.recorded_as == "emg" and record.emg is not None:
            return f"{investigation.label} recorded{_on(record.emg.date)}"
        if investigation.recorded_as == "rns" and record.emg is not None:
            parts = [
                f"{'' if value else 'no '}{EMG_FINDINGS[name]}"
                for name in ("rns_decrement", "post_exercise_increment")
                if (value := getattr(record.emg, name)) is not None
            ]
            if parts:
                return f"{investigation.label} recorded: {'; '.join(parts)}{_on(record.emg.date)}"
        if investigation.recorded_as == "genetics":
            results = [g for g in record.genetics if g.result != "not_tested"]
            if results:
                listed = ", ".join(f"{g.gene} {_text(g.result)}" for g in results)
                return f"{investigation.label} recorded: {listed}"
        if investigation.recorded_as == "diagnosis" and record.diagnosis_date is not None:
            return f"ALS diagnosed on {record.diagnosis_date.isoformat()}"
        return None

    def describe(self, entry: TestEntry) -> str:
        """A test entry as a sentence, with the value also in the canonical unit."""
        label = self.investigation(entry.id).label
        parts: list[str] = []
        if entry.value is not None and entry.unit is not None:
            parts.append(f"{_number(entry.value)} {entry.unit}{self._converted(entry)}")
        if entry.result is not None:
            parts.append(entry.result.value)
        if entry.finding:
            parts.append(entry.finding)
        shown = ", ".join(parts) or "recorded"
        return f"{label} {shown}{_on(entry.date)}"

    def _converted(self, entry: TestEntry) -> str:
        conversion = self.kb.diagnosis.conversion(entry.id)
        if conversion is None or entry.unit == conversion.canonical:
            return ""
        value = self.canonical_value(entry)
        return f" ({value:.0f} {conversion.canonical})" if value is not None else ""

    def canonical_value(self, entry: TestEntry) -> float | None:
        """The entry's value in the canonical unit of its test (as recorded when it has none)."""
        if entry.value is None or entry.unit is None:
            return None
        conversion = self.kb.diagnosis.conversion(entry.id)
        if conversion is None:
            return entry.value
        return entry.value * conversion.factors[entry.unit]

    def _test(self, investigation_id: str, what: str) -> Fact:
        if what == "status":
            return self.test_status(investigation_id)
        label = self.investigation(investigation_id).label
        entry = self.latest_result(investigation_id)
        if entry is None:
            return Fact(None, f"{label}: no result recorded")
        described = self.describe(entry)
        if what == "result":
            return Fact(entry.result.value if entry.result else None, described)
        if what == "value":
            return Fact(self.canonical_value(entry), described)
        return self._against_range(entry, below=what == "below_range", described=described)

    def _against_range(self, entry: TestEntry, *, below: bool, described: str) -> Fact:
        limit = entry.lower_limit if below else entry.upper_limit
        side = "lower" if below else "upper"
        if entry.value is None or limit is None:
            return Fact(None, f"{described} (no {side} reference limit recorded)")
        outside = entry.value < limit if below else entry.value > limit
        relation = ("below" if below else "above") if outside else "within"
        return Fact(
            outside,
            f"{described}, {relation} the laboratory's {side} limit of "
            f"{_number(limit)} {entry.unit}",
        )

    # --- genetics, patient, history ----------------------------------------------------------

    def gene(self, symbol: str) -> Fact:
        entries = [g for g in self.record.genetics if g.gene.lower() == symbol.lower()]
        if not entries:
            return Fact(None, f"{symbol}: no genetic result recorded")
        entry = entries[-1]
        variant = f" ({entry.variant})" if entry.variant else ""
        return Fact(entry.result.value, f"{entry.gene} {_text(entry.result)}{variant}")

    def age_years(self) -> float | None:
        """Age on as_of, from the birth date (else the recorded age)."""
        record = self.record
        if record.birth_date is not None:
            return months_between(record.birth_date, self.timeline.as_of) / 12
        return record.age_years

    def _patient(self, what: str) -> Fact:
        record = self.record
        onset = self.timeline.onset
        facts: dict[str, Callable[[], Fact]] = {
            "sex": lambda: _stated(record.sex.value if record.sex else None, "sex"),
            "age_years": self._age,
            "onset_site": lambda: _stated(
                record.symptom_onset.site.value
                if record.symptom_onset and record.symptom_onset.site
                else None,
                "onset site",
            ),
            "progressive": self._progressive,
            "diagnosed": lambda: (
                Fact(True, f"ALS diagnosed on {record.diagnosis_date.isoformat()}")
                if record.diagnosis_date
                else Fact(False, "no diagnosis of ALS recorded")
            ),
            "months_since_onset": lambda: (
                Fact(
                    months_between(onset, self.timeline.as_of),
                    f"symptom onset {onset.isoformat()}",
                )
                if onset
                else Fact(None, "symptom onset not recorded")
            ),
        }
        return facts[what]()

    def _age(self) -> Fact:
        age = self.age_years()
        if age is None:
            return Fact(None, "age not recorded")
        return Fact(age, f"age {age:.0f} years")

    def _progressive(self) -> Fact:
        progressive = self.record.progressive
        if progressive is None:
            return Fact(None, "progression of motor impairment not recorded")
        if progressive:
            return Fact(True, "progressive motor impairment recorded")
        return Fact(False, "motor impairment recorded as not progressive")

    def _family_history(self, what: str) -> Fact:
        history = self.record.family_history
        value = getattr(history, what) if history else None
        label = what.upper()
        if value is None:
            return Fact(None, f"family history of {label}: not recorded")
        return Fact(value, f"{'' if value else 'no '}family history of {label}")

    def _risk_factor(self, factor: str) -> Fact:
        if factor in self.record.risk_factors:
            return Fact(True, f"risk factor: {_text(factor)}")
        return Fact(None, f"risk factor {_text(factor)}: not recorded")

    def _gold_coast(self) -> Fact:
        met = self.gold_coast_met
        if met is None:
            return Fact(None, "Gold Coast criteria: not decided")
        return Fact(met, f"Gold Coast criteria {'met' if met else 'not met'}")


def _stated(value: str | None, label: str) -> Fact:
    if value is None:
        return Fact(None, f"{label} not recorded")
    return Fact(value, f"{label} {value}")


def _either(first: bool | None, second: bool | None) -> bool | None:
    """Three-valued or."""
    if first or second:
        return True
    if first is None or second is None:
        return None
    return False
