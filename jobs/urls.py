"""URLs of the jobs app: /api/jobs/, and (`webhook_urlpatterns`, `event_urlpatterns`)
/api/webhooks/ and /api/events/."""

from rest_framework.routers import SimpleRouter

from jobs.apis import JobViewSet
from jobs.webhook_apis import EventViewSet, WebhookViewSet

router = SimpleRouter()
router.register("", JobViewSet, basename="job")
urlpatterns = router.urls

webhooks = SimpleRouter()
webhooks.register("", WebhookViewSet, basename="webhook")
webhook_urlpatterns = webhooks.urls

events = SimpleRouter()
events.register("", EventViewSet, basename="event")
event_urlpatterns = events.urls
