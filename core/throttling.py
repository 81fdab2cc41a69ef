"""Who a client is, for throttles and the admin's lockout, and DRF's throttles counting in the
`shared` cache (a client's rate is one across all stores).

A client is its socket's address. Only with `NUM_PROXIES` set do proxies in front count: the
address that many hops back in `X-Forwarded-For`, which those proxies wrote. Trusting the header
without them would let a client name a new address on every request and never be throttled.
"""

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest
from rest_framework import throttling


def client_address(request: HttpRequest) -> str:
    """The client's address: the socket's, or with NUM_PROXIES, the one the first proxy saw."""
    remote_address = request.META.get("REMOTE_ADDR", "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if not settings.NUM_PROXIES or not forwarded:
        return remote_address
    hops = [address.strip() for address in forwarded.split(",")]
    return hops[-min(settings.NUM_PROXIES, len(hops))]


class _ByClientAddress:
    def get_ident(self, request: HttpRequest) -> str:
        return client_address(request)


class AnonRateThrottle(_ByClientAddress, throttling.AnonRateThrottle):
    cache = caches["shared"]


class UserRateThrottle(_ByClientAddress, throttling.UserRateThrottle):
    cache = caches["shared"]


class ScopedRateThrottle(_ByClientAddress, throttling.ScopedRateThrottle):
    cache = caches["shared"]
