"""Performed procedure steps (MPPS) as the modalities reported them: read only
(/api/v1/performed-steps/)."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from ris.api.errors import ApiErrorsMixin, error_responses
from ris.api.filters import PerformedStepFilter
from ris.api.pagination import ApiPagination
from ris.mpps.models import PerformedProcedureStep


class PerformedStepOutputSerializer(serializers.ModelSerializer):
    scheduled_steps = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    dataset = serializers.JSONField(help_text="Every attribute as sent, in DICOM JSON.")

    class Meta:
        model = PerformedProcedureStep
        ref_name = "PerformedStep"
        fields = [
            "id",
            "sop_instance_uid",
            "status",
            "performed_procedure_step_id",
            "modality",
            "performed_station_ae_title",
            "start",
            "end",
            "patient_id",
            "accession_number",
            "study_instance_uid",
            "scheduled_steps",
            "dataset",
            "created_at",
            "updated_at",
        ]


@extend_schema_view(
    list=extend_schema(
        summary="List and filter performed steps",
        responses={200: PerformedStepOutputSerializer(many=True), **error_responses(400, 404)},
    ),
    retrieve=extend_schema(
        summary="A performed step",
        responses={200: PerformedStepOutputSerializer, **error_responses(404)},
    ),
)
class PerformedStepViewSet(ApiErrorsMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = PerformedStepOutputSerializer
    role_permissions = ("mpps.view_performedprocedurestep", "mpps.change_performedprocedurestep")
    pagination_class = ApiPagination
    filterset_class = PerformedStepFilter

    def get_queryset(self):
        return PerformedProcedureStep.objects.prefetch_related("scheduled_steps").order_by("-pk")
