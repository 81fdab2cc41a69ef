"""Many rows in one statement, at the cost of one: `INSERT … SELECT FROM unnest(…)` and
`UPDATE … FROM unnest(…)`, one array a column.

Django's `bulk_update` writes a `CASE WHEN id = … THEN …` for every row and every field: the
statement grows with the rows times the fields, and so do its compiling and PostgreSQL's work on
each row (quadratic in the batch). `bulk_create` compiles a placeholder a value. Here the
statement is the same whatever the number of rows; only the arrays grow. And the arrays are
bound by the server, in PostgreSQL's binary format (`%b`: no text to escape and parse, element
by element), not quoted into the statement's text. In session mode the connection prepares a
statement it has run often (settings, `DATABASE_PREPARE_THRESHOLD`), these among them; under
PgBouncer's transaction pooling each stays one unnamed statement (the connection's
`prepare_threshold` is None there, as `core.database` requires).
"""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.backends.postgresql.base import ServerBindingCursor


@contextmanager
def bound_cursor() -> Iterator:
    """A cursor of the default connection that binds its parameters in the server, wrapped as
    Django wraps its own (the search path under transaction pooling, debug logging, the
    statements tests count)."""
    # A cursor made the usual way first: django-tenants sets the active store's search path as a
    # cursor is made (or, under transaction pooling, as each statement runs), and this one must
    # never run in the schema of the store before.
    connection.cursor().close()
    with connection._prepare_cursor(ServerBindingCursor(connection.connection)) as cursor:
        yield cursor


# What is worked out of a model's fields (their columns, how their values are read, the
# statements' text) is worked out once a process: there is one database, PostgreSQL.


@cache
def _column(field: models.Field) -> tuple[str, str]:
    """The column's name, and its arrays' type: the column's own without its modifiers, so a
    value is held to the column as the row is written (a `varchar(200)` refuses a longer text,
    as Django's save would have it refused), never cut short by the array's cast."""
    base = field.db_type(connection).split("(", 1)[0].strip()
    return connection.ops.quote_name(field.column), f"{base}[]"


# Django's own fields whose value, when None or already of this Python type, is the database's
# value as it is (their `get_db_prep_save` hands it back unchanged on PostgreSQL): read straight
# off the objects, where a bulk write would otherwise call Django's field code for every cell. A
# subclass qualifies while it keeps these fields' ways of preparing a value (_PREPARING).
_AS_IS: dict[type[models.Field], type] = {
    models.CharField: str,
    models.TextField: str,
    models.BooleanField: bool,
    models.IntegerField: int,
    models.DecimalField: Decimal,
    models.AutoField: int,
    models.BigAutoField: int,
}
_PREPARING = ("get_db_prep_save", "get_db_prep_value", "get_prep_value", "to_python")


@cache
def _as_is(field: models.Field) -> type | None:
    """The Python type whose values `field` writes as they are (see _AS_IS), or None."""
    if type(field).pre_save is not models.Field.pre_save:
        return None  # the value is made as it is saved (auto_now, files)
    if isinstance(field, models.ForeignKey):
        field = field.target_field  # a key is prepared as the key it refers to
    for base, kind in _AS_IS.items():
        if isinstance(field, base) and all(
            getattr(type(field), name) is getattr(base, name) for name in _PREPARING
        ):
            return kind
    return None


def _array(objects: Sequence[models.Model], field: models.Field, *, add: bool) -> list:
    database = connections[DEFAULT_DB_ALIAS]  # once, not through the proxy for every value
    kind = _as_is(field)
    if kind is None:
        return [field.get_db_prep_save(field.pre_save(obj, add), database) for obj in objects]
    values = [getattr(obj, field.attname) for obj in objects]
    if all(value is None or (type(value) is kind and _finite(value)) for value in values):
        return values
    return [field.get_db_prep_save(value, database) for value in values]


def _finite(value: object) -> bool:
    """A Decimal that is a number (Django's field refuses NaN and infinities; they stay its)."""
    return value.is_finite() if isinstance(value, Decimal) else True


def _arrays(
    objects: Sequence[models.Model], fields: Sequence[models.Field], *, add: bool
) -> list[list]:
    return [_array(objects, field, add=add) for field in fields]


