"""Catalog: categories, products and the stock ledger (a store's schema)."""
