"""Orders: book (idempotently), read, change, cancel (/api/v1/orders/)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ris.api.errors import ApiErrorsMixin, error_responses
from ris.api.filters import OrderFilter
from ris.api.pagination import ApiPagination
from ris.api.steps import ScheduledStepOutputSerializer, StepInputSerializer
from ris.scheduling import selectors, services
from ris.scheduling.models import Order, Patient, Priority, ProcedureCode, RequestedProcedure

# What identifies an order, fixed at booking, then what may be changed after.
ORDER_FIELDS = [
    "accession_number",
    "issuer_of_accession_number",
    "placer_order_number",
    "placer_issuer",
    *sorted(services.ORDER_UPDATABLE_FIELDS),
]


class CodeSerializer(serializers.Serializer):
    code_value = serializers.CharField(max_length=16)
    coding_scheme_designator = serializers.CharField(max_length=16)
    code_meaning = serializers.CharField(read_only=True)

    class Meta:
        ref_name = "ProcedureCode"


class RequestedProcedureOutputSerializer(serializers.ModelSerializer):
    procedure_code = CodeSerializer()
    scheduled_steps = ScheduledStepOutputSerializer(many=True)

    class Meta:
        model = RequestedProcedure
        ref_name = "RequestedProcedure"
        fields = [
            "id",
            "requested_procedure_id",
            "study_instance_uid",
            "procedure_code",
            "description",
            "priority",
            "scheduled_steps",
            "created_at",
            "updated_at",
        ]


class OrderOutputSerializer(serializers.ModelSerializer):
    patient_id = serializers.CharField(source="patient.patient_id", read_only=True)
    issuer_of_patient_id = serializers.CharField(
        source="patient.issuer_of_patient_id", read_only=True
    )
    requested_procedures = RequestedProcedureOutputSerializer(many=True)

    class Meta:
        model = Order
        ref_name = "Order"
        fields = [
            "id",
            "patient",
            "patient_id",
            "issuer_of_patient_id",
            *ORDER_FIELDS,
            "status",
            "requested_procedures",
            "created_at",
            "updated_at",
        ]


class ProcedureInputSerializer(serializers.Serializer):
    procedure_code = CodeSerializer(help_text="A code of the RIS's procedure catalog.")
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.ROUTINE)
    description = serializers.CharField(max_length=64, required=False, default="")
    scheduled_steps = StepInputSerializer(many=True, allow_empty=False)

    class Meta:
        ref_name = "RequestedProcedureInput"

    def validate_procedure_code(self, value: dict) -> ProcedureCode:
        code = ProcedureCode.objects.filter(
            code_value=value["code_value"],
            coding_scheme_designator=value["coding_scheme_designator"],
        ).first()
        if code is None:
            raise serializers.ValidationError("No such procedure code in the catalog.")
        if not code.active:
            raise serializers.ValidationError(f"The procedure {code} is no longer offered.")
        return code

    def to_request(self, data: dict) -> services.ProcedureRequest:
        return services.ProcedureRequest(
            procedure_code=data["procedure_code"],
            priority=data["priority"],
            description=data["description"],
            steps=[StepInputSerializer.to_request(step) for step in data["scheduled_steps"]],
        )


class OrderInputSerializer(serializers.ModelSerializer):
    patient = serializers.PrimaryKeyRelatedField(
        queryset=Patient.objects.all(), help_text="The patient's id."
    )
    requested_procedures = ProcedureInputSerializer(many=True, allow_empty=False)

    class Meta:
        model = Order
        ref_name = "OrderInput"
        fields = ["patient", *ORDER_FIELDS, "requested_procedures"]
        # Uniqueness is the service's: a repeated placer order number is a retry.
        validators: list = []


class OrderUpdateInputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Order
        ref_name = "OrderUpdateInput"
        fields = sorted(services.ORDER_UPDATABLE_FIELDS)


def _order_response(order: Order, *, http_status: int = status.HTTP_200_OK) -> Response:
    order = selectors.orders_list().get(pk=order.pk)
    return Response(OrderOutputSerializer(order).data, status=http_status)


@extend_schema_view(
    list=extend_schema(
        summary="List and filter orders",
        responses={200: OrderOutputSerializer(many=True), **error_responses(400, 404)},
    ),
    retrieve=extend_schema(
        summary="An order with its status, procedures, steps and performed steps",
        responses={200: OrderOutputSerializer, **error_responses(404)},
    ),
    create=extend_schema(
        summary="Book an order with its procedures and steps",
        description=(
            "All or nothing, in one transaction. Idempotent by placer_order_number within "
            "placer_issuer: a repeated request gets the order the first one booked (200), a "
            "different request under the same number a 409."
        ),
        request=OrderInputSerializer,
        responses={
            201: OpenApiResponse(OrderOutputSerializer, description="Booked."),
            200: OpenApiResponse(OrderOutputSerializer, description="Booked before: a retry."),
            **error_responses(400, 409),
        },
    ),
    partial_update=extend_schema(
        summary="Change an order's request details",
        request=OrderUpdateInputSerializer,
        responses={200: OrderOutputSerializer, **error_responses(400, 404, 409)},
    ),
)
class OrderViewSet(ApiErrorsMixin, viewsets.GenericViewSet):
    role_permissions = ("scheduling.view_order", "scheduling.change_order")
    serializer_class = OrderOutputSerializer
    pagination_class = ApiPagination
    filterset_class = OrderFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.orders_list().order_by("-created_at", "-pk")

    def list(self, request):
        orders = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(orders)
        return self.get_paginated_response(OrderOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(OrderOutputSerializer(self.get_object()).data)

    def create(self, request):
        serializer = OrderInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        procedures = [
            ProcedureInputSerializer().to_request(procedure)
            for procedure in data.pop("requested_procedures")
        ]
        order, created = services.order_create_once(procedures=procedures, **data)
        return _order_response(
            order, http_status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    def partial_update(self, request, pk=None):
        order = self.get_object()
        serializer = OrderUpdateInputSerializer(data=request.data, instance=order, partial=True)
        serializer.is_valid(raise_exception=True)
        return _order_response(services.order_update(order=order, **serializer.validated_data))

    @extend_schema(
        summary="Cancel an order",
        description=(
            "Its steps that have not started become CANCELED and leave the worklist; the "
            "order becomes CANCELED. Canceling a canceled order changes nothing. An order "
            "with a step started or done is refused (409)."
        ),
        request=None,
        responses={200: OrderOutputSerializer, **error_responses(404, 409)},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return _order_response(services.order_cancel(order=self.get_object()))
