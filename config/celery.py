"""The tenant-aware Celery app: every task runs in the schema of the store that sent it."""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = CeleryApp("kassa")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
