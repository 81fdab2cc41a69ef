"""Thin DRF views of the jobs API."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets

from jobs.models import Job
from jobs.serializers import JobSerializer
from stores.permissions import OWNER_OR_MANAGER, store_roles
from stores.tenancy import StoreScopedViewMixin


@extend_schema_view(
    list=extend_schema(summary="List background jobs"),
    retrieve=extend_schema(summary="Get a background job"),
)
class JobViewSet(
    StoreScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The store's background jobs, newest first: queued, running, succeeded or failed."""

    queryset = Job.objects.order_by("-id")
    serializer_class = JobSerializer
    permission_classes = (store_roles(read=OWNER_OR_MANAGER, write=OWNER_OR_MANAGER),)
    filterset_fields = ("status", "kind")
    ordering_fields = ("id", "created_at")
