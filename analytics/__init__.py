"""Analytics: per-store precomputed sales figures, rebuilt by Celery jobs (a store's schema)."""
