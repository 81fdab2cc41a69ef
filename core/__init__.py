"""Kassa's kernel, below every app and importing none: money, errors, fields, serializers,
pagination, throttles, derived-data transactions and hooks, logging, JWT authentication, the
OpenAPI conventions and the Celery app object."""
