"""The CDS client's JWT (CDS Hooks 2.0, "Trusting CDS Clients"), verified.

Every call to a CDS Service carries ``Authorization: Bearer <JWT>`` signed by the EHR. The JWT
is accepted when all of these hold, and refused with the first that does not:

* the header names its key (``kid``) and an algorithm of :data:`ALGORITHMS` (the two that CDS
  Hooks 2.0 requires services to support);
* ``iss`` is a trusted client (``ALSCARE_CDS_CLIENTS``: ``{"iss": "JWKS URL or file"}``), and
  the signature verifies with the key ``kid`` of that client's JWKS (never a key the token
  points to itself: a ``jku`` header is ignored);
* ``aud`` is the URL of the endpoint being called;
* ``exp`` has not passed and ``iat`` is not in the future (each with :data:`LEEWAY_SECONDS`),
  and the token lives at most :data:`MAX_LIFETIME_SECONDS`;
* ``jti`` has not been seen before while the token lives (one use only: a replayed call is
  refused). The ids are kept in memory until their token expires, per server process.

A JWKS given as a URL is fetched (and cached 5 minutes, fetched again for an unknown ``kid``)
with PyJWT's client; a file is read again whenever it changes. Failures raise
AuthenticationError, which the app answers 401 with the reason.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import jwt

from alscare.storage.security import AuthenticationError

__all__ = [
    "ALGORITHMS",
    "LEEWAY_SECONDS",
    "MAX_LIFETIME_SECONDS",
    "ClientVerifier",
    "VerifiedClient",
]

ALGORITHMS: Final = ("RS384", "ES384")
#: Clock difference allowed between the EHR and this server.
LEEWAY_SECONDS: Final = 30
#: CDS Hooks asks for tokens that expire within 5 minutes; a longer one is refused, which also
#: bounds how long a ``jti`` must be remembered.
MAX_LIFETIME_SECONDS: Final = 5 * 60
_REQUIRED: Final = ["iss", "aud", "exp", "iat", "jti"]
_JWKS_TIMEOUT_SECONDS: Final = 5


@dataclass(frozen=True, slots=True)
class VerifiedClient:
    """The client a verified JWT speaks for."""

    issuer: str
    subject: str | None


class _FileKeys:
    """A JWKS file, read again when it changes (keys rotate without a restart)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._stamp: float | None = None
        self._keys: jwt.PyJWKSet | None = None

    def key(self, kid: str) -> jwt.PyJWK:
        try:
            stamp = self._path.stat().st_mtime
            if self._keys is None or stamp != self._stamp:
                self._keys = jwt.PyJWKSet.from_dict(json.loads(self._path.read_text()))
                self._stamp = stamp
            return self._keys[kid]
        except KeyError:
            raise AuthenticationError(f"the client's JWKS has no key with kid {kid!r}") from None
        except (OSError, ValueError, jwt.PyJWKSetError) as error:
            raise AuthenticationError(f"the client's JWKS file cannot be read: {error}") from None


class _UrlKeys:
    """A JWKS at a URL, through PyJWT's client (cached; fetched again for an unknown kid)."""

    def __init__(self, url: str) -> None:
        self._client = jwt.PyJWKClient(url, lifespan=300, timeout=_JWKS_TIMEOUT_SECONDS)

    def key(self, kid: str) -> jwt.PyJWK:
        try:
            return self._client.get_signing_key(kid)
        except jwt.PyJWKClientError as error:
            raise AuthenticationError(f"the client's JWKS gave no key: {error}") from None


class ClientVerifier:
    """Checks the JWTs of the trusted clients: ``{iss: JWKS URL or file path}``."""

    def __init__(self, clients: Mapping[str, str]) -> None:
        self._keys = {
            issuer: _UrlKeys(where) if "://" in where else _FileKeys(Path(where))
            for issuer, where in clients.items()
        }
        self._seen: dict[str, float] = {}  # "iss jti" -> exp
        self._lock = threading.Lock()

    def verify(
        self, authorization: str | None, audiences: Sequence[str], now: dt.datetime
    ) -> VerifiedClient:
        """The client of a valid ``Authorization`` header whose ``aud`` is one of ``audiences``
        (the endpoint's URLs); AuthenticationError naming what is wrong otherwise. Blocking: a
        JWKS URL may be fetched."""
        token = _bearer(authorization)
        header, issuer = _unverified(token)
        keys = self._keys.get(issuer)
        if keys is None:
            raise AuthenticationError(
                f"the JWT's issuer {issuer!r} is not a trusted CDS client (ALSCARE_CDS_CLIENTS)"
            )
        claims = _decode(token, keys.key(header["kid"]), audiences, issuer)
        self._use_once(issuer, claims, now)
        subject = claims.get("sub")
        return VerifiedClient(issuer, subject if isinstance(subject, str) else None)

    def _use_once(self, issuer: str, claims: Mapping[str, Any], now: dt.datetime) -> None:
        if float(claims["exp"]) - float(claims["iat"]) > MAX_LIFETIME_SECONDS:
            raise AuthenticationError(
                f"the JWT lives longer than {MAX_LIFETIME_SECONDS} seconds (exp - iat)"
            )
        key = f"{issuer} {claims['jti']}"
        moment = now.timestamp()
        with self._lock:
            for seen, expires in list(self._seen.items()):
                if expires + LEEWAY_SECONDS < moment:
                    del self._seen[seen]
            if key in self._seen:
                raise AuthenticationError("the JWT's jti was used before: a JWT is good once")
            self._seen[key] = float(claims["exp"])


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError(
            "not authenticated: a CDS client sends its signed JWT as Authorization: Bearer"
        )
    return token.strip()


def _unverified(token: str) -> tuple[dict[str, Any], str]:
    """The header and the claimed issuer, read before the key to check them with is known."""
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        raise AuthenticationError(f"the JWT cannot be read: {error}") from None
    if header.get("alg") not in ALGORITHMS:
        raise AuthenticationError(f"the JWT's alg must be one of {', '.join(ALGORITHMS)}")
    if not isinstance(header.get("kid"), str):
        raise AuthenticationError("the JWT's header has no kid")
    issuer = claims.get("iss")
    if not isinstance(issuer, str):
        raise AuthenticationError("the JWT has no iss")
    return header, issuer


def _decode(token: str, key: jwt.PyJWK, audiences: Sequence[str], issuer: str) -> dict[str, Any]:
    """The verified claims (PyJWT reads the clock for exp and iat itself)."""
    try:
        return jwt.decode(
            token,
            key,
            algorithms=list(ALGORITHMS),
            audience=list(audiences),
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": _REQUIRED, "verify_iat": True},
        )
    except jwt.ExpiredSignatureError:
        raise AuthenticationError("the JWT has expired (exp)") from None
    except jwt.InvalidAudienceError:
        raise AuthenticationError(f"the JWT's aud is not this endpoint, {audiences[0]}") from None
    except jwt.InvalidSignatureError:
        raise AuthenticationError("the JWT's signature does not verify") from None
    except jwt.PyJWTError as error:
        raise AuthenticationError(f"the JWT is not valid: {error}") from None
