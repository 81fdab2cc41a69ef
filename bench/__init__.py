"""Benchmarks that print Kassa's figures beside the floors its issues name."""
