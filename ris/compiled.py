"""Queries whose SQL Django compiles once and the RIS keeps.

Django builds and compiles a QuerySet's SQL every time it is evaluated. For
the few queries the DICOM service makes on every association or request
(the calling AE's row, a modality's worklist) that was two thirds and a
quarter of their CPU, for the same question asked again and again. A KeptQuery
compiles the first time it is asked something and keeps the SQL and its
parameters by the question; the rows are read afresh every time.
"""

from collections.abc import Callable, Hashable
from datetime import date, time
from decimal import Decimal
from functools import lru_cache

import psycopg
from django.db import connections
from django.db.models import Q, QuerySet


class KeptQuery:
    """`build(*question)` is a values_list QuerySet whose SQL and parameters
    are determined by the question (hashable values: no expressions or
    subqueries, which compare by identity); `rows(*question)` is what
    list(build(*question)) gives, its values converted alike (Django's
    converters, for dates on SQLite)."""

    def __init__(self, build: Callable[..., QuerySet], keep: int):
        self.build = build
        self.compiled = lru_cache(maxsize=keep)(self._compile)

    def rows(self, *question: Hashable) -> list[tuple]:
        alias, query, sql, params, selected = self.compiled(*question)
        connection = connections[alias]
        if connection.vendor == "postgresql":
            rows = _prepared_rows(connection, sql, params)
        else:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                rows = cursor.fetchall()
        # Converted by a compiler bound to this thread's connection.
        compiler = query.get_compiler(connection=connection)
        if converters := compiler.get_converters(selected):
            rows = [tuple(row) for row in compiler.apply_converters(rows, converters)]
        return rows

    def _compile(self, *question: Hashable):
        queryset = self.build(*question)
        compiler = queryset.query.get_compiler(using=queryset.db)
        sql, params = compiler.as_sql()
        selected = [expression for expression, _, _ in compiler.select[: compiler.col_count]]
        return queryset.db, queryset.query, sql, params, selected


def _prepared_rows(connection, sql: str, params) -> list[tuple]:
    """The rows of the statement with its values written in (as Django's
    client-side binding sends it), prepared on this PostgreSQL connection.

    Prepared as it is, it is planned once per connection, for these very
    values: PostgreSQL keeps the plan of a statement without parameters.
    A modality asks the same question all day, and planning the worklist's
    join was half of its SQL time (0.6 of 1.1 ms at 100,000 steps,
    docs/benchmarks.md).

    Django's cursors bind on the client, and psycopg prepares none of their
    statements; this one is psycopg's Cursor, wrapped as Django wraps its
    own (query logging, execute wrappers, Django's database errors). And
    psycopg prepares only while the connection's prepare_threshold is set
    (0: at the first execution), and while it is set it also counts every
    other statement of the connection, keeping up to 100 of their texts: an
    audit batch's insert is hundreds of kilobytes. So it is set for this
    statement only; psycopg keeps the prepared ones by their text meanwhile.
    """
    connection.ensure_connection()
    raw = connection.connection
    statement = psycopg.ClientCursor(raw).mogrify(sql, params)
    cursor = psycopg.Cursor(raw)
    wrap = connection.make_debug_cursor if connection.queries_logged else connection.make_cursor
    threshold, raw.prepare_threshold = raw.prepare_threshold, 0
    try:
        with wrap(cursor) as wrapped:
            wrapped.execute(statement)
            return wrapped.fetchall()
    finally:
        raw.prepare_threshold = threshold


# Values that compare by value. Expressions and subqueries (an EXISTS)
# compare by identity: a question holding one would never be asked again.
PLAIN_VALUES = (str, int, float, bool, Decimal, date, time, type(None))


def is_plain(condition: Q) -> bool:
    """Whether a condition holds only plain values (lists of them too), so
    that it can be part of a KeptQuery's question."""
    for child in condition.children:
        if isinstance(child, Q):
            plain = is_plain(child)
        elif isinstance(child, tuple):  # (lookup, value)
            value = child[1]
            values = value if isinstance(value, list | tuple) else (value,)
            plain = all(isinstance(item, PLAIN_VALUES) for item in values)
        else:  # an expression
            plain = False
        if not plain:
            return False
    return True
