"""Settings of the server and of the database commands, read from ``ALSCARE_*`` variables.

Nothing is read at import time: adapters call :func:`load_settings` once and pass the result
down. ``ALSCARE_ENV`` is ``production`` unless set, so a secret key is required unless the
operator asks for development mode (``ALSCARE_ENV=development`` or ``alscare serve --demo``),
where a throw-away key is made for the life of the process.

Variables::

    ALSCARE_ENV                    development | production (default production)
    ALSCARE_DATABASE_URL           SQLAlchemy URL (default sqlite:///alscare.db in the working dir)
    ALSCARE_SECRET_KEY             signs API tokens and page sessions; 32 characters or more
    ALSCARE_TOKEN_MINUTES          lifetime of an API token (default 60)
    ALSCARE_SESSION_HOURS          lifetime of a page session (default 12)
    ALSCARE_LOGIN_MAX_FAILURES     failed logins in a row, from one client address for one
                                   username, that pause that pair's logins (default 5)
    ALSCARE_LOGIN_MAX_CLIENT_FAILURES  failed logins from one client address, any usernames,
                                   that pause all its logins (default 50)
    ALSCARE_LOGIN_LOCKOUT_MINUTES  how long such a pause lasts (default 15)
    ALSCARE_LOGIN_CONCURRENCY      password checks run at once; more logins wait (default 1)
    ALSCARE_LOGIN_WAIT_SECONDS     how long a login waits for its turn before 429 (default 10)
"""

from __future__ import annotations

import secrets
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from alscare.errors import ConfigError

__all__ = ["MIN_SECRET_KEY_LENGTH", "Settings", "load_settings"]

MIN_SECRET_KEY_LENGTH = 32


class Settings(BaseSettings):
    """Validated settings; build them with :func:`load_settings`, not directly."""

    model_config = SettingsConfigDict(env_prefix="ALSCARE_", frozen=True, extra="ignore")

    env: Literal["development", "production"] = "production"
    database_url: str = Field(default="sqlite:///alscare.db", min_length=1)
    secret_key: SecretStr | None = None
    token_minutes: int = Field(default=60, ge=1, le=24 * 60)
    session_hours: int = Field(default=12, ge=1, le=7 * 24)
    login_max_failures: int = Field(default=5, ge=1, le=100)
    login_max_client_failures: int = Field(default=50, ge=1, le=10_000)
    login_lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    login_concurrency: int = Field(default=1, ge=1, le=64)
    login_wait_seconds: float = Field(default=10, gt=0, le=120)

    @field_validator("secret_key")
    @classmethod
    def _secret_key_is_long_enough(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None and len(key.get_secret_value()) < MIN_SECRET_KEY_LENGTH:
            raise ValueError(f"must be at least {MIN_SECRET_KEY_LENGTH} characters")
        return key

    @property
    def development(self) -> bool:
        return self.env == "development"

    def signing_key(self) -> str:
        """The secret that signs tokens; only :func:`load_settings` guarantees there is one."""
        if self.secret_key is None:
            raise ConfigError("ALSCARE_SECRET_KEY is not set")
        return self.secret_key.get_secret_value()


def load_settings(*, require_secret_key: bool = True, **overrides: Any) -> Settings:
    """Read the environment (``overrides`` win) and check it; raise ConfigError in one line.

    ``require_secret_key=False`` is for the commands that never sign anything (``alscare db``,
    ``alscare user``). In development mode a missing key is replaced by a random one.
    """
    try:
        settings = Settings(**overrides)
    except ValidationError as error:
        raise ConfigError(_one_line(error)) from None
    if settings.secret_key is not None or not require_secret_key:
        return settings
    if settings.development:
        return settings.model_copy(update={"secret_key": SecretStr(secrets.token_urlsafe(32))})
    raise ConfigError(
        "ALSCARE_SECRET_KEY is required in production (a random string of 32 characters or "
        "more); for a local trial use ALSCARE_ENV=development or `alscare serve --demo`"
    )


def _one_line(error: ValidationError) -> str:
    first = error.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"])
    name = f"ALSCARE_{field.upper()}" if field else "settings"
    return f"{name}: {str(first['msg']).removeprefix('Value error, ')}"
