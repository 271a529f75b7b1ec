"""The feedback of CDS Hooks clients on the cards they were shown.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 16:00:00

``cds_feedback`` holds one row per card outcome an EHR reports (``POST
/cds-services/{id}/feedback``): the service and the card's uuid, accepted or overridden, the
override reason and comment, when the clinician acted and which client said so. No patient data:
the service is stateless, and a card's uuid is derived from the hook call, not the patient.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from alscare.storage.tables import AUDIT_KEY, UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cds_feedback",
        sa.Column("id", AUDIT_KEY, autoincrement=True, nullable=False),
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("card_uuid", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("override_system", sa.String(length=500), nullable=True),
        sa.Column("override_code", sa.String(length=200), nullable=True),
        sa.Column("override_display", sa.String(length=500), nullable=True),
        sa.Column("user_comment", sa.Text(), nullable=True),
        sa.Column("outcome_at", UtcDateTime(), nullable=False),
        sa.Column("client", sa.String(length=500), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('accepted', 'overridden')", name=op.f("ck_cds_feedback_outcome_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cds_feedback")),
    )
    op.create_index(op.f("ix_cds_feedback_card_uuid"), "cds_feedback", ["card_uuid"])
    op.create_index(op.f("ix_cds_feedback_received_at"), "cds_feedback", ["received_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_cds_feedback_received_at"), table_name="cds_feedback")
    op.drop_index(op.f("ix_cds_feedback_card_uuid"), table_name="cds_feedback")
    op.drop_table("cds_feedback")
