"""The DICOMweb endpoints under /dicomweb/: UPS-RS resources (PS3.18 Table 11.1.1-1)."""

from django.urls import path

from ris.upsrs import views

urlpatterns = [
    path("workitems", views.WorkitemsView.as_view(), name="upsrs-workitems"),
    path("workitems/<str:uid>", views.WorkitemView.as_view(), name="upsrs-workitem"),
    path("workitems/<str:uid>/state", views.StateView.as_view(), name="upsrs-state"),
    path(
        "workitems/<str:uid>/cancelrequest",
        views.CancelRequestView.as_view(),
        name="upsrs-cancelrequest",
    ),
    path(
        "workitems/<str:uid>/subscribers/<str:aetitle>",
        views.SubscriptionView.as_view(),
        name="upsrs-subscription",
    ),
    path(
        "workitems/<str:uid>/subscribers/<str:aetitle>/suspend",
        views.SuspendView.as_view(),
        name="upsrs-suspend",
    ),
]
