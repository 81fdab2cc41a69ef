"""Kassa's URLs: everything lives under /api/ with a trailing slash."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from analytics.urls import export_urlpatterns, import_urlpatterns
from core.exceptions import not_found
from jobs.urls import event_urlpatterns, webhook_urlpatterns
from sales.urls import customer_sales_urlpatterns

api_patterns = [
    path("", include("onboarding.urls")),
    path("", include("stores.urls")),
    # Imports are jobs reading files: served by analytics, above the catalog and the jobs.
    path("catalog/imports/", include(import_urlpatterns)),
    path("catalog/", include("catalog.urls")),
    path("customers/", include("customers.urls")),
    # A customer's sales are served by sales: customers knows nothing of sales.
    path("customers/", include(customer_sales_urlpatterns)),
    path("sales/", include("sales.urls")),
    path("analytics/", include("analytics.urls")),
    path("exports/", include(export_urlpatterns)),
    path("jobs/", include("jobs.urls")),
    path("webhooks/", include(webhook_urlpatterns)),
    path("events/", include(event_urlpatterns)),
    path("", include("ops.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    # Whatever else is asked under /api/ is a JSON 404, with DEBUG on too.
    re_path(r"^.*$", not_found),
]

urlpatterns = [
    path("api/", include(api_patterns)),
    path("admin/", admin.site.urls),
]

handler400 = "core.exceptions.bad_request"
handler403 = "core.exceptions.permission_denied"
handler404 = "core.exceptions.not_found"
handler500 = "core.exceptions.server_error"
