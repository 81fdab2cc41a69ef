"""An embedded PostgreSQL under `.data/` for local runs and tests when DATABASE_URL is unset."""

import logging
import warnings
from pathlib import Path

with warnings.catch_warnings():
    # Without XDG_RUNTIME_DIR (containers, CI) platformdirs falls back to /tmp and says so.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    try:
        import pgserver
    except ImportError:  # the `local` extra is not installed: DATABASE_URL must be set
        pgserver = None


def embedded_database_url(data_dir: Path) -> str:
    """Start (or reuse) the embedded server in `data_dir` and return a URL for its `kassa` database.

    The server outlives the process that started it, so `runserver`'s reloader, a Celery worker and
    the tests all share one; `make stop-db` stops it.
    """
    if pgserver is None:
        raise RuntimeError(
            "DATABASE_URL is unset and the embedded PostgreSQL is not installed: "
            "run `pip install -e '.[local]'` or set DATABASE_URL=postgres://..."
        )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        # pgserver logs its own housekeeping at INFO, some of it while the interpreter exits.
        logging.getLogger("pgserver").setLevel(logging.WARNING)
        data_dir.mkdir(parents=True, exist_ok=True)
        server = pgserver.get_server(data_dir, cleanup_mode=None)

    exists = server.psql("SELECT 1 FROM pg_database WHERE datname = 'kassa';")
    if "(1 row)" not in exists:
        server.psql("CREATE DATABASE kassa;")
    return server.get_uri("kassa")
