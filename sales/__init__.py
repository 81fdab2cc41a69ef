"""Sales: registers, shifts, checkout and refunds (a store's schema)."""
