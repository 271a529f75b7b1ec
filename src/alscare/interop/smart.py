"""SMART on FHIR App Launch 2.x, the client's side of an EHR launch: discovery, the
authorisation request with PKCE, the code exchange, the id_token and the patient's resources.

An EHR launch names its FHIR server (``iss``) and an opaque ``launch``. The app reads
``<iss>/.well-known/smart-configuration``, sends the browser to its ``authorization_endpoint``
asking for :data:`SCOPE` (App Launch 2.x scopes: ``patient/*.rs``, read and search of the
launch patient's data) with ``aud=iss``, the ``launch``, a ``state`` and an OpenID ``nonce``,
and an S256 PKCE challenge; back with a code, it exchanges the code and the PKCE verifier at the
``token_endpoint`` (HTTP Basic for a client with a secret, ``client_id`` in the form for a
public one). The token answer carries the launch context (``patient``) and an OpenID
``id_token``, whose signature is checked against the server's ``jwks_uri`` and whose ``iss``,
``aud`` (the client id), ``exp`` and ``nonce`` must hold: its ``sub`` (and ``fhirUser``) say who
launched. The patient's resources are read with the access token through fhirclient's server:
``Patient/<id>`` and a search by ``patient`` of each type of :data:`SEARCHED`, following a
search's ``next`` pages only within the same FHIR server, so the token never leaves it.

Every step raises :class:`SmartError` naming the step and what the server said; nothing here
stores anything. Every request has a timeout of :data:`TIMEOUT` seconds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote, urlencode

import httpx
import jwt
import requests  # fhirclient's transport: its errors
from fhirclient.server import (  # type: ignore[import-untyped]
    FHIRNotFoundException,
    FHIRPermissionDeniedException,
    FHIRServer,
    FHIRUnauthorizedException,
)

from alscare.errors import AlscareError
from alscare.settings import SmartEhr

__all__ = [
    "SCOPE",
    "SEARCHED",
    "EhrUser",
    "Endpoints",
    "Launched",
    "SmartError",
    "authorize_url",
    "complete_launch",
    "discover",
    "pkce_challenge",
]

#: App Launch 2.x scopes: the launch context, the user's identity, and read and search of the
#: launch patient's resources (``.rs``; the v1 form would be ``patient/*.read``).
SCOPE: Final = "launch openid fhirUser patient/*.rs"
#: The resource types searched by ``patient`` besides the Patient itself.
SEARCHED: Final = (
    "Condition",
    "Observation",
    "MedicationStatement",
    "MedicationRequest",
    "Procedure",
    "DeviceUseStatement",
    "FamilyMemberHistory",
)
TIMEOUT: Final = 10.0
#: Pages of one search followed at most: a server whose ``next`` links never end is refused.
MAX_PAGES: Final = 100
# Algorithms an id_token may be signed with (App Launch requires RS256; never "none" or HMAC).
_ALGORITHMS: Final = ("RS256", "RS384", "RS512", "ES256", "ES384", "PS256")
_FHIR_ID: Final = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


class SmartError(AlscareError):
    """A launch step that failed: ``step`` names it (discovery, token, id_token, FHIR read)."""

    def __init__(self, step: str, message: str) -> None:
        self.step = step
        super().__init__(f"{step}: {message}")


@dataclass(frozen=True, slots=True)
class Endpoints:
    """What the EHR's ``.well-known/smart-configuration`` says, as far as the launch needs."""

    authorization: str
    token: str
    jwks_uri: str
    issuer: str


@dataclass(frozen=True, slots=True)
class EhrUser:
    """Who launched, as the verified id_token says: ``sub`` and ``fhirUser``."""

    sub: str
    fhir_user: str | None


@dataclass(frozen=True, slots=True)
class Launched:
    """A completed launch: the user, the launch patient's id and their resources."""

    user: EhrUser
    patient_id: str
    resources: list[dict[str, Any]]


