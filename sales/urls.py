"""URLs of the sales API, under /api/sales/."""

from rest_framework.routers import SimpleRouter

from sales.apis import RegisterViewSet

router = SimpleRouter()
router.register("registers", RegisterViewSet, basename="register")

urlpatterns = router.urls
