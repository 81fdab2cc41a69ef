"""The backend's errors and pooling modes, importable without loading the backend itself."""

import django.db.utils
from django.core.exceptions import ImproperlyConfigured

SESSION = "session"
TRANSACTION = "transaction"


class SchemaMissing(django.db.utils.ProgrammingError):
    """The active store's schema does not exist: nothing may run in its place."""

    def __init__(self, schema_name: str) -> None:
        super().__init__(f"The schema {schema_name!r} does not exist.")
        self.schema_name = schema_name


class PoolModeMismatch(ImproperlyConfigured):
    """The pooling mode named in the settings is not what the database's connections show."""
