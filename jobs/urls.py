"""URLs of the jobs API, under /api/jobs/."""

from rest_framework.routers import SimpleRouter

from jobs.apis import JobViewSet

router = SimpleRouter()
router.register("", JobViewSet, basename="job")

urlpatterns = router.urls
