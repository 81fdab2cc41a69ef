"""Onboarding: signup as one flow, read top to bottom (user, store, schema, owner, register)."""
