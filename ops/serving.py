"""Kassa's processes started beside it, for the benchmarks and the live-server tests: gunicorn on
loopback, and the running database as a DATABASE_URL for the workers and servers they start."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent


def database_url(settings: Mapping[str, Any]) -> str:
    """A URL reaching the database of `settings` (a DATABASES entry), sockets included."""
    user = quote(settings.get("USER") or "", safe="")
    password = quote(str(settings.get("PASSWORD") or ""), safe="")
    name = settings["NAME"]
    socket_directory = (settings.get("OPTIONS") or {}).get("host") or ""
    host = settings.get("HOST") or ""
    if host.startswith("/"):
        socket_directory, host = host, ""
    if socket_directory:  # the embedded PostgreSQL listens on a Unix socket
        return f"postgresql://{user}:{password}@/{name}?host={quote(socket_directory)}"
    return f"postgresql://{user}:{password}@{host}:{settings.get('PORT') or 5432}/{name}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, *, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as attempt:
            if attempt.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing answers on port {port}")


@contextmanager
def gunicorn(
    environment: Mapping[str, str], *, workers: int = 2, threads: int = 4
) -> Iterator[int]:
    """gunicorn with config/gunicorn.py on a free loopback port, for the `with` block; its port.

    `environment` is added to this process's (DATABASE_URL, SECRET_KEY, …).
    """
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "config/gunicorn.py",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "GUNICORN_ACCESS_LOG": "",
            **environment,
        },
    )
    try:
        wait_for_port(port)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)
