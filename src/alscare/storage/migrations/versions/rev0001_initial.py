"""Initial schema: patients and their measurements, users, audit trail.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-24 09:11:06.980867
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_at"), ["at"], unique=False)
        batch_op.create_index("ix_audit_events_patient_id_at", ["patient_id", "at"], unique=False)
        batch_op.create_index("ix_audit_events_username_at", ["username", "at"], unique=False)

    op.create_table(
        "patients",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("sex", sa.String(length=16), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("age_years", sa.Float(), nullable=True),
        sa.Column("height_cm", sa.Float(), nullable=True),
        sa.Column("jurisdiction", sa.String(length=16), nullable=True),
        sa.Column("diagnosis_date", sa.Date(), nullable=True),
        sa.Column("progressive", sa.Boolean(), nullable=True),
        sa.Column("premorbid_weight_kg", sa.Float(), nullable=True),
        sa.Column("interventions_recorded", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('admin', 'clinician', 'viewer')", name=op.f("ck_users_role_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "alsfrs_r_ratings",
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("gastrostomy", sa.Boolean(), nullable=True),
        sa.Column("speech", sa.SmallInteger(), nullable=False),
        sa.Column("salivation", sa.SmallInteger(), nullable=False),
        sa.Column("swallowing", sa.SmallInteger(), nullable=False),
        sa.Column("handwriting", sa.SmallInteger(), nullable=False),
        sa.Column("cutting_food", sa.SmallInteger(), nullable=False),
        sa.Column("dressing_hygiene", sa.SmallInteger(), nullable=False),
        sa.Column("turning_in_bed", sa.SmallInteger(), nullable=False),
        sa.Column("walking", sa.SmallInteger(), nullable=False),
        sa.Column("climbing_stairs", sa.SmallInteger(), nullable=False),
        sa.Column("dyspnea", sa.SmallInteger(), nullable=False),
        sa.Column("orthopnea", sa.SmallInteger(), nullable=False),
        sa.Column("respiratory_insufficiency", sa.SmallInteger(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_alsfrs_r_ratings_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("speech BETWEEN 0 AND 4", name=op.f("ck_alsfrs_r_ratings_speech")),
        sa.CheckConstraint(
            "salivation BETWEEN 0 AND 4", name=op.f("ck_alsfrs_r_ratings_salivation")
        ),
        sa.CheckConstraint(
            "swallowing BETWEEN 0 AND 4", name=op.f("ck_alsfrs_r_ratings_swallowing")
        ),
        sa.CheckConstraint(
            "handwriting BETWEEN 0 AND 4", name=op.f("ck_alsfrs_r_ratings_handwriting")
        ),
        sa.CheckConstraint(
            "cutting_food BETWEEN 0 AND 4", name=op.f("ck_alsfrs_r_ratings_cutting_food")
        ),
        sa.CheckConstraint(
            "dressing_hygiene BETWEEN 0 AND 4", name=op.f("ck_alsfrs_r_ratings_dressing_hygiene")
        ),
        sa.CheckConstraint(
            "turning_in_bed BETWEEN 0 AND 4", name=op.f("ck_alsfrs_r_ratings_turning_in_bed")
        ),
        sa.CheckConstraint("walking BETWEEN 0 AND 4", name=op.f("ck_alsfrs_r_ratings_walking")),
        sa.CheckConstraint(
            "climbing_stairs BETWEEN 0 AND 4", name=op.f("ck_alsfrs_r_ratings_climbing_stairs")
        ),
        sa.CheckConstraint("dyspnea BETWEEN 0 AND 4", name=op.f("ck_alsfrs_r_ratings_dyspnea")),
        sa.CheckConstraint("orthopnea BETWEEN 0 AND 4", name=op.f("ck_alsfrs_r_ratings_orthopnea")),
        sa.CheckConstraint(
            "respiratory_insufficiency BETWEEN 0 AND 4",
            name=op.f("ck_alsfrs_r_ratings_respiratory_insufficiency"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alsfrs_r_ratings")),
        sa.UniqueConstraint(
            "patient_id", "ordinal", name=op.f("uq_alsfrs_r_ratings_patient_id_ordinal")
        ),
    )
    op.create_table(
        "care_plans",
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("advance_care_plan", sa.Boolean(), nullable=True),
        sa.Column("palliative_care_referral", sa.Boolean(), nullable=True),
        sa.Column("multidisciplinary_clinic", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_care_plans_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_care_plans")),
    )
    op.create_table(
        "cognition_assessments",
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("ftd", sa.Boolean(), nullable=True),
        sa.Column("ecas_total", sa.SmallInteger(), nullable=True),
        sa.Column("behaviour_change", sa.Boolean(), nullable=True),
        sa.Column("date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_cognition_assessments_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_cognition_assessments")),
    )
    op.create_table(
        "emg_studies",
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column("motor_conduction_block", sa.Boolean(), nullable=True),
        sa.Column("sensory_conduction_abnormal", sa.Boolean(), nullable=True),
        sa.Column("myopathic_units", sa.Boolean(), nullable=True),
        sa.Column("rns_decrement", sa.Boolean(), nullable=True),
        sa.Column("post_exercise_increment", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_emg_studies_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_emg_studies")),
    )
    op.create_table(
        "exam_regions",
        sa.Column("region", sa.String(length=16), nullable=False),
        sa.Column("examined", sa.Boolean(), nullable=False),
        sa.Column("weakness", sa.Boolean(), nullable=True),
        sa.Column("wasting", sa.Boolean(), nullable=True),
        sa.Column("fasciculations", sa.Boolean(), nullable=True),
        sa.Column("hyperreflexia", sa.Boolean(), nullable=True),
        sa.Column("pathological_reflexes", sa.Boolean(), nullable=True),
        sa.Column("spasticity", sa.Boolean(), nullable=True),
        sa.Column("slowed_movements", sa.Boolean(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_exam_regions_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exam_regions")),
        sa.UniqueConstraint(
            "patient_id", "ordinal", name=op.f("uq_exam_regions_patient_id_ordinal")
        ),
    )
    op.create_table(
        "family_histories",
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("als", sa.Boolean(), nullable=True),
        sa.Column("ftd", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_family_histories_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_family_histories")),
    )
    op.create_table(
        "findings",
        sa.Column("finding_id", sa.String(length=64), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("region", sa.String(length=16), nullable=True),
        sa.Column("side", sa.String(length=16), nullable=True),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_findings_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_findings")),
        sa.UniqueConstraint("patient_id", "ordinal", name=op.f("uq_findings_patient_id_ordinal")),
    )
    op.create_table(
        "genetic_results",
        sa.Column("gene", sa.String(length=32), nullable=False),
        sa.Column("result", sa.String(length=32), nullable=False),
        sa.Column("variant", sa.String(length=200), nullable=True),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_genetic_results_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_genetic_results")),
        sa.UniqueConstraint(
            "patient_id", "ordinal", name=op.f("uq_genetic_results_patient_id_ordinal")
        ),
    )
    op.create_table(
        "interventions",
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("since", sa.Date(), nullable=True),
        sa.Column("hours_per_day", sa.Float(), nullable=True),
        sa.Column("declined", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_interventions_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("patient_id", "kind", name=op.f("pk_interventions")),
    )
    op.create_table(
        "lab_values",
        sa.Column("lab_id", sa.String(length=64), nullable=False),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("lower_limit", sa.Float(), nullable=True),
        sa.Column("upper_limit", sa.Float(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_lab_values_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lab_values")),
        sa.UniqueConstraint("patient_id", "ordinal", name=op.f("uq_lab_values_patient_id_ordinal")),
    )
    op.create_table(
        "medications",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("since", sa.Date(), nullable=True),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_medications_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_medications")),
        sa.UniqueConstraint(
            "patient_id", "ordinal", name=op.f("uq_medications_patient_id_ordinal")
        ),
    )
    op.create_table(
        "respiratory_measurements",
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("fvc_percent_predicted", sa.Float(), nullable=True),
        sa.Column("fvc_litres", sa.Float(), nullable=True),
        sa.Column("position", sa.String(length=16), nullable=True),
        sa.Column("supine_fvc_percent_predicted", sa.Float(), nullable=True),
        sa.Column("snip_cmh2o", sa.Float(), nullable=True),
        sa.Column("mip_cmh2o", sa.Float(), nullable=True),
        sa.Column("paco2_kpa", sa.Float(), nullable=True),
        sa.Column("paco2_mmhg", sa.Float(), nullable=True),
        sa.Column("spo2_percent", sa.Float(), nullable=True),
        sa.Column("nocturnal_spo2_below_90_percent_time", sa.Float(), nullable=True),
        sa.Column("peak_cough_flow_l_min", sa.Float(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_respiratory_measurements_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_respiratory_measurements")),
        sa.UniqueConstraint(
            "patient_id", "ordinal", name=op.f("uq_respiratory_measurements_patient_id_ordinal")
        ),
    )
    op.create_table(
        "risk_factors",
        sa.Column("risk_factor_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_risk_factors_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_factors")),
        sa.UniqueConstraint(
            "patient_id", "ordinal", name=op.f("uq_risk_factors_patient_id_ordinal")
        ),
    )
    op.create_table(
        "symptom_onsets",
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column("site", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_symptom_onsets_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_symptom_onsets")),
    )
    op.create_table(
        "test_results",
        sa.Column("test_id", sa.String(length=64), nullable=False),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column("result", sa.String(length=16), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(length=32), nullable=True),
        sa.Column("lower_limit", sa.Float(), nullable=True),
        sa.Column("upper_limit", sa.Float(), nullable=True),
        sa.Column("finding", sa.String(length=500), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_test_results_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_results")),
        sa.UniqueConstraint(
            "patient_id", "ordinal", name=op.f("uq_test_results_patient_id_ordinal")
        ),
    )
    op.create_table(
        "weights",
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("kg", sa.Float(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_weights_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_weights")),
        sa.UniqueConstraint("patient_id", "ordinal", name=op.f("uq_weights_patient_id_ordinal")),
    )
    op.create_table(
        "emg_regions",
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=16), nullable=False),
        sa.Column("studied", sa.Boolean(), nullable=False),
        sa.Column("chronic_neurogenic", sa.Boolean(), nullable=True),
        sa.Column("active_denervation", sa.Boolean(), nullable=True),
        sa.Column("fasciculation_potentials", sa.Boolean(), nullable=True),
        sa.Column("muscles", sa.SmallInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["emg_studies.patient_id"],
            name=op.f("fk_emg_regions_patient_id_emg_studies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("patient_id", "ordinal", name=op.f("pk_emg_regions")),
    )
    op.create_table(
        "respiratory_symptoms",
        sa.Column("measurement_id", sa.Integer(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("symptom", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["measurement_id"],
            ["respiratory_measurements.id"],
            name=op.f("fk_respiratory_symptoms_measurement_id_respiratory_measurements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("measurement_id", "ordinal", name=op.f("pk_respiratory_symptoms")),
    )


def downgrade() -> None:
    op.drop_table("respiratory_symptoms")
    op.drop_table("emg_regions")
    op.drop_table("weights")
    op.drop_table("test_results")
    op.drop_table("symptom_onsets")
    op.drop_table("risk_factors")
    op.drop_table("respiratory_measurements")
    op.drop_table("medications")
    op.drop_table("lab_values")
    op.drop_table("interventions")
    op.drop_table("genetic_results")
    op.drop_table("findings")
    op.drop_table("family_histories")
    op.drop_table("exam_regions")
    op.drop_table("emg_studies")
    op.drop_table("cognition_assessments")
    op.drop_table("care_plans")
    op.drop_table("alsfrs_r_ratings")
    op.drop_table("users")
    op.drop_table("patients")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_username_at")
        batch_op.drop_index("ix_audit_events_patient_id_at")
        batch_op.drop_index(batch_op.f("ix_audit_events_at"))

    op.drop_table("audit_events")
