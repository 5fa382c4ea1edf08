"""A Modality Worklist identifier as one SQL query (PS3.4 K.4.1.1, C.2.2.2)."""

from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.db.models import Expression, Q, QuerySet, TextField
from django.utils import timezone
from pydicom import Dataset
from pydicom.datadict import dictionary_VR
from pydicom.sequence import Sequence

from ris.compiled import KeptQuery, is_plain
from ris.dicom import matching
from ris.dicom.charset import check_character_set
from ris.dicom.errors import IdentifierError
from ris.dicom.person_name import search_pattern
from ris.scheduling.models import (
    Order,
    OtherPatientID,
    ProtocolCode,
    RequestedProcedure,
    ScheduledProcedureStep,
)
from ris.scheduling.worklist.keys import (
    CODE_FIELDS,
    OTHER_PATIENT_ID_FIELDS,
    OTHER_PATIENT_IDS,
    PROTOCOL_CODES,
    RECORD,
    STEP_KEYS,
    TOP_LEVEL_KEYS,
    UNIT,
    Key,
    SequenceKey,
)

STEP_SEQUENCE = "ScheduledProcedureStepSequence"
START_KEYWORDS = ("ScheduledProcedureStepStartDate", "ScheduledProcedureStepStartTime")
# The first columns of every row: the worklist's order, and its keyset pages' key.
KEYSET = ("start", "pk")


def step_item(identifier: Dataset) -> Dataset | None:
    """The single item of the Scheduled Procedure Step Sequence, if one was sent."""
    if STEP_SEQUENCE not in identifier:
        return None
    sequence = identifier.ScheduledProcedureStepSequence
    if not isinstance(sequence, Sequence) or len(sequence) == 0:
        return None
    if len(sequence) > 1:
        raise IdentifierError(
            "Scheduled Procedure Step Sequence must have one item (K.6.1.2.2)",
            offending=(0x00400100,),
        )
    return sequence[0]


class WorklistRows:
    """The steps that match every matching key of an identifier, in start
    order, as tuples of the columns' values: KEYSET first, then `columns`
    (ORM paths, or the packed item columns of worklist.keys). Plain values,
    not model instances: making those was a third of a worklist query's CPU.

    Read a page at a time (worklist.in_pages). A first page's SQL is
    compiled once per distinct query and kept (FIRST_PAGES, ris.compiled):
    modalities ask the same question all day, and Django's building and
    compiling of it was about a quarter of the CPU of worklist_find (19 to
    27 matches).
    """

    def __init__(self, identifier: Dataset, columns: list[str]):
        self.columns = tuple(columns)
        self.condition = worklist_condition(identifier)

    def page(self, size: int, after: tuple | None = None) -> list[tuple]:
        """Up to `size` rows; those after the keyset values `after` (start, pk)."""
        if after is None and is_plain(self.condition):
            return FIRST_PAGES.rows(self.columns, self.condition, size)
        rows = self.queryset()
        if after is not None:
            start, pk = after
            rows = rows.filter(Q(start__gt=start) | Q(start=start, pk__gt=pk))
        return list(rows[:size])

    def queryset(self) -> QuerySet:
        """All the rows, for whoever wants Django's QuerySet (the wlmscpfs export)."""
        return _matching_rows(self.columns, self.condition)


def _matching_rows(columns: tuple[str, ...], condition: Q) -> QuerySet:
    return _all_rows(columns).filter(condition)


@lru_cache(maxsize=64)
def _all_rows(columns: tuple[str, ...]) -> QuerySet:
    """Every step's row of these columns, never evaluated itself: Django resolves
    the joins of a column list once, and each query filters a copy. A
    modality asks for the same keys every time."""
    packed = {name: pack() for name, pack in PACKED_COLUMNS.items() if name in columns}
    steps = ScheduledProcedureStep.objects.annotate(**packed)
    return steps.order_by(*KEYSET).values_list(*KEYSET, *columns)


# A first page: (columns, condition, page size). The condition is kept with
# its values, so a hit is the same question asked again (a station's day); a
# few hundred cover every modality of a department.
FIRST_PAGES = KeptQuery(
    lambda columns, condition, size: _matching_rows(columns, condition)[:size], keep=256
)


def worklist_condition(identifier: Dataset) -> Q:
    """What a step must be to match the identifier (PS3.4 C.2.2.2)."""
    check_character_set(identifier)
    condition = _conditions(identifier, TOP_LEVEL_KEYS)
    item = step_item(identifier)
    if item is not None:
        condition &= _conditions(item, STEP_KEYS)
        condition &= _start_window(item)
    if item is None or matching.is_universal(item.get("ScheduledProcedureStepStatus")):
        # PS3.3 C.4.10: started and finished steps leave the worklist unless
        # the query asks for a status explicitly.
        condition &= Q(status__in=settings.RIS_WORKLIST_STATUSES)
    return condition


