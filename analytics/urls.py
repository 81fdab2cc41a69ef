"""URLs of the analytics API, under /api/analytics/."""

from django.urls import path

from analytics.apis import ExportApi, RegenerateApi, SummaryApi

urlpatterns = [
    path("summary/", SummaryApi.as_view(), name="analytics-summary"),
    path("regenerate/", RegenerateApi.as_view(), name="analytics-regenerate"),
]

# Under /api/exports/.
export_urlpatterns = [path("", ExportApi.as_view(), name="exports")]
