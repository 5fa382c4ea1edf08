from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "RIS administration"
admin.site.site_title = "RIS"
admin.site.index_title = "Schedule and reference data"
# The schedule needs the width more than the app list does.
admin.site.enable_nav_sidebar = False

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
    path("_nested_admin/", include("nested_admin.urls")),
    path("api/", include("ris.api.urls")),
    path("dicomweb/", include("ris.upsrs.urls")),
]