def _get_json(step: str, url: str, **options: Any) -> Any:
    try:
        answer = httpx.get(url, timeout=TIMEOUT, headers={"Accept": "application/json"}, **options)
    except httpx.HTTPError as error:
        raise SmartError(step, f"{url} could not be reached ({type(error).__name__})") from None
    if answer.status_code != 200:
        raise SmartError(step, f"{url} answered {answer.status_code}")
    try:
        return answer.json()
    except ValueError:
        raise SmartError(step, f"{url} did not answer JSON") from None


def _text(document: Mapping[str, Any], name: str, step: str) -> str:
    value = document.get(name)
    if not isinstance(value, str) or not value:
        raise SmartError(step, f"the answer has no {name}")
    return value


def discover(iss: str) -> Endpoints:
    """The endpoints of the FHIR server ``iss`` (SmartError when it gives none usable)."""
    step = "SMART discovery"
    document = _get_json(step, f"{iss}/.well-known/smart-configuration")
    if not isinstance(document, dict):
        raise SmartError(step, "the smart-configuration is not a JSON object")
    methods = document.get("code_challenge_methods_supported", ["S256"])
    if not isinstance(methods, list) or "S256" not in methods:
        raise SmartError(step, "the server does not support PKCE with S256")
    return Endpoints(
        authorization=_text(document, "authorization_endpoint", step),
        token=_text(document, "token_endpoint", step),
        jwks_uri=_text(document, "jwks_uri", step),  # the id_token cannot be checked without
        issuer=_text(document, "issuer", step),
    )


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a PKCE verifier (RFC 7636)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorize_url(
    endpoints: Endpoints,
    ehr: SmartEhr,
    *,
    iss: str,
    launch: str,
    redirect_uri: str,
    state: str,
    nonce: str,
    code_verifier: str,
) -> str:
    """Where to send the browser to ask the EHR's authorisation server for a code."""
    query = {
        "response_type": "code",
        "client_id": ehr.client_id,
        "redirect_uri": redirect_uri,
        "scope": SCOPE,
        "state": state,
        "nonce": nonce,
        "aud": iss,
        "launch": launch,
        "code_challenge": pkce_challenge(code_verifier),
        "code_challenge_method": "S256",
    }
    joiner = "&" if "?" in endpoints.authorization else "?"
    return f"{endpoints.authorization}{joiner}{urlencode(query)}"


def complete_launch(
    iss: str,
    ehr: SmartEhr,
    *,
    code: str,
    code_verifier: str,
    nonce: str,
    redirect_uri: str,
) -> Launched:
    """Exchange the code, verify the id_token and read the launch patient's resources."""
    endpoints = discover(iss)
    token = _exchange_code(endpoints, ehr, code, code_verifier, redirect_uri)
    user = _verified_user(_text(token, "id_token", "token"), endpoints, ehr.client_id, nonce)
    patient_id = _text(token, "patient", "token")
    if not _FHIR_ID.match(patient_id):
        raise SmartError("token", "the launch context's patient is not a FHIR id")
    access_token = _text(token, "access_token", "token")
    if _text(token, "token_type", "token").lower() != "bearer":
        raise SmartError("token", "the access token is not a bearer token")
    return Launched(user, patient_id, _patient_resources(iss, access_token, patient_id))


def _exchange_code(
    endpoints: Endpoints, ehr: SmartEhr, code: str, code_verifier: str, redirect_uri: str
) -> dict[str, Any]:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier,
    }
    auth = None
    if ehr.client_secret is None:
        form["client_id"] = ehr.client_id  # a public client names itself in the form
    else:
        auth = httpx.BasicAuth(ehr.client_id, ehr.client_secret.get_secret_value())
    try:
        answer = httpx.post(endpoints.token, data=form, auth=auth, timeout=TIMEOUT)
    except httpx.HTTPError as error:
        raise SmartError("token", f"the token endpoint failed ({type(error).__name__})") from None
    try:
        body = answer.json()
    except ValueError:
        body = None
    if answer.status_code != 200 or not isinstance(body, dict):
        reason = _oauth_error(body)
        raise SmartError("token", f"the code was refused ({answer.status_code}): {reason}")
    return body


def _oauth_error(body: Any) -> str:
    if not isinstance(body, dict):
        return "no reason given"
    reason = str(body.get("error", "no reason given"))
    description = body.get("error_description")
    return f"{reason} ({description})" if description else reason


