"""`python -m tests.behind_pgbouncer [pytest arguments]`: run tests with every connection of
theirs through a real PgBouncer in transaction mode, as a pooled deployment runs.

The PgBouncer (Debian's `pgbouncer`) is started in front of DATABASE_URL's server with few
server connections, and the tests run with `DATABASE_POOL_MODE=transaction`. pytest-django's
test databases are made through it and dropped directly afterwards (a pooler keeps its server
connections open, so a DROP DATABASE through it would be refused).
"""

import os
import subprocess
import sys

import environ
import psycopg

from ops.serving import pgbouncer

POOL_SIZE = 12  # per database and user: the concurrency tests hold several at once


def main(arguments: list[str]) -> int:
    settings = environ.Env.db_url_config(os.environ["DATABASE_URL"])
    with pgbouncer(settings, pool_mode="transaction", pool_size=POOL_SIZE) as pooler:
        run = subprocess.run(  # noqa: S603 - this interpreter's pytest, the caller's arguments
            [sys.executable, "-m", "pytest", "--create-db", "--reuse-db", *arguments],
            env={
                **os.environ,
                "DATABASE_URL": pooler.url.rsplit("/", 1)[0] + "/" + settings["NAME"],
                "DATABASE_POOL_MODE": "transaction",
            },
            check=False,
        )
    upstream = {
        "host": settings.get("HOST") or "127.0.0.1",
        "port": settings.get("PORT") or 5432,
        "user": settings.get("USER") or "postgres",
        "password": settings.get("PASSWORD") or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**upstream) as server:
        names = server.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", [f"test_{settings['NAME']}%"]
        ).fetchall()
        for (name,) in names:
            server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return run.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
