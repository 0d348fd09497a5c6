"""OpenID Connect, the client side: discovery, the authorization request, the code exchange and
the ID token's checks. No database and no session here (``oidc_service`` does those).

One provider serves the instance (``AMANA_OIDC_ISSUER``, ``AMANA_OIDC_CLIENT_ID``,
``AMANA_OIDC_CLIENT_SECRET``, from the environment only); each organisation turns it on for its
accounts. The authorization code flow with PKCE (S256), ``state`` and ``nonce``; the client
authenticates at the token endpoint with its secret (HTTP Basic). The ID token is checked here
and nowhere else:

- its signature, with a key from the provider's JWKS (fetched from the ``jwks_uri`` of the
  discovery document and cached; fetched again at most once a minute when a token names a key
  the cache lacks, so keys can rotate); only RS256 and ES256 are accepted, never ``none`` and
  never an HMAC (a public key would otherwise serve as an HMAC secret);
- ``iss`` equal to the configured issuer (the discovery document must name the same issuer);
  ``aud`` containing the client id, and ``azp`` equal to it when there are several audiences or
  when ``azp`` is present; ``exp`` not past and ``iat`` not in the future nor older than a
  sign-in may last, each with ``LEEWAY`` seconds; ``nbf`` respected when present;
- ``nonce`` present and equal to the one sent (the caller compares digests, ``nonce_ok``).

Authlib's OpenID claims class (``authlib.oidc.core.CodeIDToken``, on joserfc, the JOSE library
Authlib now builds on) runs the standard checks; the checks above are also written out, so each
refusal has its own reason code for the audit trail. HTTP goes through the standard library
(``urllib``), with a timeout and a size cap: three plain requests do not need a client library,
and Authlib's HTTP clients would bring ``requests`` or ``httpx`` as new dependencies.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, cast

from authlib.oidc.core import CodeIDToken
from flask import current_app
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

from app.clock import utcnow

ALGORITHMS = ("RS256", "ES256")
LEEWAY = 60  # seconds of clock difference accepted on exp, iat and nbf
MAX_TOKEN_AGE = 600  # an ID token issued longer ago than a sign-in may last is refused
MAX_BODY = 256 * 1024
CACHE_SECONDS = 3600
REFETCH_SECONDS = 60
SCOPE = "openid"


class OidcRefused(Exception):
    """Sign-in refused; ``reason`` is the audit code (never shown, never a claim's value)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Provider:
    """What the discovery document says (endpoints checked against the issuer's scheme)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


# Per process: the discovery document (by issuer) and the key set (by address), each with the
# time it was fetched.
_cache: dict[str, tuple[float, Any]] = {}


def configured() -> bool:
    """Whether the instance has an OpenID provider (``AMANA_OIDC_ISSUER`` and its client)."""
    cfg = current_app.config
    return bool(cfg.get("OIDC_ISSUER") and cfg.get("OIDC_CLIENT_ID")
                and cfg.get("OIDC_CLIENT_SECRET"))


def issuer() -> str:
    """The configured issuer, exactly as the ID tokens must name it."""
    return str(current_app.config["OIDC_ISSUER"])


def forget() -> None:
    """Drop the cached discovery document and keys (tests; a changed provider)."""
    _cache.clear()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """The provider's endpoints answer where discovery says: a redirect (perhaps to another
    scheme or host) is an error, not followed."""

    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _http(url: str, data: dict[str, str] | None = None) -> dict[str, Any]:
    """GET (or POST a form to) ``url`` and return its JSON object; anything else refuses."""
    cfg = current_app.config
    headers = {"Accept": "application/json"}
    body = None
    if data is not None:
        body = urllib.parse.urlencode(data).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        pair = (urllib.parse.quote(str(cfg["OIDC_CLIENT_ID"]), safe="") + ":"
                + urllib.parse.quote(str(cfg["OIDC_CLIENT_SECRET"]), safe=""))
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    request = urllib.request.Request(url, data=body, headers=headers,  # noqa: S310 - checked scheme
                                     method="POST" if body is not None else "GET")
    try:
        with _OPENER.open(request, timeout=cfg["OIDC_TIMEOUT"]) as resp:
            raw = resp.read(MAX_BODY + 1)
    except urllib.error.HTTPError as exc:
        raise OidcRefused("token_refused" if data is not None else "provider_unreachable") \
            from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise OidcRefused("provider_unreachable") from exc
    if len(raw) > MAX_BODY:
        raise OidcRefused("provider_answer_invalid")
    try:
        found = json.loads(raw)
    except ValueError as exc:
        raise OidcRefused("provider_answer_invalid") from exc
    if not isinstance(found, dict):
        raise OidcRefused("provider_answer_invalid")
    return found


def _same_scheme(url: object, base: str) -> bool:
    """An endpoint on the issuer's scheme (https in production, where the issuer must be)."""
    if not isinstance(url, str) or len(url) > 2000:
        return False
    parts = urllib.parse.urlsplit(url)
    return parts.scheme == urllib.parse.urlsplit(base).scheme and bool(parts.netloc)


