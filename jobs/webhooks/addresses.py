"""Where a webhook may be posted: the guards against server-side request forgery.

In production settings (`WEBHOOK_ALLOW_PRIVATE` off) a URL must be `https` (unless
`WEBHOOK_REQUIRE_HTTPS` is off) and every address its host resolves to must be a public one:
not loopback, private, link-local (169.254.169.254, the cloud metadata service), multicast,
reserved or unspecified, in IPv4 or IPv6 (IPv4-mapped IPv6 included). The check is made when
the URL is given and again for each batch of deliveries, and the requests go to the address that was
checked, so a name that resolves elsewhere the second time (DNS rebinding) gains nothing.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from django.conf import settings


class AddressRefused(ValueError):
    """A URL Kassa will not post to, and why."""


class AddressUnresolved(AddressRefused):
    """The URL's host does not resolve now: at delivery, worth another try later."""


@dataclass(frozen=True)
class Target:
    """A checked URL: its parts, and the address to connect to."""

    parts: SplitResult
    host: str
    port: int
    address: str


_GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:  # ::ffff:10.0.0.1, 2002:7f00:1::, Teredo: the IPv4 inside
            ip = embedded
        elif ip not in _GLOBAL_UNICAST_V6:
            # Outside global unicast: NAT64 (64:ff9b::/96, which reaches IPv4 inside on
            # NAT64 networks), IPv4-compatible (::7f00:1), site-local (fec0::/10), and the rest.
            return False
    return ip.is_global and not ip.is_multicast


def url_check(url: str) -> SplitResult:
    """The URL's parts if its form is one Kassa posts to (scheme, host, no credentials)."""
    parts = urlsplit(url)
    allowed = ("https",) if settings.WEBHOOK_REQUIRE_HTTPS else ("https", "http")
    if parts.scheme not in allowed:
        raise AddressRefused(f"A webhook URL is {' or '.join(allowed)}.")
    if not parts.hostname:
        raise AddressRefused("A webhook URL names a host.")
    if parts.username or parts.password:
        raise AddressRefused("A webhook URL carries no credentials; sign with the secret.")
    try:
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError as error:
        raise AddressRefused("The URL's port is out of range.") from error
    return parts


def target_resolve(url: str) -> Target:
    """Resolve the URL's host and check each address it has; the first one to connect to."""
    parts = url_check(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise AddressUnresolved(f"The host {host} does not resolve.") from error
    addresses = list(dict.fromkeys(info[4][0] for info in found))
    public = all(_is_public(address) for address in addresses)
    if not public and not settings.WEBHOOK_ALLOW_PRIVATE:
        # Which address is not said: the answers would map the network inside.
        raise AddressRefused(f"The host {host} resolves to an address that is not public.")
    return Target(parts=parts, host=host, port=port, address=addresses[0])
