"""URLs of the catalog API, under /api/catalog/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from catalog.apis import CatalogChangesApi, CategoryViewSet, ProductViewSet, StockMovementViewSet

router = SimpleRouter()
router.register("categories", CategoryViewSet, basename="category")
router.register("products", ProductViewSet, basename="product")
router.register("stock-movements", StockMovementViewSet, basename="stock-movement")

urlpatterns = [
    path("changes/", CatalogChangesApi.as_view(), name="catalog-changes"),
    *router.urls,
]
