"""The backend (`ENGINE = "core.database"`): django-tenants' own, with a checked search path.

django-tenants sets `search_path = <store schema>, public` and trusts the schema to exist. If it
does not (dropped, renamed, never made), every unqualified name resolves in `public`, where a
pre-tenancy deployment keeps its own `sales_sale`: a store would read and write another
system's rows with no error. Here the path is set by a statement that sets it only when the
schema exists, in the same round trip, and `SchemaMissing` is raised otherwise, before any
query of the request or task runs.
"""

import re

import django.db.utils
from django_tenants.postgresql_backend import base
from django_tenants.utils import get_limit_set_calls, get_public_schema_name, quote_schema_name

# A store's path, set only when its schema is in pg_namespace: one row when set, none when not.
CHECKED_SET = (
    "SELECT set_config('search_path', %s, false) FROM pg_catalog.pg_namespace WHERE nspname = %s"
)


PLAIN_IDENTIFIER = re.compile(r"\A[a-z_][a-z0-9_]*\Z")


def _path_element(schema_name: str) -> str:
    """As PostgreSQL shows a path it was SET: plain names bare, others quoted."""
    return schema_name if PLAIN_IDENTIFIER.match(schema_name) else quote_schema_name(schema_name)


class SchemaMissing(django.db.utils.ProgrammingError):
    """The active store's schema does not exist: nothing may run in its place."""

    def __init__(self, schema_name: str) -> None:
        super().__init__(f"The schema {schema_name!r} does not exist.")
        self.schema_name = schema_name


class DatabaseWrapper(base.DatabaseWrapper):
    def _handle_search_path(self, cursor: object = None) -> None:
        if self._setting_search_path or (get_limit_set_calls() and self.search_path_set_schemas):
            return
        if not self.schema_name or self.schema_name == get_public_schema_name():
            super()._handle_search_path(cursor)
            return
        search_paths = self._get_cursor_search_paths()
        path = ", ".join(_path_element(name) for name in search_paths)
        self._setting_search_path = True
        cursor_for_search_path = self.connection.cursor() if cursor is None else cursor
        try:
            cursor_for_search_path.execute(CHECKED_SET, [path, self.schema_name])
            is_set = cursor_for_search_path.fetchone() is not None
        except (django.db.utils.DatabaseError, base.psycopg.InternalError):
            # As django-tenants: in a transaction that has failed, the next statement fails too.
            self.search_path_set_schemas = None
        else:
            if not is_set:
                self.search_path_set_schemas = None
                raise SchemaMissing(self.schema_name)
            self.search_path_set_schemas = search_paths
        finally:
            self._setting_search_path = False
            if cursor is None:
                cursor_for_search_path.close()
