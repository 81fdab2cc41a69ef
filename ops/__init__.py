"""What operators run: demo data, legacy adoption, `doctor`, the management commands
(`migrate_schemas`, `seed_demo`, `demo_store`, `adopt_legacy_data`, `doctor`,
`purge_idempotency_keys`), the health check and the helpers that start Kassa's processes."""
