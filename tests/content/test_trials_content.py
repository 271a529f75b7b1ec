"""The trial files (alscare.knowledge.trials): the three shipped trials, where their criteria
come from, and validation at load with broken copies built in tmp_path, each fault naming the
file, the trial and the field."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from alscare.cohort.trials import load_trial, load_trials, shipped_trials
from alscare.errors import KnowledgeError
from alscare.knowledge.trials import FvcRange, parse_trial

TRIALS = Path(str(resources.files("alscare.knowledge") / "content" / "trials"))
SHIPPED = ("early_disease_fvc", "sod1_variant", "tricals_risk_window")


def _raw(trial_id: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((TRIALS / f"{trial_id}.yaml").read_text("utf-8"))
    return data


def test_trials_content_three_shipped_in_file_order(kb):
    assert tuple(trial.id for trial in shipped_trials(kb)) == SHIPPED
    assert shipped_trials(kb) is shipped_trials(kb)  # read once per knowledge base


def test_trials_content_every_citation_registered_and_each_trial_cites(kb):
    registered = {source.id for source in kb.sources}
    for trial in shipped_trials(kb):
        assert trial.sources, trial.id
        assert set(trial.source_ids) <= registered, trial.id
        assert all(ref.where.strip() for ref in trial.sources), trial.id


def test_trials_content_all_marked_examples(kb):
    # None is a running trial's protocol: the page says "example criteria".
    assert all(trial.example for trial in shipped_trials(kb))


def test_trials_content_tricals_example_window(kb):
    (trial,) = [t for t in shipped_trials(kb) if t.id == "tricals_risk_window"]
    window = trial.criteria.encals_linear_predictor
    assert window is not None and window.min is not None and window.max is not None
    # vaneijk_encals_code, TRICALS risk profile: "e.g." LP -6.00 to -2.00
    assert (window.min.value, window.max.value) == (-6.0, -2.0)
    assert window.verified is False and trial.verified is False
    assert window.note is not None and "e.g." in window.note
    assert "vaneijk_encals_code" in window.source_ids
    assert [name for name, _ in trial.criteria.named()] == ["encals_linear_predictor"]


def test_trials_content_sod1_only_the_genetic_criterion(kb):
    (trial,) = [t for t in shipped_trials(kb) if t.id == "sod1_variant"]
    assert trial.criteria.genes is not None
    assert trial.criteria.genes.required == ("SOD1",)
    assert [name for name, _ in trial.criteria.named()] == ["genes"]
    assert "fda2023_tofersen" in trial.source_ids


def test_trials_content_edaravone_fvc_is_the_knowledge_base_threshold(kb):
    # The number is the knowledge base's, not a copy: the file names the threshold.
    assert _raw("early_disease_fvc")["criteria"]["fvc_percent_predicted"] == {
        "min": {"threshold": "edaravone_trial_fvc"}
    }
    (trial,) = [t for t in shipped_trials(kb) if t.id == "early_disease_fvc"]
    fvc = trial.criteria.fvc_percent_predicted
    assert fvc is not None and fvc.min is not None and fvc.max is None
    threshold = kb.rules.threshold_by_id["edaravone_trial_fvc"]
    assert (fvc.min.value, fvc.min.threshold) == (threshold.value, "edaravone_trial_fvc")
    assert fvc.checked is threshold.verified is False
    assert set(threshold.source_ids) <= set(fvc.source_ids)
    assert trial.verified is False


def test_trials_content_changed_threshold_reaches_the_trial(kb, tmp_path):
    # A new value of the threshold is the trial's at the next load, with nothing copied.
    rules = kb.rules
    changed = [
        t.model_copy(update={"value": 75.0}) if t.id == "edaravone_trial_fvc" else t
        for t in rules.thresholds
    ]
    other = kb.model_copy(update={"rules": rules.model_copy(update={"thresholds": changed})})
    fvc = load_trial(TRIALS / "early_disease_fvc.yaml", kb=other).criteria.fvc_percent_predicted
    assert fvc is not None and fvc.min is not None
    assert fvc.min.value == 75.0


# --- validation: broken copies ------------------------------------------------------------------


def _broken(tmp_path: Path, change: Any, trial_id: str = "early_disease_fvc") -> Path:
    data = _raw(trial_id)
    change(data)
    path = tmp_path / f"{trial_id}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _set(path: str, value: Any) -> Any:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value

    return change


FVC = "criteria.fvc_percent_predicted"
EXCLUDE = "criteria.exclude_interventions"
MADE_UP = [{"id": "nobody2099_made_up", "where": "x"}]
NOT_A_BOUND = "a bound is a number"
# (what to set, its value, the field the error names when not that one, the reason)
BROKEN: list[tuple[str, Any, str | None, str]] = [
    (f"{FVC}.mn", 80, None, "unknown field"),
    ("phase", 3, None, "unknown field"),
    (f"{FVC}.min", {"threshold": "no_such"}, None, "unknown threshold 'no_such'"),
    (f"{FVC}.min", {"threshold": "niv_inspiratory_pressure"}, None, "is in cmH2O"),
    (f"{FVC}.min", {"value": 80}, None, NOT_A_BOUND),
    (f"{FVC}.min", True, None, NOT_A_BOUND),
    (f"{FVC}.min", "80", None, NOT_A_BOUND),
    (FVC, {"min": 90, "max": 80}, None, "min 90 is above max 80"),
    (FVC, {"verified": False}, None, "give min, max or both"),
    ("criteria", {}, None, "at least one criterion"),
    ("criteria.el_escorial", {"allowed": ["definate"]}, "criteria.el_escorial.allowed.0", "Input"),
    (
        "criteria.el_escorial",
        {"allowed": ["definite"] * 2},
        "criteria.el_escorial.allowed",
        "twice",
    ),
    ("criteria.gold_coast", {"met": "perhaps"}, "criteria.gold_coast.met", "boolean"),
    ("criteria.genes", {"required": ["SOD1", "sod1"]}, "criteria.genes.required", "listed twice"),
    ("criteria.genes", {"required": []}, "criteria.genes.required", "at least 1"),
    ("criteria.genes", {"required": ["SOD 1"]}, "criteria.genes.required.0", "pattern"),
    (EXCLUDE, [{"kind": "ventilator"}], f"{EXCLUDE}.0.kind", "Input should be"),
    (EXCLUDE, [{"kind": "niv", "hours_per_day_over": 24}], f"{EXCLUDE}.0.hours_per_day_over", "24"),
    (EXCLUDE, [{"kind": "niv"}, {"kind": "niv"}], "criteria", "listed twice"),
    ("sources", [], None, "at least 1"),
    ("sources", MADE_UP, "sources.0.id", "unknown source 'nobody2099_made_up'"),
    (f"{FVC}.sources", MADE_UP, f"{FVC}.sources.0.id", "unknown source"),
    ("verified", True, None, "criteria.fvc_percent_predicted is unverified"),
    ("id", "Early Disease", None, "pattern"),
]


@pytest.mark.parametrize(
    ("where", "value", "field", "reason"), BROKEN, ids=[f"{b[0]}={b[1]}" for b in BROKEN]
)
def test_trials_content_broken_copy_names_file_trial_and_field(
    kb, tmp_path, where, value, field, reason
):
    path = _broken(tmp_path, _set(where, value))
    with pytest.raises(KnowledgeError) as raised:
        load_trial(path, kb=kb)
    error = raised.value
    assert error.file == str(path)
    assert error.field == (field or where)
    assert reason in error.reason
    assert error.item_id == ("Early Disease" if where == "id" else "early_disease_fvc")


def test_trials_content_unverified_criterion_needs_unverified_trial(kb, tmp_path):
    path = _broken(tmp_path, _set("verified", True), "tricals_risk_window")
    with pytest.raises(KnowledgeError, match="encals_linear_predictor is unverified"):
        load_trial(path, kb=kb)


def test_trials_content_linear_predictor_takes_no_threshold(kb, tmp_path):
    change = _set("criteria.encals_linear_predictor.min", {"threshold": "edaravone_trial_fvc"})
    path = _broken(tmp_path, change, "tricals_risk_window")
    with pytest.raises(KnowledgeError, match="not in the criterion's unit"):
        load_trial(path, kb=kb)


def test_trials_content_not_yaml_or_not_a_mapping(kb):
    with pytest.raises(KnowledgeError, match="not valid YAML") as raised:
        parse_trial("id: [unclosed", name="bad.yaml", kb=kb)
    assert raised.value.file == "bad.yaml"
    with pytest.raises(KnowledgeError, match="must be a mapping"):
        parse_trial("- a list", name="list.yaml", kb=kb)


def test_trials_content_missing_file_named(kb, tmp_path):
    with pytest.raises(KnowledgeError, match="cannot be read") as raised:
        load_trial(tmp_path / "absent.yaml", kb=kb)
    assert raised.value.file == str(tmp_path / "absent.yaml")


def test_trials_content_folder_needs_ids_that_are_file_names(kb, tmp_path):
    (tmp_path / "renamed.yaml").write_text((TRIALS / "sod1_variant.yaml").read_text("utf-8"))
    with pytest.raises(KnowledgeError, match="must be the file's name") as raised:
        load_trials(tmp_path, kb=kb)
    assert raised.value.field == "id"


def test_trials_content_folder_loads_in_name_order(kb, tmp_path):
    for trial_id in reversed(SHIPPED):
        (tmp_path / f"{trial_id}.yaml").write_text((TRIALS / f"{trial_id}.yaml").read_text("utf-8"))
    (tmp_path / "README.txt").write_text("not a trial")
    assert tuple(trial.id for trial in load_trials(tmp_path, kb=kb)) == SHIPPED
    with pytest.raises(KnowledgeError, match="not found"):
        load_trials(tmp_path / "nowhere", kb=kb)


def test_trials_content_threshold_bound_needs_the_knowledge_base():
    with pytest.raises(ValueError, match="needs the knowledge base"):
        FvcRange.model_validate({"min": {"threshold": "edaravone_trial_fvc"}})
