"""`python -m tests.on_citus [pytest arguments]`: run tests on a Citus cluster with schema-based
sharding, every store schema distributed to a worker node.

DATABASE_URL names a database on the cluster's coordinator whose `pg_dist_node` lists the
workers (the cluster as docs/scaling.md deploys it). Citus does not propagate CREATE DATABASE,
so the test database (`test_<name>`) is made here on every node, with the extension, the
workers added and `citus.enable_schema_based_sharding` on, and dropped on every node afterwards.
The tests then run on it with `--reuse-db`, in one process (each xdist worker would need its
own database on every node), the tests marked `citus` among them. Without a cluster there is
nothing to run: it says so and fails.
"""

import os
import subprocess
import sys
from contextlib import suppress

import environ
import psycopg


def node_connection(node: dict, dbname: str) -> psycopg.Connection:
    return psycopg.connect(**{**node, "dbname": dbname}, autocommit=True)


def main(arguments: list[str]) -> int:
    settings = environ.Env.db_url_config(os.environ["DATABASE_URL"])
    coordinator = {
        "host": settings.get("HOST") or "127.0.0.1",
        "port": int(settings.get("PORT") or 5432),
        "user": settings.get("USER") or "postgres",
        "password": settings.get("PASSWORD") or None,
    }
    with node_connection(coordinator, settings["NAME"]) as cluster:
        if not cluster.execute("SELECT 1 FROM pg_extension WHERE extname = 'citus'").fetchone():
            sys.exit(f"{settings['NAME']} is not a Citus coordinator's database")
        workers = cluster.execute(
            "SELECT nodename, nodeport FROM pg_dist_node WHERE groupid > 0 AND isactive "
            "AND noderole = 'primary' ORDER BY nodeid"
        ).fetchall()
    if not workers:
        sys.exit("the coordinator lists no worker nodes")
    nodes = [coordinator] + [{**coordinator, "host": host, "port": port} for host, port in workers]
    test_database = f"test_{settings['NAME']}"

    def drop_everywhere() -> None:
        for node in nodes:
            with node_connection(node, "postgres") as server:
                server.execute(f'DROP DATABASE IF EXISTS "{test_database}" WITH (FORCE)')

    drop_everywhere()
    for node in nodes:
        with node_connection(node, "postgres") as server:
            server.execute(f'CREATE DATABASE "{test_database}"')
        with node_connection(node, test_database) as database:
            database.execute("CREATE EXTENSION citus")
    with node_connection(coordinator, test_database) as database:
        database.execute(
            "SELECT citus_set_coordinator_host(%s, %s)", [coordinator["host"], coordinator["port"]]
        )
        for host, port in workers:
            database.execute("SELECT citus_add_node(%s, %s)", [host, port])
        database.execute(
            f'ALTER DATABASE "{test_database}" SET citus.enable_schema_based_sharding TO on'
        )
    try:
        run = subprocess.run(  # noqa: S603 - this interpreter's pytest, the caller's arguments
            [sys.executable, "-m", "pytest", "--reuse-db", "-p", "no:xdist", *arguments],
            env={**os.environ, "KASSA_TESTS_ON_CITUS": "1"},
            check=False,
        )
    finally:
        with suppress(psycopg.Error):
            drop_everywhere()
    return run.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
