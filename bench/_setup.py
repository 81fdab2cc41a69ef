"""Django setup shared by the benchmarks: real settings, throttles off, the schema migrated."""

import os
import sys
from pathlib import Path


def setup_django() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdef0123456789")
    for throttle in ("THROTTLE_SIGNUP", "THROTTLE_LOGIN", "THROTTLE_ANON", "THROTTLE_USER"):
        os.environ[throttle] = "off"
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")

    import django  # noqa: PLC0415
    from django.core.management import call_command  # noqa: PLC0415

    django.setup()
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
