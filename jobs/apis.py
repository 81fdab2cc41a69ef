"""Thin DRF views of the jobs API."""

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request

from core.exceptions import Conflict
from core.negotiation import FileAnswerNegotiation
from jobs.files import job_file
from jobs.models import Job
from jobs.serializers import JobSerializer
from stores.permissions import OWNER_OR_MANAGER, store_roles
from stores.tenancy import StoreScopedViewMixin

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class JobNotFinished(Conflict):
    default_detail = "This job has not finished yet; its file comes when it has succeeded."
    default_code = "job_not_finished"


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
    lookup_value_regex = r"[0-9]+"

    @extend_schema(
        summary="Download a job's file",
        responses={
            (200, "text/csv"): OpenApiTypes.BINARY,
            (
                200,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ): OpenApiTypes.BINARY,
            404: OpenApiResponse(description="No such job, or it made no file (or no more)."),
            409: OpenApiResponse(description="`job_not_finished`: it has not succeeded yet."),
        },
    )
    @action(detail=True, methods=["get"], content_negotiation_class=FileAnswerNegotiation)
    def download(self, request: Request, pk: str | None = None) -> FileResponse:
        """The file an export job wrote, once it has succeeded, while it is kept."""
        job = self.get_object()
        if job.status in (Job.Status.QUEUED, Job.Status.RUNNING):
            raise JobNotFinished
        path = job_file(job)
        if path is None:
            raise NotFound("This job has no file to download (or it is no longer kept).")
        extension = job.result["extension"]
        return FileResponse(
            path.open("rb"),
            as_attachment=True,
            filename=str(job.result.get("filename") or path.name),
            content_type=CONTENT_TYPES[extension],
        )
