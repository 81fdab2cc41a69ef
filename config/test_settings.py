"""Test settings: the real ones, with a test-only secret, fast hashing and no throttles."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
for throttle in ("THROTTLE_SIGNUP", "THROTTLE_LOGIN", "THROTTLE_ANON", "THROTTLE_USER"):
    # Tests that exercise a throttle turn it on for themselves.
    os.environ.setdefault(throttle, "off")

from config.settings import *  # noqa: E402, F403

# No spare schemas made after each committed signup; the tests of the pool set their own.
STORE_SPARE_SCHEMAS = 0

# Hashing strength is not under test; the hashers' own tests cover them.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
