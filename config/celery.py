"""`celery -A config`: Kassa's Celery app (core.celery), with Django's settings module named."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from core.celery import app  # the settings module is named first

__all__ = ("app",)
