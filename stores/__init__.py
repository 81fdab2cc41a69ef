"""Stores: the tenants (one PostgreSQL schema each), users, memberships and onboarding."""
