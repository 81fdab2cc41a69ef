"""URLs of the sales API, under /api/sales/."""

from rest_framework.routers import SimpleRouter

from sales.apis import RegisterViewSet, SaleViewSet, ShiftViewSet

router = SimpleRouter()
router.register("registers", RegisterViewSet, basename="register")
router.register("shifts", ShiftViewSet, basename="shift")
router.register("", SaleViewSet, basename="sale")

urlpatterns = router.urls
