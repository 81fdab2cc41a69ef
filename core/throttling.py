"""DRF's throttles, counting in the `shared` cache: a client's rate is one across all stores."""

from django.core.cache import caches
from rest_framework import throttling


class AnonRateThrottle(throttling.AnonRateThrottle):
    cache = caches["shared"]


class UserRateThrottle(throttling.UserRateThrottle):
    cache = caches["shared"]


class ScopedRateThrottle(throttling.ScopedRateThrottle):
    cache = caches["shared"]
