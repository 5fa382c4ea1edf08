"""Demo data: a department's catalog and a realistic schedule, written in bulk.

The schedule is what a front desk would book: patients with names from several
languages (German umlauts, Japanese with ideographic and phonetic forms, ...),
orders of one to three procedures, each procedure one step on a station of its
modality, packed into the station's working day. Written with bulk inserts so
that 100,000 steps take seconds, and it can be run again to add more.
"""

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from ris.dicom.person_name import PersonName, search_key
from ris.dicom.uids import new_uid
from ris.scheduling.bulk import insert_rows, row_defaults
from ris.scheduling.models import (
    Modality,
    Order,
    Patient,
    PregnancyStatus,
    Priority,
    ProcedureCode,
    ProtocolCode,
    RequestedProcedure,
    ScheduledProcedureStep,
    Sex,
    Station,
)
from ris.scheduling.models.identifiers import next_identifiers

# A local coding scheme: "99" marks a site's own designator (HL7 convention).
SCHEME = "99RIS"

# (code, meaning, modality, minutes, protocol code, protocol meaning)
PROCEDURES = [
    ("CTHEAD", "CT head without contrast", Modality.CT, 15, "CTP-HEAD", "Head routine"),
    ("CTCHEST", "CT chest with contrast", Modality.CT, 20, "CTP-CHESTC", "Chest with contrast"),
    ("CTABDPEL", "CT abdomen and pelvis w contrast", Modality.CT, 25, "CTP-ABDC", "Abdomen portal"),
    (
        "MRBRAIN",
        "MR brain without and with contrast",
        Modality.MR,
        40,
        "MRP-BRAIN",
        "Brain routine",
    ),
    ("MRKNEE", "MR knee without contrast", Modality.MR, 30, "MRP-KNEE", "Knee routine"),
    ("MRLSPINE", "MR lumbar spine without contrast", Modality.MR, 30, "MRP-LSP", "L-spine routine"),
    ("USABD", "US abdomen complete", Modality.US, 20, "USP-ABD", "Abdomen complete"),
    ("USTHYR", "US thyroid", Modality.US, 15, "USP-THY", "Thyroid"),
    ("DXCHEST", "XR chest 2 views", Modality.DX, 10, "DXP-CH2", "Chest PA and lateral"),
    ("DXHAND", "XR hand 3 views", Modality.DX, 10, "DXP-HD3", "Hand 3 views"),
    ("MGSCREEN", "MG screening bilateral", Modality.MG, 15, "MGP-SCR", "Screening 4 views"),
    ("NMBONE", "NM bone scan whole body", Modality.NM, 45, "NMP-BONE", "Whole body bone"),
    ("PTFDG", "PET/CT FDG whole body", Modality.PT, 60, "PTP-FDG", "FDG whole body"),
]

# (AE title, station name, modality, room)
STATIONS = [
    ("CT1", "CT1_SOMATOM", Modality.CT, "Room 101"),
    ("CT2", "CT2_REVOLUTION", Modality.CT, "Room 102"),
    ("MR1", "MR1_PRISMA", Modality.MR, "Room 201"),
    ("MR2", "MR2_INGENIA", Modality.MR, "Room 202"),
    ("US1", "US1_LOGIQ", Modality.US, "Room 301"),
    ("US2", "US2_EPIQ", Modality.US, "Room 302"),
    ("DX1", "DX1_YSIO", Modality.DX, "Room 401"),
    ("DX2", "DX2_DIGITALDIAG", Modality.DX, "Room 402"),
    ("MG1", "MG1_MAMMOMAT", Modality.MG, "Room 501"),
    ("NM1", "NM1_DISCOVERY", Modality.NM, "Room 601"),
    ("PT1", "PT1_BIOGRAPH", Modality.PT, "Room 602"),
]

# Names as they reach a worklist: several scripts, and both Japanese forms.
FAMILY_NAMES = [
    "Müller",
    "Schäfer",
    "Größer",
    "Weiß",
    "Lefèvre",
    "Ødegård",
    "Muñoz",
    "Çelik",
    "Smith",
    "Johnson",
    "Nguyen",
    "Kowalski",
    "Rossi",
    "Novák",
    "O'Brien",
    "García",
]
# (given name, sex)
GIVEN_NAMES = [
    ("Jürgen", Sex.MALE),
    ("Käthe", Sex.FEMALE),
    ("Björn", Sex.MALE),
    ("Hélène", Sex.FEMALE),
    ("Åsa", Sex.FEMALE),
    ("José", Sex.MALE),
    ("Ayşe", Sex.FEMALE),
    ("John", Sex.MALE),
    ("Mary", Sex.FEMALE),
    ("Anna", Sex.FEMALE),
    ("Luca", Sex.MALE),
    ("Zoë", Sex.FEMALE),
]
JAPANESE_NAMES = [
    (PersonName("Yamada", "Tarou", ideographic="山田^太郎", phonetic="やまだ^たろう"), Sex.MALE),
    (PersonName("Tanaka", "Hanako", ideographic="田中^花子", phonetic="たなか^はなこ"), Sex.FEMALE),
    (
        PersonName("Suzuki", "Ichirou", ideographic="鈴木^一郎", phonetic="すずき^いちろう"),
        Sex.MALE,
    ),
]
PHYSICIANS = ["Weber^Thomas^^Dr.", "Fischer^Sabine^^Dr.", "Brown^Emily^^Dr.", "Kato^Ken^^Dr."]
REASONS = [
    "Headache, rule out bleeding",
    "Follow-up after therapy",
    "Suspected fracture",
    "Staging",
    "Persistent cough",
    "Knee pain after trauma",
    "Screening",
    "",
]
MEDICAL_ALERTS = ["", "", "", "", "Pacemaker", "Claustrophobia", "Renal insufficiency"]
ALLERGIES = ["", "", "", "", "", "Iodinated contrast media", "Latex"]

