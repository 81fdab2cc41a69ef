"""Kassa's processes started beside it, for the benchmarks and the live-server tests: gunicorn and
PgBouncer on loopback, and the running database as a DATABASE_URL for the processes they start."""

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
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


PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
# PgBouncer will not run as root: it is then started as this user, who owns its files.
PGBOUNCER_USER = "postgres"


@dataclass(frozen=True)
class Pooler:
    """A PgBouncer started by `pgbouncer()`: where it listens, and a URL of its database."""

    port: int
    url: str
    admin_url: str


@contextmanager
def pgbouncer(
    settings: Mapping[str, Any], *, pool_mode: str = "transaction", pool_size: int = 6
) -> Iterator[Pooler]:
    """A real PgBouncer in front of the database of `settings` (a DATABASES entry), on a free
    loopback port, for the `with` block: `pool_size` server connections per database and user,
    as many clients as come, `pool_mode` as given."""
    port = free_port()
    user = settings.get("USER") or "postgres"
    with tempfile.TemporaryDirectory(prefix="kassa-pgbouncer-") as directory:
        folder = Path(directory)
        upstream = settings.get("HOST") or (settings.get("OPTIONS") or {}).get("host") or ""
        target = f"host={upstream or '127.0.0.1'} port={settings.get('PORT') or 5432}"
        (folder / "userlist.txt").write_text(f'"{user}" "{settings.get("PASSWORD") or ""}"\n')
        (folder / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = {target}\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {port}\n"
            "unix_socket_dir =\n"
            "auth_type = trust\n"
            f"auth_file = {folder / 'userlist.txt'}\n"
            f"admin_users = {user}\n"
            f"pool_mode = {pool_mode}\n"
            f"default_pool_size = {pool_size}\n"
            "max_client_conn = 2000\n"
            "ignore_startup_parameters = extra_float_digits,options\n"
            f"logfile = {folder / 'pgbouncer.log'}\n"
            f"pidfile = {folder / 'pgbouncer.pid'}\n"
        )
        command = [PGBOUNCER, str(folder / "pgbouncer.ini")]
        if os.geteuid() == 0:
            # PgBouncer will not run as root. Over a socket (the embedded server's), it runs as
            # the user who owns the socket's directory, the only one who may enter it.
            run_as = PGBOUNCER_USER
            if upstream.startswith("/"):
                run_as = pwd.getpwuid(Path(upstream).stat().st_uid).pw_name
            shutil.chown(folder, run_as)
            for path in folder.iterdir():
                shutil.chown(path, run_as)
            command[1:1] = ["-u", run_as]
        server = subprocess.Popen(  # noqa: S603 - fixed arguments; it logs to its logfile too
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            wait_for_port(port)
            yield Pooler(
                port=port,
                url=f"postgresql://{quote(user)}@127.0.0.1:{port}/{settings['NAME']}",
                admin_url=f"postgresql://{quote(user)}@127.0.0.1:{port}/pgbouncer",
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
