"""Bulk inserts for large loads (the demo schedule).

Rows are plain dicts of column values, which is several times faster to build
than model instances. PostgreSQL takes them through COPY; other databases
through bulk_create. Either way every row gets the model's defaults.
"""

from django.db import connection
from django.db.models import Model
from django.utils import timezone
from psycopg import sql

BATCH_SIZE = 2000


def row_defaults(model: type[Model]) -> dict:
    """Every column of the model but the primary key, at its default; timestamps now."""
    instance = model()
    now = timezone.now()
    row = {}
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        automatic = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
        row[field.attname] = now if automatic else getattr(instance, field.attname)
    return row


def insert_rows(model: type[Model], rows: list[dict]) -> list[int]:
    """Insert the rows (each with the same keys, as from row_defaults) and return their pks."""
    if not rows:
        return []
    if connection.vendor == "postgresql":
        return _copy_rows(model, rows)
    objects = model.objects.bulk_create([model(**row) for row in rows], batch_size=BATCH_SIZE)
    return [obj.pk for obj in objects]


def _copy_rows(model: type[Model], rows: list[dict]) -> list[int]:
    meta = model._meta
    column_of = {field.attname: field.column for field in meta.concrete_fields}
    columns = [meta.pk.column] + [column_of[key] for key in rows[0]]
    with connection.cursor() as cursor:
        # Draw the keys first, so that the caller can link rows to each other.
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(rows)],
        )
        keys = [key for (key,) in cursor.fetchall()]
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(meta.db_table), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        with cursor.cursor.copy(statement) as copy:
            for key, row in zip(keys, rows, strict=True):
                copy.write_row((key, *row.values()))
    return keys
