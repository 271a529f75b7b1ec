"""A test EHR for SMART on FHIR launches: a real OAuth 2.0 / OpenID Connect authorisation server
(authlib's ``AuthorizationServer`` with the authorization code grant, PKCE and OpenID id_tokens
signed with a test RSA key) and a small FHIR R4 server that checks the bearer token, each a
Starlette app that ``serve_in_thread`` runs with uvicorn on a loopback port.

``Ehr`` holds what both servers share: the client registration, the launches the EHR started
(``launch_for(patient_id)`` gives the opaque ``launch`` of one), the EHR user who is logged in
there (``user``), the codes and access tokens issued, and the patients' resources (``publish``).
Like a real EHR, the authorisation server asks no one anything: its user is already logged in.
It insists on PKCE with S256, an ``aud`` equal to the FHIR base and a launch it issued; its
token answer carries the launch context (``patient``) and an id_token (with ``fhirUser``).
``forge_id_tokens`` makes it sign id_tokens with a key its JWKS does not hold.

The FHIR server answers ``.well-known/smart-configuration``, ``Patient/<id>`` and searches by
``patient`` of any type, a few resources a page with ``next`` links, and only with a live access
token whose launch patient is the one asked for (401 without one, 403 for another patient).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlencode

from authlib.oauth2 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode, UserInfo
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.conftest_server import serve_in_thread

__all__ = ["Ehr", "EhrUser", "serve_ehr"]

KEY_ID: Final = "test-ehr-key"
PAGE_SIZE: Final = 3
CODE_SECONDS: Final = 60
SCOPES: Final = ("launch", "openid", "fhirUser", "patient/*.rs")


@dataclass(frozen=True)
class EhrUser:
    """Who is logged in at the EHR: the id_token's ``sub`` and ``fhirUser``."""

    sub: str
    fhir_user: str

    def get_user_id(self) -> str:
        return self.sub


@dataclass
class _Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uri: str = ""

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in (scope or "").split() if s in SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri == self.redirect_uri

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "client_secret_basic"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class _Code:
    """An authorization code as the server keeps it (authlib's AuthorizationCodeMixin)."""

    code: str
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str
    code_challenge: str
    code_challenge_method: str
    user: EhrUser
    patient: str
    expires: float
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


@dataclass
class Ehr:
    """The state both servers share; tests change ``user``, ``forge_id_tokens`` and the data."""

    client: _Client
    user: EhrUser = EhrUser("dr-ada", "Practitioner/ada")
    forge_id_tokens: bool = False
    fhir_base: str = ""
    auth_base: str = ""
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": KEY_ID}))
    # Same kid, another key: a signature that the published JWKS does not verify.
    forged_key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": KEY_ID}))
    launches: dict[str, str] = field(default_factory=dict)  # launch -> patient id
    codes: dict[str, _Code] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # access token -> patient id
    nonces: set[str] = field(default_factory=set)
    patients: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    token_requests: list[Mapping[str, str]] = field(default_factory=list)

    def launch_for(self, patient_id: str) -> str:
        """A new opaque launch of the EHR for this patient (its launch context)."""
        launch = secrets.token_urlsafe(12)
        self.launches[launch] = patient_id
        return launch

    def publish(self, resources: list[dict[str, Any]]) -> str:
        """Serve these resources of one patient (the Patient first); its FHIR id."""
        patient = resources[0]
        assert patient["resourceType"] == "Patient"
        self.patients[patient["id"]] = resources
        return str(patient["id"])

    def launch_url(self, app_url: str, patient_id: str) -> str:
        """What the EHR opens to launch the app for this patient."""
        query = urlencode({"iss": self.fhir_base, "launch": self.launch_for(patient_id)})
        return f"{app_url}/smart/launch?{query}"


# --- the authorisation server ----------------------------------------------------------------


class _StarletteRequest(OAuth2Request):
    def __init__(self, request: Request, data: dict[str, str]) -> None:
        super().__init__(request.method, str(request.url), headers=request.headers)
        self.payload = BasicOAuth2Payload(data)
        self._data = data

    @property
    def args(self) -> dict[str, str]:
        return self._data

    @property
    def form(self) -> dict[str, str]:
        return self._data


