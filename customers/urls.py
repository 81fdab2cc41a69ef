"""URLs of the customers API, under /api/customers/."""

from rest_framework.routers import SimpleRouter

from customers.apis import CustomerViewSet

router = SimpleRouter()
router.register("", CustomerViewSet, basename="customer")

urlpatterns = router.urls
