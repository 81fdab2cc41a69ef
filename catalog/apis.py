"""Thin DRF views of the catalog API: categories, products, stock adjustments and movements."""

from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from catalog import services
from catalog.changes import InvalidCursor, changes_since, cursor_decode, cursor_encode
from catalog.exceptions import InsufficientStock
from catalog.filters import ProductFilter, StockMovementFilter
from catalog.models import Category, Product, StockMovement
from catalog.serializers import (
    CategorySerializer,
    ChangesQuerySerializer,
    ChangesSerializer,
    ProductSerializer,
    StockAdjustmentResultSerializer,
    StockAdjustmentSerializer,
    StockMovementSerializer,
)
from stores.permissions import EVERY_ROLE, OWNER_OR_MANAGER, store_roles
from stores.tenancy import StoreScopedViewMixin

CatalogRoles = store_roles(read=EVERY_ROLE, write=OWNER_OR_MANAGER)


@extend_schema_view(
    list=extend_schema(summary="List categories"),
    create=extend_schema(summary="Add a category"),
    retrieve=extend_schema(summary="Get a category"),
    update=extend_schema(summary="Replace a category"),
    partial_update=extend_schema(summary="Change a category"),
    destroy=extend_schema(
        summary="Delete a category",
        responses={204: None, 409: OpenApiResponse(description="`category_in_use`")},
    ),
)
class CategoryViewSet(StoreScopedViewMixin, viewsets.ModelViewSet):
    """The category tree: `parent` is another category's id, or null for a top category."""

    queryset = Category.objects.order_by("id")
    serializer_class = CategorySerializer
    permission_classes = (CatalogRoles,)
    filterset_fields = ("parent",)
    ordering_fields = ("id", "name")

    def perform_create(self, serializer: BaseSerializer) -> None:
        serializer.instance = services.category_create(**serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer) -> None:
        serializer.instance = services.category_update(
            category=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance: Category) -> None:
        services.category_delete(category=instance)


@extend_schema_view(
    list=extend_schema(summary="List products"),
    create=extend_schema(summary="Add a product"),
    retrieve=extend_schema(summary="Get a product"),
    update=extend_schema(summary="Replace a product"),
    partial_update=extend_schema(summary="Change a product"),
    destroy=extend_schema(
        summary="Delete a product",
        description="A product that was ever sold or moved is deactivated instead, and returned.",
        responses={204: None, 200: ProductSerializer},
    ),
)
class ProductViewSet(StoreScopedViewMixin, viewsets.ModelViewSet):
    """Products. `stock` is read-only here: it changes through adjust-stock, sales and refunds."""

    queryset = Product.objects.order_by("id")
    serializer_class = ProductSerializer
    permission_classes = (CatalogRoles,)
    filterset_class = ProductFilter
    ordering_fields = ("id", "name", "price", "stock", "created_at", "updated_at")

    def perform_create(self, serializer: BaseSerializer) -> None:
        serializer.instance = services.product_create(**serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer) -> None:
        serializer.instance = services.product_update(
            product=serializer.instance, **serializer.validated_data
        )

    def destroy(self, request: Request, *args: object, **kwargs: object) -> Response:
        product = self.get_object()
        if services.product_delete(product=product):
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(self.get_serializer(product).data)

    @extend_schema(
        summary="Adjust a product's stock",
        request=StockAdjustmentSerializer,
        responses={201: StockAdjustmentResultSerializer},
    )
    @action(detail=True, methods=["post"], url_path="adjust-stock")
    def adjust_stock(self, request: Request, pk: str | None = None) -> Response:
        """Record a stock change by hand; the answer is the movement with the new `stock`."""
        product = self.get_object()
        serializer = StockAdjustmentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            movement = services.stock_adjust(
                product=product, user=request.user, **serializer.validated_data
            )
        except InsufficientStock as error:
            available = error.extra["products"][0]["available"]
            raise ValidationError(
                {"delta": [f"Stock would go below zero: {available} available."]}
            ) from error
        return Response(
            StockAdjustmentResultSerializer(movement).data, status=status.HTTP_201_CREATED
        )


@extend_schema_view(
    list=extend_schema(summary="List stock movements"),
    retrieve=extend_schema(summary="Get a stock movement"),
)
class StockMovementViewSet(
    StoreScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The stock ledger: every change of stock, newest first. A product's movements sum to its
    stock."""

    queryset = StockMovement.objects.order_by("-created_at", "-id")
    serializer_class = StockMovementSerializer
    permission_classes = (store_roles(read=EVERY_ROLE),)
    filterset_class = StockMovementFilter
    ordering_fields = ("id", "created_at")


class CatalogChangesApi(StoreScopedViewMixin, APIView):
    """What changed in the catalog since a cursor, for a till's local copy."""

    permission_classes = (CatalogRoles,)

    @extend_schema(
        operation_id="catalog_changes",
        summary="Catalog changes since a cursor",
        description=(
            "Products and categories changed (created, edited, priced, deactivated) and ids "
            "deleted since `since`, oldest first, `limit` at a time. Ask again with the answer's "
            "`cursor` while `has_more`; later, ask with the last cursor for what changed since. "
            "No change is missed between pages or calls, even while the catalog is being "
            "written. Stock is not a catalog change: read it from the products."
        ),
        parameters=[ChangesQuerySerializer],
        responses={200: ChangesSerializer},
    )
    def get(self, request: Request) -> Response:
        query = ChangesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        since = query.validated_data.get("since")
        try:
            version = -1 if since is None else cursor_decode(since)
        except InvalidCursor as error:
            raise ValidationError({"since": ["Not a cursor of this API."]}) from error
        changes = changes_since(version=version, limit=query.validated_data["limit"])
        return Response(
            {
                "products": ProductSerializer(changes.products, many=True).data,
                "categories": CategorySerializer(changes.categories, many=True).data,
                "deleted": {
                    "products": changes.deleted_products,
                    "categories": changes.deleted_categories,
                },
                "cursor": cursor_encode(max(changes.version, 0)),
                "has_more": changes.has_more,
            }
        )