def _insert_columns(
    meta: Any, fields: Sequence[str] | None = None, *, skip: str | None = None
) -> tuple[models.Field, ...]:
    if fields:
        return tuple(meta.get_field(name) for name in fields)
    return _columns_but_key(meta, skip)


@cache
def _columns_but_key(meta: Any, skip: str | None) -> tuple[models.Field, ...]:
    return tuple(
        field for field in meta.concrete_fields if not field.primary_key and field.name != skip
    )


@cache
def _columns_but_given(meta: Any, given: tuple[str, ...]) -> tuple[models.Field, ...]:
    return tuple(field for field in _columns_but_key(meta, None) if field.name not in given)


@cache
def _insert_sql(meta: Any, columns: tuple[models.Field, ...], *, parent: str | None = None) -> str:
    """`INSERT … SELECT FROM unnest(…)` of `columns`, in the arrays' order (so the keys, taken
    in the order of insertion, ascend with the objects), returning the keys. With `parent`
    (the name of a foreign key), each row's key to the one row of the CTE `parent`."""
    names, types = zip(*(_column(field) for field in columns), strict=True)
    quote = connection.ops.quote_name
    targets, values, sources = list(names), [f"r.{name}" for name in names], ""
    if parent is not None:
        targets.insert(0, quote(meta.get_field(parent).column))
        values.insert(0, "parent.id")
        sources = "parent, "
    return (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(targets)}) "  # noqa: S608
        f"SELECT {', '.join(values)} FROM {sources}"
        f"unnest({', '.join(f'%b::{kind}' for kind in types)}) "
        f"WITH ORDINALITY AS r({', '.join(names)}, ordinality) ORDER BY r.ordinality "
        f"RETURNING {quote(meta.pk.column)} AS id"
    )


@cache
def _insert_one_sql(
    meta: Any,
    columns: tuple[models.Field, ...],
    given: tuple[tuple[str, str], ...] = (),
    given_from: str | None = None,
) -> str:
    """`INSERT … VALUES (…)` of one row of `columns`, its values bound one a column (no
    one-element arrays to make and unpack), returning its key; `given`: more columns, each
    with the SQL of its value, read `FROM given_from` (an `INSERT … SELECT`, as Citus takes no
    subquery in `VALUES`), returned too."""
    names, types = zip(*(_column(field) for field in columns), strict=True)
    quote = connection.ops.quote_name
    values = [f"%b::{kind.removesuffix('[]')}" for kind in types]
    given_names = [quote(meta.get_field(name).column) for name, _ in given]
    returned = "".join(f", {name}" for name in given_names)
    source = f"VALUES ({', '.join(values)})"
    if given:
        selected = ", ".join([*values, *(value for _, value in given)])
        source = f"SELECT {selected} FROM {given_from}"  # noqa: S608 - our own SQL
    return (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join([*names, *given_names])}) "
        f"{source} RETURNING {quote(meta.pk.column)} AS id{returned}"
    )


def _saved(objects: Sequence[models.Model], keys: Sequence[Any]) -> None:
    for obj, key in zip(objects, keys, strict=True):
        obj.pk = key
        obj._state.adding = False
        obj._state.db = connection.alias


def rows_insert(
    objects: Sequence[models.Model],
    *,
    fields: Sequence[str] | None = None,
    alongside: tuple[str, Sequence[Any]] | None = None,
) -> None:
    """Insert `objects` (all of one model), setting their primary keys, in one statement.
    `fields`: the columns written (default: every concrete one but the primary key, which its
    sequence gives, in the order of insertion). `alongside`: another data-modifying statement
    (SQL and its parameters) run in the same statement, as a CTE: one round trip for both (on
    its own when there is nothing to insert)."""
    if not objects:
        if alongside is not None:
            with bound_cursor() as cursor:
                cursor.execute(*alongside)
        return
    meta = objects[0]._meta
    columns = _insert_columns(meta, fields)
    if meta.pk in columns:
        raise ValueError("The primary keys come from their sequence, in the order of insertion.")
    sql, params = _insert_sql(meta, columns), _arrays(objects, columns, add=True)
    if alongside is not None:
        sql = f"WITH alongside AS ({alongside[0]}) {sql}"
        params = [*alongside[1], *params]
    with bound_cursor() as cursor:
        cursor.execute(sql, params)
        keys = sorted(row[0] for row in cursor.fetchall())
    _saved(objects, keys)


