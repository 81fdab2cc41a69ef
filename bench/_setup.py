"""Django setup shared by the benchmarks: real settings, throttles off, the schema migrated."""

import os
import resource
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BENCH_BROKER = "redis://127.0.0.1:6379/13"


def setup_django() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdef0123456789")
    for throttle in ("THROTTLE_SIGNUP", "THROTTLE_LOGIN", "THROTTLE_ANON", "THROTTLE_USER"):
        os.environ[throttle] = "off"
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    # As in production, tasks go to a broker (and are dropped after the run): the requests
    # measured must not run the analytics refreshes themselves, as eager Celery would.
    os.environ.setdefault("CELERY_BROKER_URL", os.environ.get("BENCH_BROKER_URL", BENCH_BROKER))

    import django  # noqa: PLC0415
    from django.core.management import call_command  # noqa: PLC0415

    django.setup()
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)


@contextmanager
def counted() -> Iterator[list[str]]:
    """The statements the default connection runs in the block (every one, logged or not)."""
    from django.db import connection  # noqa: PLC0415

    statements: list[str] = []

    def count(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        yield statements


def drop_queued_tasks() -> None:
    """Drop the tasks a benchmark queued (analytics refreshes): no worker is meant to run them."""
    from core.celery import app  # noqa: PLC0415

    with app.connection_for_write() as broker:
        broker.default_channel.queue_purge("celery")


def remove(store: object, owner: object) -> None:
    """A benchmark's store and its owner, and the tasks it queued: gone."""
    from django.db import connection  # noqa: PLC0415

    connection.set_schema_to_public()
    store.delete(force_drop=True)
    owner.delete()
    drop_queued_tasks()


def cpu_seconds(pid: int) -> float:
    """The CPU time a process has used so far (user and system)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def kassa_cpu_seconds(*others: int) -> dict[str, float]:
    """The CPU time the machine has spent so far, but this process's (the benchmark's clients)
    and the `others` processes' (a receiver standing for another machine): what gunicorn,
    PostgreSQL, Redis and the worker have used (`all`), and each of them. Unlike a rate, it does
    not move with what the rest of a shared host takes."""
    used = {"all": kassa_busy_seconds(*others)}
    for kind, seconds in kassa_processes_cpu().values():
        used[kind] = used.get(kind, 0.0) + seconds
    return used


def kassa_busy_seconds(*others: int) -> float:
    """`kassa_cpu_seconds`' `all` alone, without reading every process."""
    busy = sum(int(value) for value in Path("/proc/stat").read_text().split("\n")[0].split()[1:4])
    own = resource.getrusage(resource.RUSAGE_SELF)
    used = busy / os.sysconf("SC_CLK_TCK") - own.ru_utime - own.ru_stime
    return used - sum(cpu_seconds(pid) for pid in others)


def kassa_processes_cpu() -> dict[int, tuple[str, float]]:
    """Each running gunicorn, Celery, PostgreSQL and Redis process: its kind and the CPU time it
    has used so far. Between two readings, a process that has exited is missing from the
    second: compare by process, not by kind, or its time would count against the others."""
    found = {}
    for process in Path("/proc").iterdir():
        try:
            command = (process / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            seconds = cpu_seconds(int(process.name))
        except (ValueError, OSError):
            continue
        kind = next((k for k in ("gunicorn", "celery", "postgres", "redis") if k in command), "")
        if kind:
            found[int(process.name)] = (kind, seconds)
    return found
