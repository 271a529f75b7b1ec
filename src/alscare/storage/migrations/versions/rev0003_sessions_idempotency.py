"""Server-side sessions and API tokens that can be revoked, idempotent retries, and accounts
that can be made to change their password.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 12:00:00

``auth_sessions`` holds one row per page session or API token: the SHA-256 of its secret (the
secret itself is only ever in the cookie or the bearer token), whose it is, when it expires and
when it was revoked. A request is let in only while its row is neither expired nor revoked, so
logout, a password change or a disabled account ends access at once.

``idempotency_keys`` keeps the answer to a write sent with an ``Idempotency-Key`` header, so a
retried request gets the same answer instead of adding the entry twice.

``users.must_change_password`` makes an account change its password at the next login.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from alscare.storage.tables import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.CheckConstraint("kind IN ('page', 'api')", name=op.f("ck_auth_sessions_kind_known")),
        sa.ForeignKeyConstraint(
            ["username"],
            ["users.username"],
            name=op.f("fk_auth_sessions_username_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_sessions")),
    )
    op.create_index(op.f("ix_auth_sessions_username"), "auth_sessions", ["username"])
    op.create_table(
        "idempotency_keys",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("username", "key", name=op.f("pk_idempotency_keys")),
    )
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("must_change_password")
    op.drop_table("idempotency_keys")
    op.drop_index(op.f("ix_auth_sessions_username"), table_name="auth_sessions")
    op.drop_table("auth_sessions")
