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
    ALSCARE_CDS_CLIENTS            the CDS clients (EHRs) trusted to call /cds-services, as JSON
                                   {"<iss of its JWTs>": "<its JWKS: an https URL or a file path>"}
                                   (default none: every call is refused, except in development)
    ALSCARE_EHR_ORIGINS            the browser origins of EHRs allowed to call /cds-services
                                   (CORS), as a JSON list ["https://ehr.example.org"] (default none)
    ALSCARE_CDS_PUBLIC_URL         the app's base URL as EHRs reach it, when a proxy hides it
                                   (https://alscare.example.org): the JWT's aud and the links of
                                   cards are built on it (default: the URL of each request)
    ALSCARE_SMART_EHRS             the EHRs that may open alscare by SMART on FHIR EHR launch, as
                                   JSON keyed by each EHR's FHIR base URL (its ``iss``):
                                   {"https://ehr.example/fhir": {"name": "stmarys",
                                   "client_id": "...", "client_secret": "...", "role":
                                   "clinician"}}; ``name`` (lower-case letters, digits, '-')
                                   names the EHR on pages and in its users' account names,
                                   ``client_secret`` is left out for a public client, ``role``
                                   (clinician or viewer) is the role of the account made for an
                                   EHR user on their first launch (docs/smart.md). Default {}:
                                   no SMART launch
"""

from __future__ import annotations

import re
import secrets
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from alscare.errors import ConfigError

__all__ = ["MIN_SECRET_KEY_LENGTH", "Settings", "SmartEhr", "load_settings"]

MIN_SECRET_KEY_LENGTH = 32


class SmartEhr(BaseModel):
    """One EHR of ``ALSCARE_SMART_EHRS``: how alscare is registered with it as a SMART app."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,15}$")
    client_id: str = Field(min_length=1)
    client_secret: SecretStr | None = None
    # Never admin: an EHR's say-so must not reach the audit trail or the accounts.
    role: Literal["clinician", "viewer"] = "clinician"


# A browser origin: scheme, host and an optional port, nothing after (CORS compares it whole).
_ORIGIN = re.compile(r"^https?://[^/?#\s]+$")


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
    smart_ehrs: dict[str, SmartEhr] = Field(default_factory=dict)
    cds_clients: dict[str, str] = Field(default_factory=dict)
    ehr_origins: tuple[str, ...] = ()
    cds_public_url: str | None = Field(default=None, pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$")

    @field_validator("secret_key")
    @classmethod
    def _secret_key_is_long_enough(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None and len(key.get_secret_value()) < MIN_SECRET_KEY_LENGTH:
            raise ValueError(f"must be at least {MIN_SECRET_KEY_LENGTH} characters")
        return key

    @field_validator("cds_clients")
    @classmethod
    def _cds_clients_named(cls, clients: dict[str, str]) -> dict[str, str]:
        if any(not issuer.strip() or not jwks.strip() for issuer, jwks in clients.items()):
            raise ValueError('each CDS client needs an issuer and its JWKS: {"iss": "url or path"}')
        return clients

    @field_validator("ehr_origins")
    @classmethod
    def _origins_are_origins(cls, origins: tuple[str, ...]) -> tuple[str, ...]:
        for origin in origins:
            if not _ORIGIN.match(origin):
                raise ValueError(f"{origin!r} is not an origin such as https://ehr.example.org")
        return origins

    @field_validator("smart_ehrs")
    @classmethod
    def _smart_ehrs_are_fhir_bases(cls, ehrs: dict[str, SmartEhr]) -> dict[str, SmartEhr]:
        # The launch's iss is compared with these keys, so one spelling of each: no final '/'.
        bases = {base.rstrip("/"): ehr for base, ehr in ehrs.items()}
        for base in bases:
            if urlsplit(base).scheme not in ("https", "http") or not urlsplit(base).netloc:
                raise ValueError(f"{base!r} is not the http(s) URL of a FHIR server")
        return bases

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
