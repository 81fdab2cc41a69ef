"""Adopting the rows a pre-tenancy deployment left in `public` into each store's own schema.

Before Kassa, one deployment kept every store's products, customers and sales in `public`
tables, told apart by a `store_id` column (referring to `public.stores_store.id`). This package
reads those tables with plain SQL (`tables`, `values`), checks every row (`plan`) and writes
them into the stores' schemas through the models and services (`write`), so the stores'
invariants hold (a product's movements sum to its stock, sales are numbered by the store's
counter, a closed shift holds them).

Legacy tables accepted (all in `public`; `information_schema.columns` says which exist). A
missing table is skipped; a missing optional column takes its default; a present table without
a required column stops the whole run (nothing is read or written):

    products_product    id, store_id, name, price                        required
                        sku, barcode (NULL), cost (0), tax_rate (0), stock (0),
                        is_active (true), created_at (time of adoption)  optional
    customers_customer  id, store_id, name                               required
                        phone (""), email (""), note (""), created_at    optional
    sales_sale          id, store_id, total                              required
                        customer_id (none), payment_method ("other"),
                        created_at                                       optional
    sales_saleitem      id, sale_id, product_id, quantity, price         required
                        total (quantity × price), tax_rate (0),
                        tax_amount (the tax included in total at tax_rate)  optional

`id`, `store_id`, `sale_id`, `product_id` and `customer_id` are integers; the other values may
be of any type that reads as their meaning (numbers as numeric, float or text; `is_active` as
boolean, 0/1 or "true"/"false"; moments as timestamps, dates or ISO text, naive ones read in
the store's time zone). Other columns are ignored, and so are other legacy tables (analytics
rows are derived: the adopted sales' days are rebuilt from the sales instead).

Per store, in one transaction in its schema:

* products become catalog products (new ids from the store's sequence); a non-zero legacy
  `stock` becomes one stock movement (reason "other", note "adopted from legacy data") through
  `catalog.services.stock_apply`;
* customers become customers;
* sales become completed sales, priced tax included (their legacy totals are what was paid),
  with one line per item and one payment of their total (`payment_method` when it is one of
  Kassa's methods, else "other"; none for a sale of 0), numbered after the store's last sale,
  on a closed shift made for the adoption on the store's first active register (a "Main
  register" is made when there is none), rung up by the store's owner. They take no stock:
  the legacy stock is net of them. Their customers' spending and visits are added up;
* each adopted row is recorded in the store's `legacy_adoption(kind, legacy_id, new_id)` table
  (made on first use), so a later run skips it and adopts only rows added since.

A row that cannot be read is reported, and nothing at all is moved for its store (its
transaction is rolled back; the other stores go on): a required value that is NULL or empty, a
number that is not one (or has more decimals than Kassa keeps, or is out of range), a quantity
not above 0, a negative stock in a store that does not allow it, a sku or barcode used twice or
already used in the store, an invalid email, a sale whose total is not the sum of its items'
totals. A sale that cannot be placed (no items, an item of an unknown product, an unknown
customer) is reported and left for a later run; the rest of its store is moved. Rows whose
store_id matches no store, and items of no store's sale, are reported once, under "no store".
The legacy rows are never deleted: ops drop the tables once satisfied.
"""

from ops.legacy.adoption import legacy_adopt
from ops.legacy.plan import MARK_TABLE
from ops.legacy.report import LegacyAdoption, StoreAdoption
from ops.legacy.tables import SHAPES, LegacyShapeError
from ops.legacy.write import ADOPTED_NOTE

__all__ = [
    "ADOPTED_NOTE",
    "MARK_TABLE",
    "SHAPES",
    "LegacyAdoption",
    "LegacyShapeError",
    "StoreAdoption",
    "legacy_adopt",
]