class PackedItems(Expression):
    """A step's related rows packed into one text value (worklist.keys.unpack reads
    it), so that the worklist stays one SQL query however many protocol codes or
    other IDs a step has.

    Written as SQL rather than as Django subquery expressions: this is built
    and compiled for every C-FIND, and Django's compilation of the two
    correlated subqueries was a fifth of a worklist query's CPU.
    """

    output_field = TextField()

    def __init__(self, source: Callable[[str], str], fields: dict[str, str]):
        super().__init__()
        self.source, self.fields = source, list(fields.values())

    def as_sql(self, compiler, connection, aggregate="STRING_AGG"):
        record = " || %s || ".join(f"COALESCE(item.{field}, '')" for field in self.fields)
        step = compiler.quote_name_unless_alias(compiler.query.get_initial_alias())
        sql = f"(SELECT {aggregate}({record}, %s) FROM {self.source(step)})"
        return sql, [UNIT] * (len(self.fields) - 1) + [RECORD]

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, aggregate="GROUP_CONCAT")


def _protocol_codes_of_step(step: str) -> str:
    through = ScheduledProcedureStep.protocol_codes.through._meta
    code = through.get_field("protocolcode").column
    owner = through.get_field("scheduledprocedurestep").column
    return (
        f"{ProtocolCode._meta.db_table} item JOIN {through.db_table} link "
        f"ON link.{code} = item.id WHERE link.{owner} = {step}.id"
    )


def _other_patient_ids_of_step(step: str) -> str:
    return (
        f"{OtherPatientID._meta.db_table} item "
        f"JOIN {Order._meta.db_table} o ON o.patient_id = item.patient_id "
        f"JOIN {RequestedProcedure._meta.db_table} r ON r.order_id = o.id "
        f"WHERE r.id = {step}.requested_procedure_id"
    )


PACKED_COLUMNS = {
    PROTOCOL_CODES: lambda: PackedItems(_protocol_codes_of_step, CODE_FIELDS),
    OTHER_PATIENT_IDS: lambda: PackedItems(_other_patient_ids_of_step, OTHER_PATIENT_ID_FIELDS),
}


def _conditions(dataset: Dataset, keys: dict) -> Q:
    condition = Q()
    for tag in list(dataset.keys()):
        try:
            element = dataset[tag]  # read as its VR here: a malformed value raises
            key = keys.get(element.keyword)
            if isinstance(key, SequenceKey):
                condition &= _sequence_condition(key, element.value)
            elif key is not None and key.path and key.kind != "date_time":
                condition &= _key_condition(key, element.value)
        except IdentifierError as error:
            error.offending = error.offending or (int(tag),)
            raise
        except (ValueError, TypeError, UnicodeError) as error:
            raise IdentifierError(f"unreadable value: {error}", offending=(int(tag),)) from None
    return condition


def _key_condition(key: Key, value) -> Q:
    keyword, path = key.keyword, key.path
    if key.kind == "uid":
        values = [] if value is None else [value] if isinstance(value, str) else list(value)
        return matching.match_uid_list(path, [str(uid) for uid in values], keyword)
    value = matching.single_value(value, keyword)
    if key.kind == "person_name":
        if matching.is_universal(value):
            return Q()
        return Q(**{f"{path}__dicom_wildcard": search_pattern(value)})
    if key.kind == "date":
        return matching.match_date(path, value, keyword)
    if key.kind == "number":
        return _match_number(path, value, keyword)
    return matching.match_string(path, value, dictionary_VR(keyword), keyword)


def _match_number(path: str, value, keyword: str) -> Q:
    if value in (None, ""):
        return Q()
    try:
        return Q(**{path: int(value)})
    except (TypeError, ValueError):
        raise IdentifierError(f"{keyword}: {value!r} is not a number") from None


def _sequence_condition(key: SequenceKey, value) -> Q:
    """Sequence matching (C.2.2.2.6): one stored item must match every item key."""
    if not isinstance(value, Sequence) or len(value) == 0 or not key.matchable:
        return Q()
    if len(value) > 1:
        raise IdentifierError(f"{key.keyword}: a matching sequence has one item")
    condition = Q()
    for element in value[0]:
        field = key.item_fields.get(element.keyword)
        if field:
            item_value = matching.single_value(element.value, element.keyword)
            vr = dictionary_VR(element.keyword)
            condition &= matching.match_string(key.prefix + field, item_value, vr, element.keyword)
    if key.exists and condition:
        return key.exists(condition)
    return condition


def _start_window(item: Dataset) -> Q:
    date_value, time_value = (
        matching.single_value(item.get(keyword), keyword) for keyword in START_KEYWORDS
    )
    try:
        return matching.match_datetime_window(
            "start",
            date_value or "",
            time_value or "",
            timezone.get_default_timezone(),
            START_KEYWORDS,
        )
    except IdentifierError as error:
        error.offending = error.offending or (0x00400002, 0x00400003)
        raise