class _CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: Final = ["client_secret_basic"]

    @property
    def ehr(self) -> Ehr:
        return self.server.ehr

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        self.ehr.nonces.add(data["nonce"])
        self.ehr.codes[code] = _Code(
            code=code,
            client_id=request.client.client_id,
            redirect_uri=data["redirect_uri"],
            scope=request.scope,
            nonce=data["nonce"],
            code_challenge=data["code_challenge"],
            code_challenge_method=data["code_challenge_method"],
            user=request.user,
            patient=self.ehr.launches.pop(data["launch"]),
            expires=time.time() + CODE_SECONDS,
        )

    def query_authorization_code(self, code: str, client: _Client) -> _Code | None:
        found = self.ehr.codes.get(code)
        if found is None or found.client_id != client.client_id or found.expires < time.time():
            return None
        return found

    def delete_authorization_code(self, authorization_code: _Code) -> None:
        self.ehr.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: _Code) -> EhrUser:
        return authorization_code.user


class _OpenId(OpenIDCode):
    def __init__(self, ehr: Ehr) -> None:
        super().__init__(require_nonce=True)
        self.ehr = ehr

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return nonce in self.ehr.nonces  # a nonce is kept once a code is issued with it

    def resolve_client_private_key(self, client: _Client) -> RSAKey:
        return self.ehr.forged_key if self.ehr.forge_id_tokens else self.ehr.key

    def get_client_algorithm(self, client: _Client) -> str:
        return "RS256"

    def get_encode_header(self, client: _Client) -> dict[str, str]:
        return {"alg": "RS256", "kid": KEY_ID}

    def get_client_claims(self, client: _Client) -> dict[str, Any]:
        return {"iss": self.ehr.auth_base, "aud": [client.client_id]}

    def generate_user_info(self, user: EhrUser, scope: str) -> UserInfo:
        return UserInfo(sub=user.sub, fhirUser=f"{self.ehr.fhir_base}/{user.fhir_user}")


