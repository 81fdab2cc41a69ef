"""The tenant-aware Celery app: every task runs in the schema of the store that sent it.

The app reads its settings from Django's (`CELERY_*`) and finds each app's `tasks.py`;
`config.celery` re-exports it, so `celery -A config` starts a worker or beat.
"""

import gc

from celery.signals import task_postrun, task_prerun, worker_process_init, worker_ready
from django.db import close_old_connections, connection
from tenant_schemas_celery.app import CeleryApp

from core import logging as log_context

app = CeleryApp("kassa")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


_log_tokens: dict[str, tuple] = {}


@worker_ready.connect(weak=False)
@worker_process_init.connect(weak=False)
def _startup_objects_out_of_collection(**_: object) -> None:
    """What a worker made as it started (Django, the apps, Celery) lives as long as it does:
    frozen out of the cyclic collector, which otherwise goes through all of it again at every
    full collection."""
    gc.collect()
    gc.freeze()


@task_prerun.connect(weak=False)
@task_postrun.connect(weak=False)
def _connections_as_for_requests(task: object, **_: object) -> None:
    """A worker's database connections live as a web process's do: around each task as around
    each request, one past `CONN_MAX_AGE` or broken is closed, the others kept (and checked
    before their next use, with `CONN_HEALTH_CHECKS`). Celery's own Django fixup would close
    them all instead (settings.CELERY_DB_REUSE_MAX bounds how often it still does): a worker
    then connected again for every task, a new server process each time."""
    if not getattr(task.request, "is_eager", False):
        close_old_connections()


@task_prerun.connect(weak=False)
def _log_context_for_task(task_id: str, task: object, **_: object) -> None:
    """Name the task and its store in every record it logs (after the schema switch, which
    tenant-schemas-celery's own handler, connected first, has made)."""
    _log_tokens[task_id] = (
        log_context.request_id.set(f"task-{task_id}"),
        log_context.store.set(connection.schema_name),
    )


@task_postrun.connect(weak=False)
def _log_context_done(task_id: str, **_: object) -> None:
    tokens = _log_tokens.pop(task_id, None)
    if tokens:
        log_context.request_id.reset(tokens[0])
        log_context.store.reset(tokens[1])
