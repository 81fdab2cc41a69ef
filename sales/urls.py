"""URLs of the sales API, under /api/sales/; and a customer's sales, under /api/customers/."""

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from sales.apis import (
    CustomerSalesApi,
    RegisterViewSet,
    SaleConflictListApi,
    SaleSyncApi,
    SaleViewSet,
    ShiftViewSet,
)

router = SimpleRouter()
router.register("registers", RegisterViewSet, basename="register")
router.register("shifts", ShiftViewSet, basename="shift")
router.register("", SaleViewSet, basename="sale")

urlpatterns = [
    path("sync/", SaleSyncApi.as_view(), name="sale-sync"),
    path("conflicts/", SaleConflictListApi.as_view(), name="sale-conflicts"),
    *router.urls,
]

# The customers router's lookup pattern, so /api/customers/{id}/ and its sales agree on ids.
customer_sales_urlpatterns = [
    re_path(r"^(?P<pk>[^/.]+)/sales/$", CustomerSalesApi.as_view(), name="customer-sales"),
]
