"""Foundation figures: signup latency (authenticated owner) and statements per store-scoped GET.

    python bench/foundation.py [--signups 10]

Runs the full Django stack in-process against DATABASE_URL (or the embedded PostgreSQL), then
removes the stores it made.
"""

import argparse
import statistics
import time

from _setup import setup_django

setup_django()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402
from rest_framework_simplejwt.tokens import RefreshToken  # noqa: E402

from stores.models import Store, User  # noqa: E402


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--signups", type=int, default=10)
    args = parser.parse_args()

    owner, _ = User.objects.get_or_create(email="bench-owner@bench.kassa.local")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(owner).access_token}")
    made: list[str] = []
    try:
        seconds = []
        for number in range(args.signups):
            started = time.perf_counter()
            response = client.post(
                "/api/stores/signup/",
                {"store_name": f"Bench Store {number}", "currency": "EUR", "timezone": "UTC"},
                format="json",
            )
            seconds.append(time.perf_counter() - started)
            assert response.status_code == 201, response.content
            made.append(response.json()["store"]["tenant_key"])

        client.credentials(
            HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(owner).access_token}",
            HTTP_X_TENANT_KEY=made[0],
        )
        client.get("/api/sales/registers/")  # warm the tenant-key cache
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/sales/registers/1/")
        assert response.status_code == 200, response.content
        statements = [query["sql"] for query in queries.captured_queries]
        sets = [
            sql
            for sql in statements
            if sql.upper().startswith("SET SEARCH_PATH") or "set_config('search_path'" in sql
        ]

        print(f"signup, authenticated owner ({args.signups} stores, via the API):")
        print(
            f"  p50 {statistics.median(seconds) * 1000:.0f} ms   "
            f"p90 {percentile(seconds, 0.9) * 1000:.0f} ms   "
            f"min {min(seconds) * 1000:.0f} ms   max {max(seconds) * 1000:.0f} ms"
        )
        print("store-scoped GET /api/sales/registers/1/ on a warm tenant cache:")
        print(f"  {len(statements)} statements, {len(sets)} SET search_path (floor: at most 1)")
        for sql in statements:
            print(f"    {sql[:110]}")
    finally:
        for store in Store.objects.filter(tenant_key__in=made):
            store.delete(force_drop=True)
        owner.delete()


if __name__ == "__main__":
    main()
