"""The database schema (SQLAlchemy 2, typed): patients, their record revisions, users, audit.

A patient's record is stored whole, as revisions: ``patient_revisions`` holds every version of
the record ever written, as the canonical JSON text of the record v2 (one row per write, never
changed or deleted afterwards), with who wrote it, when and why. ``patients`` holds one row per
patient: the number of the current revision, when the patient was created and last changed,
and listing columns copied from the current revision for the patient list and its search (only
writes of a new revision change them). The same schema runs on SQLite and PostgreSQL;
migrations live in ``storage/migrations``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "NAMING_CONVENTION",
    "AuditEventRow",
    "AuthSessionRow",
    "Base",
    "CdsFeedbackRow",
    "IdempotencyKeyRow",
    "PatientRevisionRow",
    "PatientRow",
    "UserRow",
    "UtcDateTime",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

PATIENT_ID = String(64)
USERNAME = String(64)
# Audit rows outlive any count a 32-bit key holds; SQLite needs INTEGER for its rowid alias.
AUDIT_KEY = BigInteger().with_variant(Integer, "sqlite")


class UtcDateTime(TypeDecorator[dt.datetime]):
    """An aware UTC datetime on both backends (SQLite keeps no zone, so it is stored as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store aware UTC datetimes only")
        utc = value.astimezone(dt.UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class PatientRow(Base):
    """One patient: the current revision and columns of it that the patient list shows and
    searches (identity, sex, the dates that place the patient). Never the clinical series."""

    __tablename__ = "patients"

    id: Mapped[str] = mapped_column(PATIENT_ID, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    name: Mapped[str | None] = mapped_column(String(200))
    # The identifiers as one line of text, "MRN 0012345; NHS 9434765919", for the search.
    identifiers: Mapped[str | None] = mapped_column(Text)
    sex: Mapped[str | None] = mapped_column(String(16))
    birth_date: Mapped[dt.date | None]
    age_years: Mapped[float | None] = mapped_column(Float)
    age_on: Mapped[dt.date | None]
    symptom_onset_date: Mapped[dt.date | None]
    onset_site: Mapped[str | None] = mapped_column(String(16))
    diagnosis_date: Mapped[dt.date | None]
    death_date: Mapped[dt.date | None]
    # The id, name and identifiers casefolded in Python, so that the search folds case the
    # same way on both backends (SQLite's lower() folds ASCII letters only).
    search_text: Mapped[str] = mapped_column(Text)


class PatientRevisionRow(Base):
    """One version of a patient's record, as written: append-only.

    ``record`` is the canonical JSON text of the record v2 (``PatientRecord.to_json_dict()``);
    ``username`` wrote it at ``created_at``; ``reason`` says why when the writer gave one.
    """

    __tablename__ = "patient_revisions"
    __table_args__ = (CheckConstraint("revision >= 1", name="revision_positive"),)

    patient_id: Mapped[str] = mapped_column(PATIENT_ID, ForeignKey("patients.id"), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    record: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    username: Mapped[str] = mapped_column(USERNAME)
    reason: Mapped[str | None] = mapped_column(String(500))


class UserRow(Base):
    """An account; ``failed_logins`` and ``locked_until`` drive the login lockout."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'clinician', 'viewer')", name="role_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(USERNAME, unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    # Set by an admin's password reset: the next login must choose a new password.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())

    @classmethod
    def new(cls, username: str, password_hash: str, role: str, at: dt.datetime) -> UserRow:
        """A new, active account with no failed logins, made at ``at``."""
        return cls(
            username=username,
            password_hash=password_hash,
            role=role,
            active=True,
            failed_logins=0,
            created_at=at,
        )


class AuthSessionRow(Base):
    """A page session or an API token, held on the server so that it can be ended.

    ``id`` is the SHA-256 (hex) of the secret the client holds; the secret itself is never
    stored. A session lets its holder in while ``now < expires_at`` and ``revoked_at`` is null.
    """

    __tablename__ = "auth_sessions"
    __table_args__ = (CheckConstraint("kind IN ('page', 'api')", name="kind_known"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(
        USERNAME, ForeignKey("users.username", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class IdempotencyKeyRow(Base):
    """The answer given to a write sent with ``Idempotency-Key``, replayed to a retry of it.

    ``body_sha256`` is the hash of the request body, so the same key with another body is
    refused rather than answered with the first request's result.
    """

    __tablename__ = "idempotency_keys"

    username: Mapped[str] = mapped_column(USERNAME, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(500))
    body_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    headers: Mapped[str] = mapped_column(Text)  # JSON object of the headers to replay
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class AuditEventRow(Base):
    """Who did what to which patient, when. Never holds clinical values, only what was done."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_patient_id_at", "patient_id", "at"),
        Index("ix_audit_events_username_at", "username", "at"),
    )

    id: Mapped[int] = mapped_column(AUDIT_KEY, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    username: Mapped[str] = mapped_column(USERNAME)
    role: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    patient_id: Mapped[str | None] = mapped_column(PATIENT_ID)
    detail: Mapped[str] = mapped_column(String(200), default="")


class CdsFeedbackRow(Base):
    """What a clinician did with a CDS Hooks card in the EHR (``POST .../feedback``), as the EHR
    reported it. Holds no patient data: the card's uuid, the outcome and the reason given."""

    __tablename__ = "cds_feedback"
    __table_args__ = (
        CheckConstraint("outcome IN ('accepted', 'overridden')", name="outcome_known"),
    )

    id: Mapped[int] = mapped_column(AUDIT_KEY, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(String(64))
    card_uuid: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    override_system: Mapped[str | None] = mapped_column(String(500))
    override_code: Mapped[str | None] = mapped_column(String(200))
    override_display: Mapped[str | None] = mapped_column(String(500))
    user_comment: Mapped[str | None] = mapped_column(Text)
    outcome_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    client: Mapped[str] = mapped_column(String(500))  # the verified iss of the client's JWT
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