class _Server(AuthorizationServer):
    def __init__(self, ehr: Ehr) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.ehr = ehr
        self.register_token_generator("default", self._bearer)
        self.register_grant(_CodeGrant, [CodeChallenge(required=True), _OpenId(ehr), self._context])

    def query_client(self, client_id: str) -> _Client | None:
        return self.ehr.client if client_id == self.ehr.client.client_id else None

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        self.ehr.tokens[token["access_token"]] = request.authorization_code.patient

    def _bearer(self, scope: str, **_: Any) -> dict[str, Any]:
        return {
            "token_type": "Bearer",
            "access_token": secrets.token_urlsafe(32),
            "expires_in": 3600,
            "scope": scope,
        }

    @staticmethod
    def _context(grant: grants.AuthorizationCodeGrant) -> None:
        """The SMART launch context in the token answer."""

        def add_patient(grant: grants.AuthorizationCodeGrant, response: Any) -> None:
            response[1]["patient"] = grant.request.authorization_code.patient

        grant.register_hook("after_create_token_response", add_patient)

    def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> Response:
        if isinstance(body, dict):
            return JSONResponse(body, status_code=status, headers=dict(headers))
        return Response(body, status_code=status, headers=dict(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None


def _refused(description: str) -> Response:
    return JSONResponse({"error": "invalid_request", "error_description": description}, 400)


def _auth_app(ehr: Ehr) -> Starlette:
    server = _Server(ehr)

    async def authorize(request: Request) -> Response:
        data = dict(request.query_params)
        if data.get("aud", "").rstrip("/") != ehr.fhir_base:
            return _refused("aud is not this EHR's FHIR server")
        if data.get("launch") not in ehr.launches:
            return _refused("unknown launch")
        if data.get("code_challenge_method") != "S256" or not data.get("code_challenge"):
            return _refused("PKCE with S256 is required")
        oauth = _StarletteRequest(request, data)
        try:
            grant = server.get_consent_grant(oauth, end_user=ehr.user)
        except InvalidRequestError as error:
            return _refused(str(error.description))
        return server.create_authorization_response(oauth, grant_user=ehr.user, grant=grant)

    async def token(request: Request) -> Response:
        data = {key: str(value) for key, value in (await request.form()).items()}
        ehr.token_requests.append(data)
        return server.create_token_response(_StarletteRequest(request, data))

    async def jwks(_request: Request) -> Response:
        return JSONResponse({"keys": [ehr.key.as_dict(private=False)]})

    return Starlette(
        routes=[
            Route("/authorize", authorize),
            Route("/token", token, methods=["POST"]),
            Route("/jwks", jwks),
        ]
    )


# --- the FHIR server -------------------------------------------------------------------------


def _fhir_app(ehr: Ehr) -> Starlette:
    async def configuration(_request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": ehr.auth_base,
                "jwks_uri": f"{ehr.auth_base}/jwks",
                "authorization_endpoint": f"{ehr.auth_base}/authorize",
                "token_endpoint": f"{ehr.auth_base}/token",
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                "scopes_supported": list(SCOPES),
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"],
                "capabilities": [
                    "launch-ehr",
                    "client-confidential-symmetric",
                    "context-ehr-patient",
                    "sso-openid-connect",
                    "permission-patient",
                    "permission-v2",
                ],
            }
        )

    def patient_of(request: Request) -> str | Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        patient = ehr.tokens.get(token) if scheme.lower() == "bearer" else None
        if patient is None:
            return _outcome(401, "login", "no valid bearer token")
        return patient

    async def read(request: Request) -> Response:
        patient = patient_of(request)
        if isinstance(patient, Response):
            return patient
        if request.path_params["id"] != patient:
            return _outcome(403, "forbidden", "the token is for another patient")
        return JSONResponse(ehr.patients[patient][0], media_type="application/fhir+json")

    async def search(request: Request) -> Response:
        patient = patient_of(request)
        if isinstance(patient, Response):
            return patient
        if request.query_params.get("patient") != patient:
            return _outcome(403, "forbidden", "the token is for another patient")
        kind = request.path_params["type"]
        found = [r for r in ehr.patients.get(patient, []) if r["resourceType"] == kind]
        page = int(request.query_params.get("_page", "0"))
        return JSONResponse(_bundle(ehr, kind, patient, found, page))

    return Starlette(
        routes=[
            Route("/fhir/.well-known/smart-configuration", configuration),
            Route("/fhir/Patient/{id}", read),
            Route("/fhir/{type}", search),
        ]
    )


def _bundle(
    ehr: Ehr, kind: str, patient: str, found: list[dict[str, Any]], page: int
) -> dict[str, Any]:
    """One page of a searchset, with a ``next`` link while more remain."""
    start = page * PAGE_SIZE
    entries = [
        {"fullUrl": f"{ehr.fhir_base}/{kind}/{r['id']}", "resource": r, "search": {"mode": "match"}}
        for r in found[start : start + PAGE_SIZE]
    ]
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(found),
        "entry": entries,
    }
    if start + PAGE_SIZE < len(found):
        following = urlencode({"patient": patient, "_page": page + 1})
        bundle["link"] = [{"relation": "next", "url": f"{ehr.fhir_base}/{kind}?{following}"}]
    return bundle


def _outcome(status: int, code: str, text: str) -> Response:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": text}],
    }
    return JSONResponse(body, status_code=status, media_type="application/fhir+json")


def serve_ehr(client_id: str, client_secret: str) -> Iterator[Ehr]:
    """A generator: the test EHR's two servers started, yielded, then stopped."""
    ehr = Ehr(_Client(client_id, client_secret))
    for auth_url in serve_in_thread(_auth_app(ehr)):
        ehr.auth_base = auth_url
        for fhir_url in serve_in_thread(_fhir_app(ehr)):
            ehr.fhir_base = f"{fhir_url}/fhir"
            yield ehr