def discover() -> Provider:
    """The provider's endpoints, from ``<issuer>/.well-known/openid-configuration`` (cached)."""
    held = _cache.get(f"provider {issuer()}")
    if held is not None and time.monotonic() - held[0] < CACHE_SECONDS:
        found: Provider = held[1]
        return found
    expected = issuer()
    doc = _http(expected.rstrip("/") + "/.well-known/openid-configuration")
    if doc.get("issuer") != expected:
        raise OidcRefused("bad_discovery")
    names = ("authorization_endpoint", "token_endpoint", "jwks_uri")
    if not all(_same_scheme(doc.get(n), expected) for n in names):
        raise OidcRefused("bad_discovery")
    provider = Provider(expected, *(str(doc[n]) for n in names))
    _cache[f"provider {expected}"] = (time.monotonic(), provider)
    return provider


def _keys(provider: Provider, *, again: bool = False) -> KeySet:
    held = _cache.get(f"jwks {provider.jwks_uri}")
    fresh = held is not None and time.monotonic() - held[0] < CACHE_SECONDS
    if held is not None and fresh and not (again and time.monotonic() - held[0] > REFETCH_SECONDS):
        keys: KeySet = held[1]
        return keys
    doc = _http(provider.jwks_uri)
    try:
        keys = KeySet.import_key_set(cast(Any, doc))  # checked by joserfc as it imports
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise OidcRefused("provider_answer_invalid") from exc
    _cache[f"jwks {provider.jwks_uri}"] = (time.monotonic(), keys)
    return keys


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of ``verifier`` (RFC 7636)."""
    return _b64(hashlib.sha256(verifier.encode()).digest())


def authorization_url(provider: Provider, *, state: str, nonce: str, verifier: str,
                      redirect_uri: str) -> str:
    """Where the browser goes to sign in at the provider."""
    query = urllib.parse.urlencode({
        "response_type": "code", "client_id": current_app.config["OIDC_CLIENT_ID"],
        "redirect_uri": redirect_uri, "scope": SCOPE, "state": state, "nonce": nonce,
        "code_challenge": pkce_challenge(verifier), "code_challenge_method": "S256",
    })
    sep = "&" if "?" in provider.authorization_endpoint else "?"
    return f"{provider.authorization_endpoint}{sep}{query}"


def exchange(provider: Provider, *, code: str, verifier: str, redirect_uri: str) -> str:
    """Trade the authorization code for tokens; returns the ID token (not yet checked)."""
    answer = _http(provider.token_endpoint, {
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    })
    token = answer.get("id_token")
    if not isinstance(token, str) or not token or len(token) > 16 * 1024:
        raise OidcRefused("no_id_token")
    return token


def _header(token: str) -> dict[str, Any]:
    try:
        head = token.split(".")[0]
        found = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, IndexError) as exc:
        raise OidcRefused("malformed_token") from exc
    if not isinstance(found, dict) or token.count(".") != 2:
        raise OidcRefused("malformed_token")
    return found


def _decode(provider: Provider, token: str) -> jwt.Token:
    if _header(token).get("alg") not in ALGORITHMS:
        raise OidcRefused("bad_algorithm")
    for again in (False, True):
        keys = _keys(provider, again=again)
        try:
            return jwt.decode(token, keys, algorithms=list(ALGORITHMS))
        except BadSignatureError as exc:
            raise OidcRefused("bad_signature") from exc
        except JoseError as exc:
            if again:  # a key the provider does not publish, even after fetching again
                raise OidcRefused("bad_signature") from exc
    raise OidcRefused("bad_signature")  # pragma: no cover - the loop returns or raises


CLAIM_REASONS = {"iss": "bad_issuer", "aud": "bad_audience", "azp": "bad_audience",
                 "nonce": "bad_nonce", "exp": "expired_token", "iat": "bad_issued_at",
                 "nbf": "not_yet_valid"}


def _check_claims(claims: dict[str, Any], header: dict[str, Any]) -> None:
    """The checks written out, each with its own reason."""
    now = int(utcnow().timestamp())
    client_id = current_app.config["OIDC_CLIENT_ID"]
    if claims.get("iss") != issuer():
        raise OidcRefused("bad_issuer")
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if client_id not in audiences:
        raise OidcRefused("bad_audience")
    if (len(audiences) > 1 or "azp" in claims) and claims.get("azp") != client_id:
        raise OidcRefused("bad_audience")
    for name in ("exp", "iat"):
        if not isinstance(claims.get(name), int | float) or isinstance(claims.get(name), bool):
            raise OidcRefused("missing_claim")
    if claims["exp"] < now - LEEWAY:
        raise OidcRefused("expired_token")
    if claims["iat"] > now + LEEWAY or claims["iat"] < now - MAX_TOKEN_AGE - LEEWAY:
        raise OidcRefused("bad_issued_at")
    nbf = claims.get("nbf")
    if nbf is not None and (not isinstance(nbf, int | float) or nbf > now + LEEWAY):
        raise OidcRefused("not_yet_valid")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > 255:
        raise OidcRefused("missing_claim")
    if not isinstance(claims.get("nonce"), str) or not claims["nonce"]:
        raise OidcRefused("missing_nonce")
    # Authlib's OpenID claims: the same again, and azp, amr and auth_time's forms.
    checked = CodeIDToken(claims, header, options={
        "iss": {"essential": True, "value": issuer()},
        "aud": {"essential": True, "value": client_id},
        "sub": {"essential": True}, "exp": {"essential": True}, "iat": {"essential": True},
    }, params={"nonce": claims["nonce"], "client_id": client_id})
    try:
        checked.validate(now=now, leeway=LEEWAY)
    except ExpiredTokenError as exc:
        raise OidcRefused("expired_token") from exc
    except MissingClaimError as exc:
        raise OidcRefused("missing_nonce" if exc.claim == "nonce" else "missing_claim") from exc
    except ClaimError as exc:
        raise OidcRefused(CLAIM_REASONS.get(exc.claim, "bad_claim")) from exc
    except JoseError as exc:
        raise OidcRefused("bad_claim") from exc


def validate(provider: Provider, token: str) -> dict[str, Any]:
    """The claims of a valid ID token from this provider for this client (the nonce is
    compared by the caller with ``nonce_ok``); ``OidcRefused`` otherwise."""
    decoded = _decode(provider, token)
    claims = dict(decoded.claims)
    _check_claims(claims, dict(decoded.header))
    return claims


def mfa_claimed(claims: dict[str, Any], amr_values: str, acr_value: str) -> bool:
    """Whether the token says the provider checked a second factor: an ``amr`` value among
    ``amr_values`` (space-separated), or ``acr`` equal to ``acr_value`` when one is set."""
    amr = claims.get("amr")
    accepted = set(amr_values.split())
    if isinstance(amr, list) and any(isinstance(v, str) and v in accepted for v in amr):
        return True
    return bool(acr_value) and claims.get("acr") == acr_value
