"""Scheduled steps: read and reschedule (/api/v1/scheduled-steps/), and the
serializers the order endpoints nest."""

from datetime import timedelta

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ris.api.errors import ApiErrorsMixin, error_responses
from ris.api.filters import ScheduledStepFilter
from ris.api.pagination import ApiPagination
from ris.mpps.models import PerformedProcedureStep
from ris.scheduling import selectors, services
from ris.scheduling.models import Modality, ScheduledProcedureStep, Station


class ActiveStationField(serializers.SlugRelatedField):
    """A station by its AE title; one out of service is refused by name."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="ae_title", queryset=Station.objects.all(), **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            # PostgreSQL refuses NUL in text before any lookup could say "not found".
            raise serializers.ValidationError("An AE title has no NUL character.")
        station = super().to_internal_value(data)
        if not station.active:
            raise serializers.ValidationError(f"The station {station} is not in service.")
        return station


class PerformedStepSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = PerformedProcedureStep
        ref_name = "PerformedStepSummary"
        fields = ["id", "sop_instance_uid", "status", "start", "end", "updated_at"]


class ScheduledStepOutputSerializer(serializers.ModelSerializer):
    station = serializers.SlugRelatedField(slug_field="ae_title", read_only=True)
    expected_duration_minutes = serializers.SerializerMethodField()
    performed_steps = PerformedStepSummarySerializer(many=True, read_only=True)

    class Meta:
        model = ScheduledProcedureStep
        ref_name = "ScheduledStep"
        fields = [
            "id",
            "sps_id",
            "status",
            "start",
            "expected_duration_minutes",
            "modality",
            "station",
            "scheduled_station_ae_title",
            "scheduled_station_name",
            "location",
            "performing_physician_name",
            "description",
            "pre_medication",
            "requested_contrast_agent",
            "comments",
            "performed_steps",
            "created_at",
            "updated_at",
        ]

    def get_expected_duration_minutes(self, step: ScheduledProcedureStep) -> int:
        return int(step.expected_duration.total_seconds() // 60)


class ScheduledStepListSerializer(ScheduledStepOutputSerializer):
    order = serializers.IntegerField(source="requested_procedure.order_id", read_only=True)
    accession_number = serializers.CharField(
        source="requested_procedure.order.accession_number", read_only=True
    )
    requested_procedure_id = serializers.CharField(
        source="requested_procedure.requested_procedure_id", read_only=True
    )

    class Meta(ScheduledStepOutputSerializer.Meta):
        ref_name = "ScheduledStepWithOrder"
        fields = [
            "order",
            "accession_number",
            "requested_procedure_id",
            *ScheduledStepOutputSerializer.Meta.fields,
        ]


class StepInputSerializer(serializers.Serializer):
    start = serializers.DateTimeField(help_text="ISO 8601, with time zone.")
    station = ActiveStationField(
        required=False, allow_null=True, default=None, help_text="The station's AE title."
    )
    modality = serializers.ChoiceField(
        choices=Modality.choices, required=False, default="", help_text="Default: the station's."
    )
    expected_duration_minutes = serializers.IntegerField(
        min_value=1, max_value=24 * 60, required=False, allow_null=True, default=None
    )
    performing_physician_name = serializers.CharField(
        max_length=64, required=False, default="", help_text="DICOM PN: Family^Given."
    )
    description = serializers.CharField(max_length=64, required=False, default="")
    pre_medication = serializers.CharField(max_length=64, required=False, default="")
    requested_contrast_agent = serializers.CharField(max_length=64, required=False, default="")
    comments = serializers.CharField(max_length=10240, required=False, default="")

    class Meta:
        ref_name = "ScheduledStepInput"

    @staticmethod
    def to_request(data: dict) -> services.StepRequest:
        minutes = data.pop("expected_duration_minutes")
        duration = timedelta(minutes=minutes) if minutes else None
        return services.StepRequest(expected_duration=duration, **data)


class RescheduleInputSerializer(serializers.Serializer):
    start = serializers.DateTimeField(help_text="The new start, ISO 8601 with time zone.")
    station = ActiveStationField(
        required=False, allow_null=True, default=None, help_text="A new station's AE title."
    )

    class Meta:
        ref_name = "RescheduleInput"


@extend_schema_view(
    list=extend_schema(
        summary="List and filter scheduled steps",
        responses={200: ScheduledStepListSerializer(many=True), **error_responses(400, 404)},
    ),
    retrieve=extend_schema(
        summary="A scheduled step",
        responses={200: ScheduledStepListSerializer, **error_responses(404)},
    ),
)
class ScheduledStepViewSet(ApiErrorsMixin, viewsets.GenericViewSet):
    role_permissions = (
        "scheduling.view_scheduledprocedurestep",
        "scheduling.change_scheduledprocedurestep",
    )
    serializer_class = ScheduledStepListSerializer
    pagination_class = ApiPagination
    filterset_class = ScheduledStepFilter

    def get_queryset(self):
        return selectors.scheduled_steps_list().order_by("start", "pk")

    def list(self, request):
        steps = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(ScheduledStepListSerializer(steps, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(ScheduledStepListSerializer(self.get_object()).data)

    @extend_schema(
        summary="Reschedule a step that has not started",
        description=(
            "A new start, and optionally a new station (the step then takes its AE title, "
            "name, room and modality). A step already started or done is refused (409). "
            "A slot the station has no room for (Station.capacity) is refused (409)."
        ),
        request=RescheduleInputSerializer,
        responses={200: ScheduledStepListSerializer, **error_responses(400, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def reschedule(self, request, pk=None):
        step = self.get_object()
        serializer = RescheduleInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        step = services.scheduled_step_reschedule(step=step, **serializer.validated_data)
        step = self.get_queryset().get(pk=step.pk)
        return Response(ScheduledStepListSerializer(step).data)