WORKDAY_START = time(7, 30)
WORKDAY_END = time(20, 0)
CHUNK = 10000  # procedures written per round of bulk inserts
PATIENT_ISSUER = "DEMO"


@dataclass
class SeedReport:
    patients: int = 0
    orders: int = 0
    requested_procedures: int = 0
    scheduled_steps: int = 0
    overbooked_steps: int = 0


def ensure_catalog() -> tuple[list[ProcedureCode], list[Station]]:
    """The demo department's procedure codes, protocols and stations (kept if present)."""
    codes = []
    for value, meaning, modality, minutes, protocol_value, protocol_meaning in PROCEDURES:
        code, _ = ProcedureCode.objects.get_or_create(
            code_value=value,
            coding_scheme_designator=SCHEME,
            defaults={
                "code_meaning": meaning,
                "default_modality": modality,
                "default_duration": timedelta(minutes=minutes),
            },
        )
        protocol, _ = ProtocolCode.objects.get_or_create(
            code_value=protocol_value,
            coding_scheme_designator=SCHEME,
            defaults={"code_meaning": protocol_meaning},
        )
        code.default_protocol_codes.add(protocol)
        codes.append(code)
    stations = [
        Station.objects.get_or_create(
            ae_title=ae_title, defaults={"name": name, "modality": modality, "location": room}
        )[0]
        for ae_title, name, modality, room in STATIONS
    ]
    return codes, stations


@dataclass
class StationDays:
    """Where the next step on each station and day can start (one cursor each)."""

    first_day: date
    days: int
    cursors: dict = field(default_factory=dict)
    full: set = field(default_factory=set)

    def load_existing(self, stations: list[Station]) -> None:
        """Start after what is already booked, so that a second run adds, not overlaps."""
        start = self._at(self.first_day, WORKDAY_START)
        end = self._at(self.first_day + timedelta(days=self.days), WORKDAY_START)
        booked = ScheduledProcedureStep.objects.filter(
            station__in=stations, start__gte=start, start__lt=end
        ).values_list("station_id", "start", "expected_duration")
        for station_id, step_start, duration in booked.iterator(chunk_size=10000):
            key = (station_id, timezone.localdate(step_start))
            self.cursors[key] = max(self.cursors.get(key, step_start), step_start + duration)

    def book(self, station: Station, day: date, duration: timedelta) -> tuple[datetime, bool]:
        """The start of a step of this duration; True if the day was already full."""
        key = (station.pk, day)
        start = self.cursors.get(key) or self._at(day, WORKDAY_START)
        if start + duration > self._at(day, WORKDAY_END):
            # Beyond a day's capacity the demo double-books from the morning,
            # and every later step that day overlaps another.
            self.full.add(key)
            start = self._at(day, WORKDAY_START)
        self.cursors[key] = start + duration
        return start, key in self.full

    @staticmethod
    def _at(day: date, at: time) -> datetime:
        return timezone.make_aware(datetime.combine(day, at))


def seed_demo(*, procedures: int, days: int, seed: int | None = None) -> SeedReport:
    """Add `procedures` requested procedures, one scheduled step each, over `days` days."""
    rng = random.Random(seed)
    codes, stations = ensure_catalog()
    stations_by_modality = defaultdict(list)
    for station in stations:
        stations_by_modality[station.modality].append(station)
    protocols = {code.pk: list(code.default_protocol_codes.all()) for code in codes}
    calendar = StationDays(first_day=timezone.localdate(), days=days)
    calendar.load_existing(stations)
    report = SeedReport()
    remaining = procedures
    while remaining:
        size = min(CHUNK, remaining)
        with transaction.atomic():
            _seed_chunk(size, rng, codes, stations_by_modality, protocols, calendar, report)
        remaining -= size
    return report


