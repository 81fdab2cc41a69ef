"""The backend (`ENGINE = "core.database"`): django-tenants' own, with a checked search path that
is safe behind a transaction pooler.

**The schema must exist.** django-tenants sets `search_path = <store schema>, public` and trusts
the schema to exist. If it does not (dropped, renamed, never made), every unqualified name
resolves in `public`, where a pre-tenancy deployment keeps its own `sales_sale`: a store would
read and write another system's rows with no error. Here the path is set by a statement that sets
it only when the schema exists, in the same round trip, and `SchemaMissing` is raised otherwise,
before any query of the request or task runs.

**The pooling mode decides where the path lives** (`DATABASES[…]["POOL_MODE"]`):

- `session` (a direct connection, or PgBouncer in session mode): the path is set once per
  connection and store, in autocommit (django-tenants' way, one `SET` per request).
- `transaction` (PgBouncer in transaction mode, where each transaction may run on another
  server connection): the path is set *inside* every transaction, as its first statement and
  local to it (`set_config(…, true)`), so the pooler can never hand a query to a connection in
  another store's schema. A statement on a store's tables outside any transaction is run in a
  transaction of its own with the path, never bare. A `SET LOCAL` at a transaction's top is not
  undone by a savepoint's rollback.

A process started as `session` behind a pooler that shares server connections between clients
would leak between stores; it refuses to start instead (`PoolModeMismatch`).
"""

import logging
import re
import secrets
from typing import Any

import django.db.utils
import psycopg
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.postgresql.operations import DatabaseOperations as PostgresOperations
from django_tenants.postgresql_backend import base
from django_tenants.utils import get_limit_set_calls, get_public_schema_name, quote_schema_name

from core.database.errors import SESSION, TRANSACTION, PoolModeMismatch, SchemaMissing

logger = logging.getLogger(__name__)

POOL_MODES = (SESSION, TRANSACTION)

# A store's path, set only when its schema is in pg_namespace: one row when set, none when not.
# The third argument says whether the setting is local to the transaction.
CHECKED_SET = (
    "SELECT set_config('search_path', %s, {local}) FROM pg_catalog.pg_namespace WHERE nspname = %s"
)
SESSION_SET = CHECKED_SET.format(local="false")
LOCAL_SET = CHECKED_SET.format(local="true")
PUBLIC_LOCAL_SET = "SELECT set_config('search_path', %s, true)"
# Statements that steer a transaction, and need no path of their own.
TRANSACTION_CONTROL = re.compile(r"\s*(SAVEPOINT|RELEASE|ROLLBACK)\b", re.IGNORECASE)

PLAIN_IDENTIFIER = re.compile(r"\A[a-z_][a-z0-9_]*\Z")
# The local path after a savepoint's rollback: whatever was set before the savepoint, unknown.
UNKNOWN_PATH = "?"
# Once per process: whether the server connections behind this client are its own.
_pooling_verified = False


# Bound by the server, a statement takes at most this many parameters (the protocol's count is
# 16 bits); Django's PostgreSQL backend assumes none, as with its own text binding.
SERVER_BOUND_PARAMS = 2**16 - 1
# What PostgreSQL answers when a statement prepared on a connection now returns other columns
# (a migration changed a column it reads): the connection's prepared statements are stale.
STALE_PLAN = "cached plan must not change result type"


