"""Thin DRF views of the analytics API: the summary, and rebuilds as background jobs."""

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from analytics.selectors import analytics_summary
from analytics.serializers import (
    CatalogImportResponseSerializer,
    CatalogImportSerializer,
    ExportResponseSerializer,
    ExportSerializer,
    RegenerateResponseSerializer,
    RegenerateSerializer,
    SummaryQuerySerializer,
    SummarySerializer,
)
from analytics.tasks import analytics_rebuild_enqueue, catalog_import_enqueue, export_enqueue
from core.exceptions import PayloadTooLarge
from jobs.serializers import JobSerializer
from stores.clock import local_today
from stores.permissions import OWNER_OR_MANAGER, store_roles
from stores.tenancy import StoreScopedViewMixin

AnalyticsRoles = store_roles(read=OWNER_OR_MANAGER, write=OWNER_OR_MANAGER)


class SummaryApi(StoreScopedViewMixin, GenericAPIView):
    """Sales figures of a range of the store's local days, from the precomputed tables."""

    permission_classes = (AnalyticsRoles,)
    serializer_class = SummarySerializer
    filter_backends = ()

    @extend_schema(
        operation_id="analytics_summary",
        summary="Sales summary",
        parameters=[SummaryQuerySerializer],
        responses={200: SummarySerializer},
    )
    def get(self, request: Request) -> Response:
        """`revenue` is the sum of sale totals, `refunds` of refund totals (on the refund's day),
        `items_sold` the quantity sold before refunds, `by_payment_method` what each method took
        net of change and before refunds. Without `from`/`to`: the 30 days up to today."""
        query = SummaryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        first, last = query.resolve(local_today(request.store))
        summary = analytics_summary(store=request.store, first=first, last=last)
        return Response(SummarySerializer(summary).data)


class RegenerateApi(StoreScopedViewMixin, GenericAPIView):
    """Rebuild the store's analytics in the background."""

    permission_classes = (AnalyticsRoles,)
    serializer_class = RegenerateSerializer

    @extend_schema(
        operation_id="analytics_regenerate",
        summary="Rebuild analytics",
        request=RegenerateSerializer,
        responses={202: RegenerateResponseSerializer},
    )
    def post(self, request: Request) -> Response:
        """Queue a job rebuilding the range (everything without one); follow it at
        `/api/jobs/{id}/`. When it has succeeded, the summary matches the sales exactly."""
        serializer = RegenerateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = analytics_rebuild_enqueue(
            date_from=serializer.validated_data.get("from"),
            date_to=serializer.validated_data.get("to"),
            user=request.user,
        )
        return Response({"job": JobSerializer(job).data}, status=status.HTTP_202_ACCEPTED)


class ExportApi(StoreScopedViewMixin, GenericAPIView):
    """Export the store's products, customers, sales, sale lines or stock movements."""

    permission_classes = (AnalyticsRoles,)
    serializer_class = ExportSerializer

    @extend_schema(
        operation_id="exports_create",
        summary="Export data as a file",
        request=ExportSerializer,
        responses={202: ExportResponseSerializer},
    )
    def post(self, request: Request) -> Response:
        """Queue a job writing the export as CSV or XLSX (sales, sale lines and stock movements
        over the local days `from`–`to`; products and customers made then; all without them).
        Once it has succeeded, `GET /api/jobs/{id}/download/` serves the file for
        `JOB_FILES_KEEP_HOURS`."""
        serializer = ExportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        job = export_enqueue(
            kind=data["kind"],
            format=data["format"],
            date_from=data.get("from"),
            date_to=data.get("to"),
            user=request.user,
        )
        return Response({"job": JobSerializer(job).data}, status=status.HTTP_202_ACCEPTED)


class CatalogImportApi(StoreScopedViewMixin, GenericAPIView):
    """Import products from a CSV or XLSX file."""

    permission_classes = (AnalyticsRoles,)
    serializer_class = CatalogImportSerializer
    parser_classes = (MultiPartParser, FormParser)

    @extend_schema(
        operation_id="catalog_imports_create",
        summary="Import products from a file",
        request={"multipart/form-data": CatalogImportSerializer},
        responses={
            202: CatalogImportResponseSerializer,
            413: OpenApiResponse(description="`payload_too_large`: past `IMPORT_MAX_BYTES`"),
        },
    )
    def post(self, request: Request) -> Response:
        """Queue a job importing the file: rows upsert products by `sku`, else `barcode` (else,
        with neither, by name); categories are made as their paths need; `stock` is set by a
        `count` movement. Follow the job at `/api/jobs/{id}/`: its `result` reports created,
        updated, unchanged and every error by row and column."""
        limit = settings.IMPORT_MAX_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit + 64 * 1024:  # refused before the body is read
            raise PayloadTooLarge(f"An import file has at most {limit} bytes.")
        serializer = CatalogImportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["file"].size > limit:
            raise PayloadTooLarge(f"An import file has at most {limit} bytes.")
        job = catalog_import_enqueue(
            upload=data["file"], dry_run=data["dry_run"], partial=data["partial"], user=request.user
        )
        return Response({"job": JobSerializer(job).data}, status=status.HTTP_202_ACCEPTED)
