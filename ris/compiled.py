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