class DatabaseOperations(PostgresOperations):
    def bulk_batch_size(self, fields: list, objs: list) -> int:
        """Under server-side binding, a batch (`bulk_create`, the deletion collector's lookups)
        fits within a statement's parameter limit."""
        limit = self.connection.features.max_query_params
        if limit is None or not fields:
            return super().bulk_batch_size(fields, objs)
        return max(1, limit // len(fields))


def _path_element(schema_name: str) -> str:
    """As PostgreSQL shows a path it was SET: plain names bare, others quoted."""
    return schema_name if PLAIN_IDENTIFIER.match(schema_name) else quote_schema_name(schema_name)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.settings_dict.get("OPTIONS", {}).get("server_side_binding"):
            self.features.max_query_params = SERVER_BOUND_PARAMS
            self.execute_wrappers.append(self._noticing_stale_plans)
        self._stale_plans = False
        self.pool_mode = self.settings_dict.get("POOL_MODE") or SESSION
        if self.pool_mode not in POOL_MODES:
            raise ImproperlyConfigured(
                f"DATABASE_POOL_MODE is {self.pool_mode!r}: use one of {', '.join(POOL_MODES)}."
            )
        # The path set in the current transaction (transaction pooling): None when nothing is
        # set in it, UNKNOWN_PATH when a savepoint's rollback may have undone one.
        self._local_path: str | None = None
        if self.pool_mode == TRANSACTION:
            self._refuse_prepared_statements()
            self.execute_wrappers.append(self._path_in_every_transaction)

    def _refuse_prepared_statements(self) -> None:
        """A server-side prepared statement lives on one server connection; the pooler hands the
        next transaction to another (PgBouncer before 1.21 does not track them). Django leaves
        them off (`prepare_threshold=None`, client-side binding): they must stay off."""
        options = self.settings_dict.get("OPTIONS", {})
        if options.get("prepare_threshold") is not None or options.get("server_side_binding"):
            raise ImproperlyConfigured(
                "Under DATABASE_POOL_MODE=transaction, server-side prepared statements must stay "
                "off: remove prepare_threshold and server_side_binding from the OPTIONS."
            )

    # --- The path ---------------------------------------------------------------------------

    def _path(self) -> str:
        return ", ".join(_path_element(name) for name in self._get_cursor_search_paths())

    def _is_store_schema(self) -> bool:
        return bool(self.schema_name) and self.schema_name != get_public_schema_name()

    def _handle_search_path(self, cursor: object = None) -> None:
        if self._setting_search_path or self.pool_mode == TRANSACTION:
            return  # under transaction pooling the path is set per statement, see below
        if get_limit_set_calls() and self.search_path_set_schemas:
            return
        if not self._is_store_schema():
            super()._handle_search_path(cursor)
            return
        if self._checked_set(cursor, SESSION_SET):
            self.search_path_set_schemas = self._get_cursor_search_paths()

    def _set_local_path(self, cursor: object = None) -> None:
        """The current schema's path, local to the transaction, unless it is set already.

        Public needs no statement at the transaction's start: a pooled server connection's
        own path, which Kassa never sets, is `public`'s.
        """
        path = self._path()
        if path == self._local_path or (self._local_path is None and not self._is_store_schema()):
            return
        if self._is_store_schema():
            if not self._checked_set(cursor, LOCAL_SET):
                return
        else:
            self._setting_search_path = True
            try:
                self._run(cursor, PUBLIC_LOCAL_SET, [path])
            finally:
                self._setting_search_path = False
        self._local_path = path

    def _checked_set(self, cursor: object, statement: str) -> bool:
        """Set the current store's path with `statement`; SchemaMissing when it does not exist.

        False when the statement could not run: as django-tenants, in a transaction that has
        failed already, whose next statement fails as well.
        """
        self._setting_search_path = True
        try:
            rows = self._run(cursor, statement, [self._path(), self.schema_name])
        except (django.db.utils.DatabaseError, base.psycopg.InternalError):
            self.search_path_set_schemas = None
            return False
        finally:
            self._setting_search_path = False
        if not rows:
            self.search_path_set_schemas = None
            raise SchemaMissing(self.schema_name)
        return True

    def _run(self, cursor: Any, statement: str, params: list[object]) -> list[tuple]:
        """Run a statement of this backend's own on `cursor`, or on a fresh raw one."""
        own_cursor = cursor is None
        cursor = self.connection.cursor() if own_cursor else cursor
        try:
            cursor.execute(statement, params)
            return cursor.fetchall()
        finally:
            if own_cursor:
                cursor.close()

    def _path_in_every_transaction(
        self, execute: Any, sql: str, params: Any, many: bool, context: dict
    ) -> Any:
        """Under transaction pooling, before a statement runs: in a transaction, the path, once
        and before anything but the transaction's own control statements (a savepoint needs no
        path); outside any transaction, a statement in a store's schema runs in a transaction
        of its own (BEGIN, the path, the statement, COMMIT), never on whatever server
        connection, with whatever path, the pooler hands out."""
        if self._setting_search_path:
            return execute(sql, params, many, context)
        # The statement's own cursor: the path's statement is logged as Django's are.
        cursor = context["cursor"]
        if not self.get_autocommit():
            if not TRANSACTION_CONTROL.match(sql):
                self._set_local_path(cursor)
            return execute(sql, params, many, context)
        if not self._is_store_schema():
            return execute(sql, params, many, context)
        with self.connection.transaction():
            self._checked_set(cursor, LOCAL_SET)
            return execute(sql, params, many, context)

    # --- Transactions end: a local path ends with them ----------------------------------------

    def commit(self) -> None:
        super().commit()  # refused inside an atomic block: the path stays set then
        self._local_path = None

    def rollback(self) -> None:
        super().rollback()
        self._local_path = None

    def savepoint_rollback(self, sid: str) -> None:
        try:
            super().savepoint_rollback(sid)
        finally:
            # A path set after the savepoint is undone with it, one set before is not: either way
            # the next statement sets it again.
            self._local_path = UNKNOWN_PATH

    def close(self) -> None:
        super().close()
        self._local_path = None
        self._stale_plans = False

    # --- Prepared statements a migration made stale ---------------------------------------------

    def _noticing_stale_plans(
        self, execute: Any, sql: str, params: Any, many: bool, context: dict
    ) -> Any:
        try:
            return execute(sql, params, many, context)
        except django.db.utils.NotSupportedError as error:
            if isinstance(
                error.__cause__, psycopg.errors.FeatureNotSupported
            ) and STALE_PLAN in str(error):
                self._stale_plans = True
            raise

    def close_if_unusable_or_obsolete(self) -> None:
        """As Django's (after every request and task), and a connection whose prepared
        statements a migration made stale is closed: the next request or task gets a fresh one,
        where psycopg would otherwise run the stale statement again until a rollback."""
        if self.connection is not None and self._stale_plans:
            self.close()
            return
        super().close_if_unusable_or_obsolete()

    # --- Refusing a pooling mode the connections contradict -----------------------------------

    def get_new_connection(self, conn_params: dict) -> Any:
        connection = super().get_new_connection(conn_params)
        if self.pool_mode == SESSION:
            self._verify_connections_are_own(connection, conn_params)
        return connection

    def _verify_connections_are_own(self, connection: Any, conn_params: dict) -> None:
        """Once per process: a setting made on this client's connection must not be seen by
        another client's. Behind a transaction (or statement) pooler it is (the pooler hands
        the server connection just released to the next client), and session-level search
        paths would then leak between stores."""
        global _pooling_verified  # noqa: PLW0603 - once per process, whatever the connection
        if _pooling_verified:
            return
        token = secrets.token_hex(8)
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('kassa.pooling_probe', %s, false)", [token])
        # Committed, so that a pooler may hand the server connection on, as it would.
        connection.commit()
        try:
            with self.Database.connect(**conn_params) as other, other.cursor() as cursor:
                cursor.execute("SELECT current_setting('kassa.pooling_probe', true)")
                seen = cursor.fetchone()[0]
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET kassa.pooling_probe")
            connection.commit()
        if seen == token:
            raise PoolModeMismatch(
                "The database's server connections are shared between clients (a pooler in "
                "transaction mode): set DATABASE_POOL_MODE=transaction, or the stores' search "
                "paths would leak between them."
            )
        _pooling_verified = True
