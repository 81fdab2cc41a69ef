"""The tenant-aware Celery app: every task runs in the schema of the store that sent it."""

import os

from celery.signals import task_postrun, task_prerun
from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = CeleryApp("kassa")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


_log_tokens: dict[str, tuple] = {}


@task_prerun.connect(weak=False)
def _log_context_for_task(task_id: str, task: object, **_: object) -> None:
    """Name the task and its store in every record it logs (after the schema switch, which
    tenant-schemas-celery's own handler, connected first, has made)."""
    from django.db import connection  # noqa: PLC0415 - Django is set up by now

    from config import logging as log_context  # noqa: PLC0415

    _log_tokens[task_id] = (
        log_context.request_id.set(f"task-{task_id}"),
        log_context.store.set(connection.schema_name),
    )


@task_postrun.connect(weak=False)
def _log_context_done(task_id: str, **_: object) -> None:
    from config import logging as log_context  # noqa: PLC0415

    tokens = _log_tokens.pop(task_id, None)
    if tokens:
        log_context.request_id.reset(tokens[0])
        log_context.store.reset(tokens[1])
