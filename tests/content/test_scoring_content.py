"""The scoring section of the knowledge base: pinned to the code, cited, and validated."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from alscare.engine.state import DAYS_PER_MONTH
from alscare.knowledge.models import cited_statements
from alscare.knowledge.scoring import (
    AlsfrsRDefinition,
    AlsfrsRDomains,
    EncalsBaseline,
    EncalsModel,
    ProgressionBands,
)
from alscare.schemas.vocabulary import AlsfrsItem

REF = [{"id": "cedarbaum1999_alsfrs_r", "where": "test"}]


def test_scoring_days_per_month_pinned_to_timeline(kb):
    assert kb.scoring.month.days_per_month == DAYS_PER_MONTH == 365.25 / 12


def test_scoring_every_statement_cites_a_known_source(kb):
    known = {source.id for source in kb.sources}
    statements = list(cited_statements(kb.scoring))
    assert len(statements) >= 9
    for path, statement in statements:
        assert statement.sources, path
        assert set(statement.source_ids) <= known, path


def test_scoring_memory_facts_marked_unverified(kb):
    """Reference [M]: the progression bands and the delta-FS formula's citation."""
    assert kb.scoring.progression_bands.verified is False
    assert kb.scoring.progression_rate.verified is False
    assert kb.scoring.encals.verified is True


def test_scoring_alsfrs_r_items_in_scale_order(kb):
    assert kb.scoring.alsfrs_r.items == tuple(AlsfrsItem)
    assert kb.scoring.alsfrs_r.max_total == 48


def test_scoring_items_out_of_order_rejected():
    items = list(AlsfrsItem)
    items[0], items[1] = items[1], items[0]
    with pytest.raises(ValidationError, match="scale order"):
        AlsfrsRDefinition(items=tuple(items), item_max=4, sources=REF)


def test_scoring_domains_must_partition_items():
    with pytest.raises(ValidationError, match="exactly once"):
        AlsfrsRDomains(
            bulbar=("speech", "salivation", "swallowing", "handwriting"),
            fine_motor=("handwriting", "cutting_food", "dressing_hygiene"),
            gross_motor=("turning_in_bed", "walking", "climbing_stairs"),
            respiratory=("dyspnea", "orthopnea", "respiratory_insufficiency"),
            sources=REF,
        )


def test_scoring_bands_must_be_ordered():
    with pytest.raises(ValidationError, match="must not exceed"):
        ProgressionBands(slow_below=1.0, fast_above=0.5, sources=REF)


@pytest.mark.parametrize(
    ("gammas", "knots", "message"),
    [((1.0, 2.0, 3.0), (0.0, 1.0), "one gamma per knot"), ((1.0, 2.0), (1.0, 0.0), "increasing")],
)
def test_scoring_encals_baseline_shape_checked(gammas, knots, message):
    with pytest.raises(ValidationError, match=message):
        EncalsBaseline(gammas=gammas, knots_ln_months=knots)


def test_scoring_encals_needs_each_input_once(kb):
    data = kb.scoring.encals.model_dump()
    data["predictors"] = data["predictors"][:-1]
    with pytest.raises(ValidationError, match="each input once"):
        EncalsModel.model_validate(data)
