"""Jobs: a row per background task, with its state and progress (a store's schema)."""
