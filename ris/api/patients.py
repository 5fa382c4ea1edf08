"""Patients: register, read, correct, search and merge (/api/v1/patients/)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ris.api.errors import ApiErrorsMixin, error_responses
from ris.api.filters import PatientFilter
from ris.api.pagination import ApiPagination
from ris.scheduling import selectors, services
from ris.scheduling.models import OtherPatientID, Patient

PATIENT_FIELDS = [
    "patient_id",
    "issuer_of_patient_id",
    *Patient.NAME_FIELDS,
    "birth_date",
    "sex",
    "medical_alerts",
    "allergies",
    "pregnancy_status",
    "weight_kg",
    "size_m",
]


class OtherPatientIDSerializer(serializers.ModelSerializer):
    patient_id = serializers.CharField(source="other_patient_id")

    class Meta:
        model = OtherPatientID
        fields = ["patient_id", "issuer_of_patient_id", "type_of_patient_id"]


class PatientOutputSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField(help_text="Patient's Name (0010,0010) as DICOM PN.")
    other_ids = OtherPatientIDSerializer(many=True, read_only=True)

    class Meta:
        model = Patient
        ref_name = "Patient"
        fields = ["id", "name", *PATIENT_FIELDS, "other_ids", "created_at", "updated_at"]

    def get_name(self, patient: Patient) -> str:
        return patient.name.alphabetic


class PatientInputSerializer(serializers.ModelSerializer):
    """The fields' VR checks run here, field by field; the service checks the
    whole patient again, and the uniqueness of its ID (409)."""

    class Meta:
        model = Patient
        ref_name = "PatientInput"
        fields = PATIENT_FIELDS
        # Uniqueness is the service's to check: a duplicate is a 409, not a 400.
        validators: list = []


class PatientMergeInputSerializer(serializers.Serializer):
    merged_patient = serializers.PrimaryKeyRelatedField(
        queryset=Patient.objects.all(),
        help_text="The id of the record merged into this one; it is removed.",
    )

    class Meta:
        ref_name = "PatientMergeInput"


@extend_schema_view(
    list=extend_schema(
        summary="Search patients",
        responses={200: PatientOutputSerializer(many=True), **error_responses(400, 404)},
    ),
    retrieve=extend_schema(
        summary="A patient",
        responses={200: PatientOutputSerializer, **error_responses(404)},
    ),
    create=extend_schema(
        summary="Register a patient",
        request=PatientInputSerializer,
        responses={201: PatientOutputSerializer, **error_responses(400, 409)},
    ),
    partial_update=extend_schema(
        summary="Correct a patient",
        request=PatientInputSerializer(partial=True),
        responses={200: PatientOutputSerializer, **error_responses(400, 404, 409)},
    ),
)
class PatientViewSet(ApiErrorsMixin, viewsets.GenericViewSet):
    role_permissions = ("scheduling.view_patient", "scheduling.change_patient")
    serializer_class = PatientOutputSerializer
    pagination_class = ApiPagination
    filterset_class = PatientFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.patients_list().order_by("pk")

    def list(self, request):
        patients = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(patients)
        return self.get_paginated_response(PatientOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(PatientOutputSerializer(self.get_object()).data)

    def create(self, request):
        data = _valid(PatientInputSerializer, request.data)
        patient = services.patient_create(**data)
        return Response(PatientOutputSerializer(patient).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        patient = self.get_object()
        data = _valid(PatientInputSerializer, request.data, instance=patient, partial=True)
        patient = services.patient_update(patient=patient, **data)
        return Response(PatientOutputSerializer(_fresh(patient)).data)

    @extend_schema(
        summary="Merge another patient record into this one",
        description=(
            "Every order of the merged record moves to this one, its Patient ID is kept "
            "among this one's other IDs, and the merged record is removed (one transaction)."
        ),
        request=PatientMergeInputSerializer,
        responses={200: PatientOutputSerializer, **error_responses(400, 404)},
    )
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        surviving = self.get_object()
        data = _valid(PatientMergeInputSerializer, request.data)
        patient = services.patient_merge(surviving=surviving, merged=data["merged_patient"])
        return Response(PatientOutputSerializer(_fresh(patient)).data)


def _valid(serializer_class, data, **kwargs) -> dict:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _fresh(patient: Patient) -> Patient:
    return get_object_or_404(selectors.patients_list(), pk=patient.pk)
