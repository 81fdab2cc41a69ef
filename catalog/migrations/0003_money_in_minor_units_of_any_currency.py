# Money columns keep four places: any ISO 4217 currency's minor units, stored exactly.

import core.money
import django.core.validators
from decimal import Decimal
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0002_movement_sale_refund'),
    ]

    # One ALTER TABLE per table, so each table is rewritten once, not once per column.
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE catalog_product ALTER COLUMN cost TYPE numeric(14, 4), ALTER COLUMN price TYPE numeric(14, 4)",
                    reverse_sql="ALTER TABLE catalog_product ALTER COLUMN cost TYPE numeric(12, 2), ALTER COLUMN price TYPE numeric(12, 2)",
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name='product',
                    name='cost',
                    field=core.money.MoneyColumn(decimal_places=4, default=Decimal('0'), max_digits=14, validators=[django.core.validators.MinValueValidator(Decimal('0'))]),
                ),
                migrations.AlterField(
                    model_name='product',
                    name='price',
                    field=core.money.MoneyColumn(decimal_places=4, max_digits=14, validators=[django.core.validators.MinValueValidator(Decimal('0'))]),
                ),
            ],
        ),
    ]
