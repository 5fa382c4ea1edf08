from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from ris.health import health
from ris.web.views.login import ThrottledLoginView

admin.site.site_header = "RIS administration"
admin.site.site_title = "RIS"
admin.site.index_title = "Schedule and reference data"
# The schedule needs the width more than the app list does.
admin.site.enable_nav_sidebar = False

urlpatterns = [
    path("", include("ris.web.urls")),
    path("health/", health, name="health"),
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(success_url="/"),
        name="password_change",
    ),
    path("audit/", include("ris.audit.urls")),
    path("admin/", admin.site.urls),
    path("_nested_admin/", include("nested_admin.urls")),
    path("api/", include("ris.api.urls")),
    path("dicomweb/", include("ris.upsrs.urls")),
]
