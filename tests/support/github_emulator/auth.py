"""GitHub App authentication: RS256 JWTs from the App, installation tokens, Basic auth for git."""

from __future__ import annotations

import base64
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .state import Installation, Store, Token, utcnow

# GitHub refuses App JWTs whose lifetime exceeds ten minutes.
MAX_JWT_LIFETIME = 600
# GitHub tolerates some clock drift on ``iat``; PyGithub backdates it by 60 s by default.
CLOCK_LEEWAY = 60


class AuthError(Exception):
    """A credential GitHub would refuse; ``message`` is what GitHub says."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def generate_key_pair() -> tuple[bytes, bytes]:
    """A fresh RSA key pair as (private PEM, public PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def public_key_of(private_pem: bytes) -> bytes:
    key = serialization.load_pem_private_key(private_pem, password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def verify_app_jwt(store: Store, token: str, *, now: datetime | None = None) -> None:
    """Accept a JWT the App signed, as GitHub does, or raise :class:`AuthError`."""
    app = store.app
    if app is None:
        raise AuthError("A JSON web token could not be decoded")
    moment = (now or utcnow()).timestamp()
    try:
        claims = jwt.decode(
            token,
            app.public_key_pem,
            algorithms=["RS256"],
            options={"require": ["iat", "exp", "iss"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError as exc:
        raise AuthError("A JSON web token could not be decoded") from exc
    if str(claims["iss"]) != str(app.id):
        raise AuthError(f"Integration not found: 'iss' claim is {claims['iss']!r}")
    iat, exp = float(claims["iat"]), float(claims["exp"])
    if iat > moment + CLOCK_LEEWAY:
        raise AuthError(
            "'Issued at' claim ('iat') must be an Integer representing a time in the past."
        )
    if exp - iat > MAX_JWT_LIFETIME:
        raise AuthError(
            "'Expiration time' claim ('exp') is too far in the future. "
            "It must be no more than 10 minutes after the 'Issued at' claim ('iat')."
        )
    if exp <= moment:
        raise AuthError(
            "'Expiration time' claim ('exp') must be a numeric value representing "
            "the future time at which the assertion expires."
        )


def issue_token(
    store: Store, installation: Installation, lifetime: float, *, workflow: bool = False
) -> Token:
    alphabet = string.ascii_letters + string.digits
    value = "ghs_" + "".join(secrets.choice(alphabet) for _ in range(36))
    token = Token(
        value=value,
        installation_id=installation.id,
        expires_at=utcnow() + timedelta(seconds=lifetime),
        workflow=workflow,
    )
    with store.lock:
        store.tokens[value] = token
    return token


@dataclass(frozen=True)
class Caller:
    """Who a request comes from: the App itself (JWT), an installation, or nobody."""

    kind: str  # "app" | "installation" | "anonymous"
    installation_id: int | None = None
    workflow: bool = False  # a workflow's GITHUB_TOKEN


def check_token(store: Store, value: str, *, now: datetime | None = None) -> Token:
    with store.lock:
        token = store.tokens.get(value)
    # GitHub answers the same for unknown, revoked and expired tokens.
    if token is None or token.revoked or token.expires_at <= (now or utcnow()):
        raise AuthError("Bad credentials")
    return token


def caller_from_header(store: Store, header: str | None) -> Caller:
    """Who ``Authorization`` names; raises :class:`AuthError` for a bad credential."""
    if not header:
        return Caller("anonymous")
    scheme, _, credential = header.partition(" ")
    scheme = scheme.lower()
    credential = credential.strip()
    if scheme == "bearer" and credential.count(".") == 2:
        verify_app_jwt(store, credential)
        return Caller("app")
    if scheme in ("token", "bearer"):
        token = check_token(store, credential)
        return Caller("installation", token.installation_id, token.workflow)
    if scheme == "basic":
        return caller_from_basic(store, credential)
    raise AuthError("Bad credentials")


def caller_from_basic(store: Store, credential: str) -> Caller:
    """``x-access-token:<token>`` as git sends it (GitHub ignores the user name)."""
    try:
        decoded = base64.b64decode(credential, validate=True).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise AuthError("Bad credentials") from exc
    _, _, password = decoded.partition(":")
    token = check_token(store, password)
    return Caller("installation", token.installation_id, token.workflow)
