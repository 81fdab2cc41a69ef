"""URLs of the analytics API, under /api/analytics/."""

from django.urls import path

from analytics.apis import CatalogImportApi, ExportApi, RegenerateApi, SummaryApi

urlpatterns = [
    path("summary/", SummaryApi.as_view(), name="analytics-summary"),
    path("regenerate/", RegenerateApi.as_view(), name="analytics-regenerate"),
]

# Under /api/exports/.
export_urlpatterns = [path("", ExportApi.as_view(), name="exports")]

# Under /api/catalog/imports/: the catalog knows nothing of files and jobs.
import_urlpatterns = [path("", CatalogImportApi.as_view(), name="catalog-imports")]
