"""The REST API: /api/v1/ for the HIS, its OpenAPI schema and an interactive page."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from ris.api.errors import not_found
from ris.api.orders import OrderViewSet
from ris.api.patients import PatientViewSet
from ris.api.performed import PerformedStepViewSet
from ris.api.steps import ScheduledStepViewSet

router = DefaultRouter()
router.include_root_view = False
router.register("patients", PatientViewSet, basename="patient")
router.register("orders", OrderViewSet, basename="order")
router.register("scheduled-steps", ScheduledStepViewSet, basename="scheduled-step")
router.register("performed-steps", PerformedStepViewSet, basename="performed-step")

urlpatterns = [
    path("v1/", include(router.urls)),
    # Anything else under v1/ (an id that is no number, a misspelt path): a JSON 404.
    re_path(r"^v1/", not_found),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
