"""URLs of the operational endpoints: the health check."""

from django.urls import path

from ops.apis import HealthApi

urlpatterns = [
    path("health/", HealthApi.as_view(), name="health"),
]
