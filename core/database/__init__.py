"""Kassa's database backend: django-tenants' PostgreSQL backend, whose search path never falls
through to `public` for a store schema that does not exist."""
