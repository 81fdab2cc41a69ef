"""Signing secrets: made here, shown once, kept encrypted.

A Standard Webhooks signature is an HMAC with the secret itself, so the secret is kept, not a
hash of it: encrypted with Fernet (the `cryptography` package) under a key derived from
`WEBHOOK_SECRET_KEY` (by default `SECRET_KEY`). A database copy without the settings' key holds
no usable secret.
"""

import base64
import hashlib
import secrets

from cryptography.fernet import Fernet
from django.conf import settings

PREFIX = "whsec_"
SECRET_BYTES = 24


def _fernet() -> Fernet:
    digest = hashlib.sha256(f"kassa-webhook-secrets:{settings.WEBHOOK_SECRET_KEY}".encode())
    return Fernet(base64.urlsafe_b64encode(digest.digest()))


def secret_new() -> str:
    """A new signing secret, as the specification writes it: `whsec_` and base64 bytes."""
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def secret_decrypt(stored: str) -> str:
    return _fernet().decrypt(stored.encode()).decode()