@dataclass
class Family:
    """A parent and its children inserted in one statement (`family_insert`), to be run with
    other parts of the statement: `ctes`, their `params` in the same order, and the `selects`
    that come back (`parent`'s key first, then each child's keys), which `saved` takes."""

    parent: models.Model
    children: Sequence[tuple[Sequence[models.Model], str]]
    ctes: list[str]
    params: list
    selects: list[str]

    def saved(self, keys: Sequence[Any]) -> None:
        """Set every primary key, and every child's key to the parent, from the `selects`'
        values."""
        parent_key, *child_keys = keys
        _saved([self.parent], [parent_key])
        for (objects, key), saved_keys in zip(self.children, child_keys, strict=True):
            _saved(objects, saved_keys or [])
            for obj in objects:
                field = obj._meta.get_field(key)
                setattr(obj, field.attname, parent_key)
                field.set_cached_value(obj, self.parent)


def family_insert(
    parent: models.Model,
    children: Sequence[tuple[Sequence[models.Model], str]],
    *,
    given: Mapping[str, str] | None = None,
    given_from: str | None = None,
) -> Family:
    """The statement of `rows_insert_family`, as parts (`Family`) for a caller that runs it with
    more. The parent is the CTE `parent`; `given` names fields of the parent whose value is SQL
    over `given_from` (a CTE the caller puts before, say) rather than the object's, which
    `parent` returns."""
    given = tuple((given or {}).items())
    if given and not given_from:
        raise ValueError("Values given as SQL are read from a CTE: name it (given_from).")
    meta = parent._meta
    columns = _columns_but_given(meta, tuple(name for name, _ in given))
    ctes = [f"parent AS ({_insert_one_sql(meta, columns, given, given_from)})"]
    params = [values[0] for values in _arrays([parent], columns, add=True)]
    selects = ["(SELECT id FROM parent)"]
    for number, (objects, key) in enumerate(children):
        if not objects:
            selects.append("NULL")
            continue
        child = objects[0]._meta
        child_columns = _insert_columns(child, skip=key)
        ctes.append(f"c{number} AS ({_insert_sql(child, child_columns, parent=key)})")
        params.extend(_arrays(objects, child_columns, add=True))
        selects.append(f"(SELECT array_agg(id ORDER BY id) FROM c{number})")  # noqa: S608 - our own names
    return Family(parent=parent, children=children, ctes=ctes, params=params, selects=selects)


def rows_insert_family(
    parent: models.Model, children: Sequence[tuple[Sequence[models.Model], str]]
) -> None:
    """Insert `parent` and its children in one statement: each of `children` is some objects of
    one model and the name of their foreign key to the parent (a sale, its lines and its
    payments). Every primary key is set, and every child's key to the parent."""
    family = family_insert(parent, children)
    with bound_cursor() as cursor:
        cursor.execute(
            f"WITH {', '.join(family.ctes)} SELECT {', '.join(family.selects)}", family.params
        )
        family.saved(cursor.fetchone())


def rows_update(objects: Sequence[models.Model], *, fields: Sequence[str]) -> int:
    """Write `fields` of `objects` (all of one model, saved before) in one statement; how many
    rows it wrote."""
    if not objects:
        return 0
    meta = objects[0]._meta
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    names, types = zip(*(_column(field) for field in columns), strict=True)
    table = connection.ops.quote_name(meta.db_table)
    assignments = ", ".join(f"{name} = v.{name}" for name in names[1:])
    sql = (
        f"UPDATE {table} SET {assignments} FROM unnest("  # noqa: S608
        f"{', '.join(f'%b::{kind}' for kind in types)}) AS v({', '.join(names)}) "
        f"WHERE {table}.{names[0]} = v.{names[0]}"
    )
    with bound_cursor() as cursor:
        cursor.execute(sql, _arrays(objects, columns, add=False))
        return cursor.rowcount
