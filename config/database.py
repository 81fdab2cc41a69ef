"""The running database as a DATABASE_URL, for the processes Kassa starts (workers, servers)."""

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote


def database_url(settings: Mapping[str, Any]) -> str:
    """A URL reaching the database of `settings` (a DATABASES entry), sockets included."""
    user = quote(settings.get("USER") or "", safe="")
    password = quote(str(settings.get("PASSWORD") or ""), safe="")
    name = settings["NAME"]
    socket_directory = (settings.get("OPTIONS") or {}).get("host") or ""
    host = settings.get("HOST") or ""
    if host.startswith("/"):
        socket_directory, host = host, ""
    if socket_directory:  # the embedded PostgreSQL listens on a Unix socket
        return f"postgresql://{user}:{password}@/{name}?host={quote(socket_directory)}"
    return f"postgresql://{user}:{password}@{host}:{settings.get('PORT') or 5432}/{name}"
