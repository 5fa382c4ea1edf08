from django.urls import path

from ris.web.views import board, booking, patients, reconcile, steps, workitems

app_name = "web"

urlpatterns = [
    path("", board.board, name="board"),
    path("book/", booking.patient_choose, name="book"),
    path("book/patient/new/", booking.patient_new, name="patient_new"),
    path("book/patient/<int:patient_pk>/", booking.book, name="book_for"),
    path("patients/<int:pk>/", patients.patient, name="patient"),
    path("steps/<int:pk>/reschedule/", steps.reschedule, name="step_reschedule"),
    path("steps/<int:pk>/cancel/", steps.cancel, name="step_cancel"),
    path("steps/<int:pk>/arrive/", steps.arrive, name="step_arrive"),
    path("mpps/unmatched/", reconcile.unmatched_mpps, name="unmatched_mpps"),
    path("mpps/<int:pk>/link/", reconcile.mpps_link, name="mpps_link"),
    path("workitems/", workitems.workitems, name="workitems"),
    path("workitems/<int:pk>/cancel/", workitems.workitem_cancel, name="workitem_cancel"),
]