def _verified_user(id_token: str, endpoints: Endpoints, client_id: str, nonce: str) -> EhrUser:
    step = "id_token"
    keys = _get_json("id_token keys", endpoints.jwks_uri)
    try:
        key = _signing_key(id_token, jwt.PyJWKSet.from_dict(keys))
        claims = jwt.decode(
            id_token,
            key.key,
            algorithms=list(_ALGORITHMS),
            audience=client_id,
            issuer=endpoints.issuer,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError as error:
        raise SmartError(step, f"not accepted: {error}") from None
    if not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
        raise SmartError(step, "not accepted: its nonce is not this launch's")
    fhir_user = claims.get("fhirUser")
    return EhrUser(str(claims["sub"]), fhir_user if isinstance(fhir_user, str) else None)


def _signing_key(id_token: str, keys: jwt.PyJWKSet) -> jwt.PyJWK:
    kid = jwt.get_unverified_header(id_token).get("kid")
    matching = [key for key in keys.keys if kid is None or key.key_id == kid]
    if len(matching) != 1:
        raise jwt.InvalidKeyError("the server's keys hold no single key of the token's kid")
    return matching[0]


class _TimedSession(requests.Session):
    """fhirclient's requests session, with a timeout on every request (it sets none)."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", TIMEOUT)
        return super().request(*args, **kwargs)


def _fhir_server(iss: str, access_token: str) -> Any:
    # The final '/' makes fhirclient's relative paths land under the base, not beside it.
    base = f"{iss}/"
    state = {"base_uri": base, "auth_type": "oauth2", "auth": {"access_token": access_token}}
    server = FHIRServer(None, state=state)
    server.session = _TimedSession()
    return server


def _patient_resources(iss: str, access_token: str, patient_id: str) -> list[dict[str, Any]]:
    server = _fhir_server(iss, access_token)
    patient = _read(server, f"Patient/{patient_id}")
    if patient.get("resourceType") != "Patient" or patient.get("id") != patient_id:
        raise SmartError("FHIR read", f"Patient/{patient_id} is not that Patient")
    resources = [patient]
    for resource_type in SEARCHED:
        resources.extend(_search(server, resource_type, patient_id))
    return resources


def _read(server: Any, path: str) -> dict[str, Any]:
    try:
        document = server.request_json(path)
    except (FHIRUnauthorizedException, FHIRPermissionDeniedException) as error:
        status = error.response.status_code
        raise SmartError("FHIR read", f"{path} refused the access token ({status})") from None
    except FHIRNotFoundException:
        raise SmartError("FHIR read", f"{path} was not found") from None
    except (requests.RequestException, ValueError) as error:
        raise SmartError("FHIR read", f"{path} failed ({type(error).__name__})") from None
    if not isinstance(document, dict):
        raise SmartError("FHIR read", f"{path} did not answer a FHIR resource")
    return document


def _search(server: Any, resource_type: str, patient_id: str) -> Iterator[dict[str, Any]]:
    """The resources of one search, page after page; only resources of the searched type
    (a server may add an OperationOutcome or included resources to a page)."""
    path: str | None = f"{resource_type}?patient={quote(patient_id)}"
    for _page in range(MAX_PAGES):
        if path is None:
            return
        bundle = _read(server, path)
        if bundle.get("resourceType") != "Bundle":
            raise SmartError("FHIR read", f"the search {resource_type} did not answer a Bundle")
        for entry in bundle.get("entry") or ():
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict) and resource.get("resourceType") == resource_type:
                yield resource
        path = _next_page(bundle, server.base_uri, resource_type)
    raise SmartError("FHIR read", f"the search {resource_type} has more than {MAX_PAGES} pages")


def _next_page(bundle: Mapping[str, Any], base_uri: str, resource_type: str) -> str | None:
    for link in bundle.get("link") or ():
        if isinstance(link, dict) and link.get("relation") == "next":
            url = str(link.get("url", ""))
            if not url.startswith(base_uri):  # the bearer token goes to this server only
                raise SmartError("FHIR read", f"the search {resource_type} pages elsewhere")
            return url
    return None
