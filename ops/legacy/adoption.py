"""The adoption: each store planned, checked and written in one transaction of its own."""

import logging
from collections.abc import Mapping
from datetime import date

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils.timezone import now
from django_tenants.utils import tenant_context

from analytics.services import analytics_rebuild
from core.exceptions import DomainError
from ops.legacy.plan import Plan, customers_plan, marks_load, products_plan, sales_plan
from ops.legacy.report import LegacyAdoption, StoreAdoption
from ops.legacy.tables import legacy_tables, no_store_rows, rows_where, stores_with_rows
from ops.legacy.write import plan_write
from stores.clock import local_day
from stores.models import Store

logger = logging.getLogger(__name__)


def _adopt_store(
    *, store: Store, tables: Mapping[str, frozenset[str]], dry_run: bool
) -> StoreAdoption:
    """Plan, check and write one store's rows in one transaction: all of them, or none."""
    result = StoreAdoption(slug=store.slug, schema_name=store.schema_name)
    days: tuple[date, date] | None = None
    try:
        with tenant_context(store), transaction.atomic():
            plan = Plan()
            marks_load(plan)
            adopted_at = now()
            by_store = {"where": "t.store_id = %s", "params": [store.pk]}
            products_plan(
                store=store,
                rows=rows_where(tables=tables, table="products_product", **by_store),
                plan=plan,
                result=result,
                adopted_at=adopted_at,
            )
            customers_plan(
                store=store,
                rows=rows_where(tables=tables, table="customers_customer", **by_store),
                plan=plan,
                result=result,
                adopted_at=adopted_at,
            )
            items = []
            if "sales_sale" in tables:
                items = rows_where(
                    tables=tables,
                    table="sales_saleitem",
                    where="EXISTS (SELECT 1 FROM public.sales_sale AS s "
                    "WHERE s.id = t.sale_id AND s.store_id = %s)",
                    params=[store.pk],
                )
            sales_plan(
                store=store,
                rows=rows_where(tables=tables, table="sales_sale", **by_store),
                items=items,
                plan=plan,
                result=result,
                adopted_at=adopted_at,
            )
            if not result.malformed:
                plan_write(plan=plan, result=result)
                if plan.sales:
                    days = (
                        local_day(plan.sales[0].sale.created_at),
                        local_day(plan.sales[-1].sale.created_at),
                    )
            if dry_run or result.malformed:
                transaction.set_rollback(True)
    except (DatabaseError, ValidationError, DomainError) as error:
        result.moved.clear()  # rolled back
        result.error = f"{type(error).__name__}: {error}".strip()
        logger.warning("legacy adoption failed", extra={"store": store.slug, "error": str(error)})
        return result
    if days is not None and not dry_run and not result.failed:
        # Derived rows, rebuilt in their own transactions once the sales are committed: a
        # failure here loses nothing, the store's rebuild can be rerun at any time.
        try:
            with tenant_context(store):
                analytics_rebuild(first=days[0], last=days[1])
        except DatabaseError as error:
            result.analytics_error = str(error)
            logger.warning("analytics not rebuilt", extra={"store": store.slug})
    logger.info(
        "legacy adoption",
        extra={"store": store.slug, "moved": result.moved, "dry_run": dry_run},
    )
    return result


def legacy_adopt(*, dry_run: bool = False, store: Store | None = None) -> LegacyAdoption:
    """Move the legacy rows of `store` (of every store that has some, when None) into its schema.

    Each store in its own transaction: a store whose rows cannot all be read moves nothing and
    the others go on. `dry_run` does all the work and rolls every store back, so its report is
    exactly what a real run would do. Rows of no existing store are listed when every store is
    adopted. Raises LegacyShapeError before anything when a legacy table lacks a required column.
    """
    tables = legacy_tables()
    adoption = LegacyAdoption(dry_run=dry_run, tables=tables)
    if not tables:
        return adoption
    stores = [store] if store is not None else stores_with_rows(tables)
    for each in stores:
        adoption.stores.append(_adopt_store(store=each, tables=tables, dry_run=dry_run))
    if store is None:
        adoption.no_store = no_store_rows(tables)
    return adoption
