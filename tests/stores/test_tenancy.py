"""The tenant-key registry: cached, invalidated when a store changes, and strict about keys."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from stores.tenancy import store_for_tenant_key


def test_a_warm_cache_resolves_a_key_without_a_query(store_a):
    key = store_a.store.tenant_key
    assert store_for_tenant_key(key) == store_a.store

    with CaptureQueriesContext(connection) as queries:
        store = store_for_tenant_key(key)

    assert queries.captured_queries == []
    assert store.pk == store_a.store.pk
    assert store.schema_name == store_a.store.schema_name


def test_a_renamed_store_is_read_again(store_a):
    key = store_a.store.tenant_key
    store_for_tenant_key(key)

    store_a.store.name = "Renamed"
    store_a.store.save()

    assert store_for_tenant_key(key).name == "Renamed"


def test_an_unknown_key_is_remembered_briefly(db):
    assert store_for_tenant_key("nosuch_0badc0de") is None

    with CaptureQueriesContext(connection) as queries:
        assert store_for_tenant_key("nosuch_0badc0de") is None

    assert queries.captured_queries == []


def test_malformed_keys_cost_no_query(db):
    with CaptureQueriesContext(connection) as queries:
        for key in ["", "UPPER", "a" * 65, "with space", "semi;colon", "ключ", "tab\tkey"]:
            assert store_for_tenant_key(key) is None

    assert queries.captured_queries == []


def test_a_deleted_store_is_forgotten(store_a):
    key = store_a.store.tenant_key
    store_for_tenant_key(key)

    store_a.store.delete()

    assert store_for_tenant_key(key) is None
