"""Core statements compiled once per dialect and run on the driver's cursor of a session's connection.

A provisioning plan runs a dozen small indexed statements; SQLAlchemy's per-execution work (cache
key, execution context, result metadata) cost more than the database's. A :class:`Prepared`
statement is compiled by SQLAlchemy once per dialect (and per size of its ``IN`` lists): the SQL
text, the order of its parameters and the type processors are SQLAlchemy's own, so the values
stored and read are exactly those a ``Connection.execute`` would store and read. It runs on the
DB-API connection SQLAlchemy holds for the transaction, so it is part of the same transaction
(one commit per plan). Listeners of ``before_cursor_execute`` still see every statement, and a
driver error is raised as SQLAlchemy raises it (``sqlalchemy.exc.DBAPIError`` subclasses,
disconnects invalidating the connection).

It lives here because the audit append uses it and auditchain imports nothing else of the product.
"""

from __future__ import annotations

import operator
from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import sqltypes
from sqlalchemy.types import TypeDecorator

__all__ = ["Prepared"]

_PLACEHOLDER = object()


class _Compiled:
    """One compiled form of a statement: its SQL, how to build the driver's parameters, its row type."""

    __slots__ = (
        "all_taken",
        "converts",
        "expansion",
        "getter",
        "order",
        "positional",
        "row",
        "row_converts",
        "single",
        "sql",
        "takes",
        "template",
    )

    def __init__(
        self, stmt: Any, dialect: Dialect, column_keys: Sequence[str] | None, sizes: Mapping[str, int]
    ) -> None:
        compiled: Any = stmt.compile(dialect=dialect, column_keys=list(column_keys) if column_keys else None)
        if getattr(compiled, "insert_prefetch", None) or getattr(compiled, "update_prefetch", None):
            # a column default SQLAlchemy would compute at execution: the caller must give every column
            raise ValueError(f"prepared statement needs every column given: {compiled.string[:80]}")
        given: dict[str, Any] = {}
        for name, bind in compiled.binds.items():
            if bind.expanding and name in sizes:  # the caller's list (a literal list keeps its values)
                given[name] = [_PLACEHOLDER] * sizes[name]
            elif bind.required or bind.callable is not None:
                given[name] = _PLACEHOLDER
        state = compiled.construct_expanded_state(given)
        self.sql: str = state.statement
        self.positional: tuple[str, ...] | None = tuple(state.positiontup) if state.positiontup is not None else None
        #: expanded name -> (the caller's key, index in its list)
        self.expansion: dict[str, tuple[str, int]] = {
            part: (name, i)
            for name, parts in state.parameter_expansion.items()
            if name in sizes
            for i, part in enumerate(parts)
        }
        # the compiled statement's processors, and those of the IN lists' expanded parameters
        processors = {
            name: _cheaper(process, compiled.binds[name].type if name in compiled.binds else None)
            for name, process in compiled._bind_processors.items()
            if process is not None and callable(process) and name in state.parameters
        }
        processors.update(state.processors)
        order = (
            self.positional
            if self.positional is not None
            else tuple(k for k in state.parameters if k not in state.parameter_expansion)
        )
        slots: list[tuple[bool, Any, int, Callable[[Any], Any] | None]] = []
        for name in order:
            process = processors.get(name)
            value = state.parameters[name]
            if name in self.expansion:  # the caller's list, one element
                slots.append((False, *self.expansion[name], process))
            elif value is not _PLACEHOLDER:  # the statement's own literal (``id = 1``, a LIMIT): converted once
                slots.append((True, process(value) if process is not None else value, -1, None))
            else:  # the caller's value
                slots.append((False, name, -1, process))
        self.order = order
        # the driver's parameters, in its order: a template holding the statement's own literals,
        # the positions the caller's values fill (and from which key, which list element), the
        # positions a type processor converts
        self.template: list[Any] = [value if constant else None for constant, value, _, _ in slots]
        self.takes: tuple[tuple[int, str, int], ...] = tuple(
            (i, key, index) for i, (constant, key, index, _) in enumerate(slots) if not constant
        )
        self.converts: tuple[tuple[int, Callable[[Any], Any]], ...] = tuple(
            (i, process) for i, (constant, _, _, process) in enumerate(slots) if not constant and process is not None
        )
        self.all_taken = len(self.takes) == len(slots)
        simple = bool(self.takes) and all(index < 0 for _, _, index in self.takes)
        #: the caller's values in one C call when no IN list is to be expanded
        self.getter: Callable[[Mapping[str, Any]], Any] | None = (
            operator.itemgetter(*(key for _, key, _ in self.takes)) if simple else None
        )
        self.single = len(self.takes) == 1
        columns = list(getattr(compiled, "_result_columns", ()) or ())
        self.row_converts: tuple[tuple[int, Callable[[Any], Any]], ...] = tuple(
            (i, process)
            for i, process in enumerate(c.type._cached_result_processor(dialect, None) for c in columns)
            if process is not None
        )
        self.row: Any = namedtuple("Row", [c.keyname for c in columns], rename=True) if columns else None

    def parameters(self, params: Mapping[str, Any]) -> Any:
        if self.getter is not None:
            got = self.getter(params)
            if self.single:
                got = (got,)
            if self.all_taken:
                if not self.converts and self.positional is not None:
                    return got  # the caller's values as they are, in the driver's order
                values = list(got)
            else:
                values = self.template.copy()
                for (i, _, _), value in zip(self.takes, got, strict=True):
                    values[i] = value
        else:
            values = self.template.copy()
            for i, key, index in self.takes:
                values[i] = params[key] if index < 0 else params[key][index]
        for i, process in self.converts:
            values[i] = process(values[i])
        if self.positional is not None:
            return tuple(values)
        return dict(zip(self.order, values, strict=True))

    def rows(self, fetched: Iterable[Sequence[Any]]) -> list[Any]:
        make = self.row._make
        if not self.row_converts:
            return [make(r) for r in fetched]
        out = []
        for r in fetched:
            values = list(r)
            for i, process in self.row_converts:
                values[i] = process(values[i])
            out.append(make(values))
        return out


