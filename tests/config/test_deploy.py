"""The production settings pass Django's deployment checks and send the security headers."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_check_deploy_is_clean_under_the_production_settings():
    environment = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    environment.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        SECRET_KEY="a-long-random-production-like-secret-0123456789-abcdefghijklmnop",
        DEBUG="0",
    )
    environment.pop("SECURE_SSL_REDIRECT", None)
    environment.pop("SECURE_HSTS_SECONDS", None)

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_answers_carry_the_security_headers(db, api_client):
    response = api_client.get("/api/health/")

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
