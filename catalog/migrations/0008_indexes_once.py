"""Three foreign keys lose the index Django gave them, each covered by an index of its model
whose first column it is (the product's category by `catalog_product_category_idx`, a movement's
product by `catalog_movement_product_idx`, a price change's product by
`catalog_price_change_at_idx`): one index fewer to write for every movement, product and price.

Only the indexes are dropped, by name: Django's own AlterField would drop each foreign key and
make it again, checking every row of a store's movements under an exclusive lock.
"""

import django.db.models.deletion
from django.db import migrations, models

DROPPED = (
    ("catalog_pricechange", "catalog_pricechange_product_id_180a19a1", "product_id"),
    ("catalog_product", "catalog_product_category_id_35bf920b", "category_id"),
    ("catalog_stockmovement", "catalog_stockmovement_product_id_13308dcf", "product_id"),
)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0007_product_reorder_level"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{index}"',
                    reverse_sql=f'CREATE INDEX "{index}" ON "{table}" ("{column}")',
                )
                for table, index, column in DROPPED
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="pricechange",
                    name="product",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="price_changes",
                        to="catalog.product",
                    ),
                ),
                migrations.AlterField(
                    model_name="product",
                    name="category",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="products",
                        to="catalog.category",
                    ),
                ),
                migrations.AlterField(
                    model_name="stockmovement",
                    name="product",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="movements",
                        to="catalog.product",
                    ),
                ),
            ],
        ),
    ]
