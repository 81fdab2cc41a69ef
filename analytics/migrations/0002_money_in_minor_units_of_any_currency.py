# Money columns keep four places: any ISO 4217 currency's minor units, stored exactly.

import core.money
from decimal import Decimal
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('analytics', '0001_initial'),
    ]

    # One ALTER TABLE per table, so each table is rewritten once, not once per column.
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE analytics_dailypayment ALTER COLUMN amount TYPE numeric(16, 4)",
                    reverse_sql="ALTER TABLE analytics_dailypayment ALTER COLUMN amount TYPE numeric(14, 2)",
                ),
                migrations.RunSQL(
                    "ALTER TABLE analytics_dailyproductsales ALTER COLUMN revenue TYPE numeric(16, 4)",
                    reverse_sql="ALTER TABLE analytics_dailyproductsales ALTER COLUMN revenue TYPE numeric(14, 2)",
                ),
                migrations.RunSQL(
                    "ALTER TABLE analytics_dailysales ALTER COLUMN refunds TYPE numeric(16, 4), ALTER COLUMN revenue TYPE numeric(16, 4)",
                    reverse_sql="ALTER TABLE analytics_dailysales ALTER COLUMN refunds TYPE numeric(14, 2), ALTER COLUMN revenue TYPE numeric(14, 2)",
                ),
                migrations.RunSQL(
                    "ALTER TABLE analytics_hourlysales ALTER COLUMN revenue TYPE numeric(16, 4)",
                    reverse_sql="ALTER TABLE analytics_hourlysales ALTER COLUMN revenue TYPE numeric(14, 2)",
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name='dailypayment',
                    name='amount',
                    field=core.money.MoneyColumn(decimal_places=4, default=Decimal('0'), max_digits=16),
                ),
                migrations.AlterField(
                    model_name='dailyproductsales',
                    name='revenue',
                    field=core.money.MoneyColumn(decimal_places=4, default=Decimal('0'), max_digits=16),
                ),
                migrations.AlterField(
                    model_name='dailysales',
                    name='refunds',
                    field=core.money.MoneyColumn(decimal_places=4, default=Decimal('0'), max_digits=16),
                ),
                migrations.AlterField(
                    model_name='dailysales',
                    name='revenue',
                    field=core.money.MoneyColumn(decimal_places=4, default=Decimal('0'), max_digits=16),
                ),
                migrations.AlterField(
                    model_name='hourlysales',
                    name='revenue',
                    field=core.money.MoneyColumn(decimal_places=4, default=Decimal('0'), max_digits=16),
                ),
            ],
        ),
    ]