def _cheaper(process: Callable[[Any], Any], type_: Any) -> Callable[[Any], Any]:
    """``process`` itself, or the same conversion skipping work whose result is known.

    A date or time converts to the same text every time: a plan binds its one ``now`` to several
    columns, so the last value converted is remembered (by identity: these values are immutable;
    one tuple, so that two threads never pair a value with another's text). An empty JSON list or
    object serialises to the same text every time: converted once, here (when the conversion gives
    text: psycopg's gives a wrapper object per value, left as it is).
    """
    base = type_.impl_instance if isinstance(type_, TypeDecorator) else type_  # UTCDateTime: a DateTime
    if isinstance(base, (sqltypes.DateTime, sqltypes.Date, sqltypes.Time)):
        last: list[tuple[Any, Any]] = [(_PLACEHOLDER, None)]

        def remembered(value: Any) -> Any:
            seen = last[0]
            if value is seen[0]:
                return seen[1]
            converted = process(value)
            last[0] = (value, converted)
            return converted

        return remembered
    empty = {list: process([]), dict: process({})} if isinstance(base, sqltypes.JSON) else {}
    if empty and all(isinstance(text, str) for text in empty.values()):  # text, not a driver's wrapper

        def serialised(value: Any) -> Any:
            if value.__class__ in empty and not value:
                return empty[value.__class__]
            return process(value)

        return serialised
    return process


class Prepared:
    """A Core statement to run many times on the driver's cursor (see the module's docstring).

    ``column_keys`` names the columns an INSERT or UPDATE is given (every one without a value of
    its own in the statement); ``expanding`` names the ``IN`` lists (a form is compiled per size).
    """

    __slots__ = ("_compiled", "column_keys", "expanding", "stmt")

    def __init__(self, stmt: Any, *, column_keys: Sequence[str] | None = None, expanding: Sequence[str] = ()) -> None:
        self.stmt = stmt
        self.column_keys = tuple(column_keys) if column_keys else None
        self.expanding = tuple(expanding)
        self._compiled: dict[Any, _Compiled] = {}

    def _form(self, dialect: Dialect, params: Mapping[str, Any]) -> _Compiled:
        if not self.expanding:
            form = self._compiled.get(dialect.name)
            if form is None:
                form = self._compiled[dialect.name] = _Compiled(self.stmt, dialect, self.column_keys, {})
            return form
        names = self.expanding
        sizes = (len(params[names[0]]),) if len(names) == 1 else tuple(len(params[name]) for name in names)
        key = (dialect.name, sizes)
        form = self._compiled.get(key)
        if form is None:
            form = _Compiled(self.stmt, dialect, self.column_keys, dict(zip(self.expanding, sizes, strict=True)))
            self._compiled[key] = form
        return form

    def execute(self, connection: Connection, params: Mapping[str, Any] | None = None) -> list[Any]:
        """Run once; the rows it returns (named tuples, values as SQLAlchemy reads them), or []."""
        params = params or {}
        # a statement without IN lists has one form per dialect, keyed by its name
        form = self._compiled.get(connection.dialect.name) or self._form(connection.dialect, params)
        args = form.parameters(params)
        cursor: Any = None
        try:
            # the transaction's DB-API connection: the driver's own for the (synchronous) drivers we use
            cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            if connection._has_events or connection.engine._has_events:
                connection.dispatch.before_cursor_execute(connection, cursor, form.sql, args, None, False)
            cursor.execute(form.sql, args)
            if cursor.description is None:
                rows: list[Any] = []
            elif form.row_converts:
                rows = form.rows(cursor.fetchall())
            else:
                rows = list(map(form.row._make, cursor.fetchall()))
            cursor.close()
        except Exception as exc:
            connection._handle_dbapi_exception(exc, form.sql, args, cursor, None)
        return rows

    def executemany(self, connection: Connection, params: Sequence[Mapping[str, Any]]) -> None:
        """Run once per parameter set, in one driver call (``executemany``)."""
        if not params:
            return
        form = self._form(connection.dialect, params[0])
        _run_many(connection, form, [form.parameters(p) for p in params])


def _run_many(connection: Connection, form: _Compiled, args: list[Any]) -> None:
    cursor: Any = None
    try:
        # the transaction's DB-API connection: the driver's own for the (synchronous) drivers we use
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        if connection._has_events or connection.engine._has_events:
            connection.dispatch.before_cursor_execute(connection, cursor, form.sql, args, None, True)
        cursor.executemany(form.sql, args)
        cursor.close()
    except Exception as exc:
        connection._handle_dbapi_exception(exc, form.sql, args, cursor, None)