def _seed_chunk(size, rng, codes, stations_by_modality, protocols, calendar, report):
    per_order = []  # requested procedures in each new order
    left = size
    while left:
        per_order.append(min(rng.choice([1, 1, 1, 2, 2, 3]), left))
        left -= per_order[-1]
    patient_keys = _new_patients(rng, count=max(1, len(per_order) * 2 // 3))
    orders = _new_orders(rng, patient_keys, count=len(per_order))
    planned = []  # (order key, priority, code) for each requested procedure
    for (order_key, priority), count in zip(orders, per_order, strict=True):
        planned.extend((order_key, priority, rng.choice(codes)) for _ in range(count))
    procedure_keys = _new_requested_procedures(planned)
    codes_of_procedures = [code for _, _, code in planned]
    step_keys = _new_steps(
        rng,
        zip(procedure_keys, codes_of_procedures, strict=True),
        stations_by_modality,
        calendar,
        report,
    )
    link = ScheduledProcedureStep.protocol_codes.through
    insert_rows(
        link,
        [
            {"scheduledprocedurestep_id": step_key, "protocolcode_id": protocol.pk}
            for step_key, code in zip(step_keys, codes_of_procedures, strict=True)
            for protocol in protocols[code.pk]
        ],
    )
    report.patients += len(patient_keys)
    report.orders += len(orders)
    report.requested_procedures += len(procedure_keys)
    report.scheduled_steps += len(step_keys)


def _new_patients(rng: random.Random, count: int) -> list[int]:
    today = timezone.localdate()
    defaults = row_defaults(Patient)
    rows = []
    for patient_id in next_identifiers("patient", count):
        if rng.random() < 0.1:
            name, sex = rng.choice(JAPANESE_NAMES)
        else:
            given, sex = rng.choice(GIVEN_NAMES)
            name = PersonName(rng.choice(FAMILY_NAMES), given)
        birth_date = today - timedelta(days=rng.randint(2 * 365, 95 * 365))
        age = (today - birth_date).days // 365
        pregnancy = None
        if sex == Sex.FEMALE and 14 <= age <= 50:
            pregnancy = rng.choice([PregnancyStatus.NOT_PREGNANT, PregnancyStatus.UNKNOWN])
        rows.append(
            {
                **defaults,
                "patient_id": patient_id,
                "issuer_of_patient_id": PATIENT_ISSUER,
                "family_name": name.family,
                "given_name": name.given,
                "name_ideographic": name.ideographic,
                "name_phonetic": name.phonetic,
                "name_search": search_key(name),
                "birth_date": birth_date,
                "sex": sex,
                "medical_alerts": rng.choice(MEDICAL_ALERTS),
                "allergies": rng.choice(ALLERGIES),
                "pregnancy_status": pregnancy,
                "weight_kg": Decimal(rng.randint(45, 120)) if age >= 16 else None,
            }
        )
    return insert_rows(Patient, rows)


def _new_orders(rng: random.Random, patient_keys: list[int], count: int):
    """New orders as (key, priority)."""
    defaults = row_defaults(Order)
    rows = [
        {
            **defaults,
            "patient_id": rng.choice(patient_keys),
            "accession_number": accession,
            "placer_order_number": f"HIS{accession[-8:]}",
            "placer_issuer": "DEMO-HIS",
            "referring_physician_name": rng.choice(PHYSICIANS),
            "requesting_physician": rng.choice(PHYSICIANS),
            "reason_for_request": rng.choice(REASONS),
            "priority": rng.choices(
                [Priority.ROUTINE, Priority.HIGH, Priority.STAT], weights=[90, 8, 2]
            )[0],
        }
        for accession in next_identifiers("accession", count)
    ]
    keys = insert_rows(Order, rows)
    return [(key, row["priority"]) for key, row in zip(keys, rows, strict=True)]


def _new_requested_procedures(planned) -> list[int]:
    defaults = row_defaults(RequestedProcedure)
    identifiers = next_identifiers("requested_procedure", len(planned))
    rows = [
        {
            **defaults,
            "order_id": order_key,
            "requested_procedure_id": rp_id,
            "procedure_code_id": code.pk,
            "description": code.code_meaning,
            "study_instance_uid": new_uid(),
            "priority": priority,
        }
        for (order_key, priority, code), rp_id in zip(planned, identifiers, strict=True)
    ]
    return insert_rows(RequestedProcedure, rows)


def _new_steps(rng, procedures, stations_by_modality, calendar, report) -> list[int]:
    """One step for each (requested procedure key, procedure code)."""
    defaults = row_defaults(ScheduledProcedureStep)
    rows = []
    for procedure_key, code in procedures:
        station = rng.choice(stations_by_modality[code.default_modality])
        day = calendar.first_day + timedelta(days=rng.randrange(calendar.days))
        start, overbooked = calendar.book(station, day, code.default_duration)
        report.overbooked_steps += overbooked
        physician = rng.choice([*PHYSICIANS, "", ""])
        rows.append(
            {
                **defaults,
                "requested_procedure_id": procedure_key,
                "modality": code.default_modality,
                "station_id": station.pk,
                "scheduled_station_ae_title": station.ae_title,
                "scheduled_station_name": station.name,
                "location": station.location,
                "start": start,
                "expected_duration": code.default_duration,
                "description": code.code_meaning,
                "performing_physician_name": physician,
                "performing_physician_search": search_key(physician),
            }
        )
    identifiers = next_identifiers("scheduled_step", len(rows))
    for row, sps_id in zip(rows, identifiers, strict=True):
        row["sps_id"] = sps_id
    return insert_rows(ScheduledProcedureStep, rows)
