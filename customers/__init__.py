"""Customers: a store's shoppers and their purchase aggregates (a store's schema)."""
