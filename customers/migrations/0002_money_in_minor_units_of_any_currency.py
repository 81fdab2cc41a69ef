# Money columns keep four places: any ISO 4217 currency's minor units, stored exactly.

import core.money
from decimal import Decimal
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0001_initial'),
    ]

    # One ALTER TABLE per table, so each table is rewritten once, not once per column.
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE customers_customer ALTER COLUMN total_spent TYPE numeric(16, 4)",
                    reverse_sql="ALTER TABLE customers_customer ALTER COLUMN total_spent TYPE numeric(14, 2)",
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name='customer',
                    name='total_spent',
                    field=core.money.MoneyColumn(decimal_places=4, default=Decimal('0'), max_digits=16),
                ),
            ],
        ),
    ]
