"""The ORM lookup for DICOM wildcard matching (PS3.4 C.2.2.2.4).

`field__dicom_wildcard="MÜL*^?"`: "*" is any run of characters, "?" exactly
one, everything else literal and case-sensitive. PostgreSQL gets LIKE (which
an index with varchar_pattern_ops serves for a fixed prefix), SQLite gets GLOB
(its LIKE ignores case).
"""

from django.db.models import CharField, Lookup, TextField


def like_pattern(pattern: str) -> str:
    """A DICOM wildcard pattern as an SQL LIKE pattern with "\\" as escape."""
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def glob_pattern(pattern: str) -> str:
    """A DICOM wildcard pattern as an SQLite GLOB pattern ("[" is GLOB's only other
    special character; "*" and "?" mean the same in both)."""
    return pattern.replace("[", "[[]")


@CharField.register_lookup
@TextField.register_lookup
class DicomWildcard(Lookup):
    lookup_name = "dicom_wildcard"

    def get_db_prep_lookup(self, value, connection):
        if connection.vendor == "sqlite":
            return "%s", [glob_pattern(value)]
        return "%s", [like_pattern(value)]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} LIKE {rhs} ESCAPE '\\'", (*lhs_params, *rhs_params)

    def as_sqlite(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} GLOB {rhs}", (*lhs_params, *rhs_params)
