# Money columns keep four places: any ISO 4217 currency's minor units, stored exactly.

import core.money
from decimal import Decimal
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('sales', '0002_sales_shifts_refunds'),
    ]

    # One ALTER TABLE per table, so each table is rewritten once, not once per column.
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE sales_refund ALTER COLUMN total TYPE numeric(14, 4)",
                    reverse_sql="ALTER TABLE sales_refund ALTER COLUMN total TYPE numeric(12, 2)",
                ),
                migrations.RunSQL(
                    "ALTER TABLE sales_refundline ALTER COLUMN tax_amount TYPE numeric(14, 4), ALTER COLUMN total TYPE numeric(14, 4)",
                    reverse_sql="ALTER TABLE sales_refundline ALTER COLUMN tax_amount TYPE numeric(12, 2), ALTER COLUMN total TYPE numeric(12, 2)",
                ),
                migrations.RunSQL(
                    "ALTER TABLE sales_sale ALTER COLUMN change_due TYPE numeric(14, 4), ALTER COLUMN discount_total TYPE numeric(14, 4), ALTER COLUMN paid_total TYPE numeric(14, 4), ALTER COLUMN refunded_total TYPE numeric(14, 4), ALTER COLUMN subtotal TYPE numeric(14, 4), ALTER COLUMN tax_total TYPE numeric(14, 4), ALTER COLUMN total TYPE numeric(14, 4)",
                    reverse_sql="ALTER TABLE sales_sale ALTER COLUMN change_due TYPE numeric(12, 2), ALTER COLUMN discount_total TYPE numeric(12, 2), ALTER COLUMN paid_total TYPE numeric(12, 2), ALTER COLUMN refunded_total TYPE numeric(12, 2), ALTER COLUMN subtotal TYPE numeric(12, 2), ALTER COLUMN tax_total TYPE numeric(12, 2), ALTER COLUMN total TYPE numeric(12, 2)",
                ),
                migrations.RunSQL(
                    "ALTER TABLE sales_saleline ALTER COLUMN discount TYPE numeric(14, 4), ALTER COLUMN refunded_amount TYPE numeric(14, 4), ALTER COLUMN refunded_tax TYPE numeric(14, 4), ALTER COLUMN tax_amount TYPE numeric(14, 4), ALTER COLUMN total TYPE numeric(14, 4), ALTER COLUMN unit_price TYPE numeric(14, 4)",
                    reverse_sql="ALTER TABLE sales_saleline ALTER COLUMN discount TYPE numeric(12, 2), ALTER COLUMN refunded_amount TYPE numeric(12, 2), ALTER COLUMN refunded_tax TYPE numeric(12, 2), ALTER COLUMN tax_amount TYPE numeric(12, 2), ALTER COLUMN total TYPE numeric(12, 2), ALTER COLUMN unit_price TYPE numeric(12, 2)",
                ),
                migrations.RunSQL(
                    "ALTER TABLE sales_salepayment ALTER COLUMN amount TYPE numeric(14, 4)",
                    reverse_sql="ALTER TABLE sales_salepayment ALTER COLUMN amount TYPE numeric(12, 2)",
                ),
                migrations.RunSQL(
                    "ALTER TABLE sales_shift ALTER COLUMN cash_refunds TYPE numeric(14, 4), ALTER COLUMN cash_sales TYPE numeric(14, 4), ALTER COLUMN counted_cash TYPE numeric(14, 4), ALTER COLUMN difference TYPE numeric(14, 4), ALTER COLUMN expected_cash TYPE numeric(14, 4), ALTER COLUMN opening_cash TYPE numeric(14, 4)",
                    reverse_sql="ALTER TABLE sales_shift ALTER COLUMN cash_refunds TYPE numeric(12, 2), ALTER COLUMN cash_sales TYPE numeric(12, 2), ALTER COLUMN counted_cash TYPE numeric(12, 2), ALTER COLUMN difference TYPE numeric(12, 2), ALTER COLUMN expected_cash TYPE numeric(12, 2), ALTER COLUMN opening_cash TYPE numeric(12, 2)",
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name='refund',
                    name='total',
                    field=core.money.MoneyColumn(decimal_places=4, max_digits=14),
                ),
                migrations.AlterField(
                    model_name='refundline',
                    name='tax_amount',
                    field=core.money.MoneyColumn(decimal_places=4, max_digits=14),
                ),
                migrations.AlterField(
                    model_name='refundline',
                    name='total',
                    field=core.money.MoneyColumn(decimal_places=4, max_digits=14),
                ),
                migrations.AlterField(
                    model_name='sale',
                    name='change_due',
                    field=core.money.MoneyColumn(decimal_places=4, max_digits=14),
                ),
                migrations.AlterField(
                    model_name='sale',
                    name='discount_total',
                    field=core.money.MoneyColumn(decimal_places=4, max_digits=14),
                ),
                migrations.AlterField(
                    model_name='sale',
                    name='paid_total',
                    field=core.money.MoneyColumn(decimal_places=4, max_digits=14),
                ),
                migrations.AlterField(
                    model_name='sale',
                    name='refunded_total',
                    field=core.money.MoneyColumn(decimal_places=4, default=Decimal('0'), max_digits=14),
                ),
                migrations.AlterField(
                    model_name='sale',
                    name='subtotal',
                    field=core.money.MoneyColumn(decimal_places=4, max_digits=14),
                ),
                migrations.AlterField(
                    model_name='sale',
                    name='tax_total',
                    field=core.money.MoneyColumn(decimal_places=4, max_digits=14),
                ),
                migrations.AlterField(
                    model_name='sale',
                    name='total',
                    field=core.money.MoneyColumn(decimal_places=4, max_digits=14),
                ),
                migrations.AlterField(
                    model_name='saleline',
                    name='discount',
                    field=core.money.MoneyColumn(decimal_places=4, default=Decimal('0'), max_digits=14),
                ),
                migrations.AlterField(
                    model_name='saleline',
                    name='refunded_amount',
                    field=core.money.MoneyColumn(decimal_places=4, default=Decimal('0'), max_digits=14),
                ),
                migrations.AlterField(
                    model_name='saleline',
                    name='refunded_tax',
                    field=core.money.MoneyColumn(decimal_places=4, default=Decimal('0'), max_digits=14),
                ),
                migrations.AlterField(
                    model_name='saleline',
                    name='tax_amount',
                    field=core.money.MoneyColumn(decimal_places=4, max_digits=14),
                ),
                migrations.AlterField(
                    model_name='saleline',
                    name='total',
                    field=core.money.MoneyColumn(decimal_places=4, max_digits=14),
                ),
                migrations.AlterField(
                    model_name='saleline',
                    name='unit_price',
                    field=core.money.MoneyColumn(decimal_places=4, max_digits=14),
                ),
                migrations.AlterField(
                    model_name='salepayment',
                    name='amount',
                    field=core.money.MoneyColumn(decimal_places=4, max_digits=14),
                ),
                migrations.AlterField(
                    model_name='shift',
                    name='cash_refunds',
                    field=core.money.MoneyColumn(blank=True, decimal_places=4, max_digits=14, null=True),
                ),
                migrations.AlterField(
                    model_name='shift',
                    name='cash_sales',
                    field=core.money.MoneyColumn(blank=True, decimal_places=4, max_digits=14, null=True),
                ),
                migrations.AlterField(
                    model_name='shift',
                    name='counted_cash',
                    field=core.money.MoneyColumn(blank=True, decimal_places=4, max_digits=14, null=True),
                ),
                migrations.AlterField(
                    model_name='shift',
                    name='difference',
                    field=core.money.MoneyColumn(blank=True, decimal_places=4, max_digits=14, null=True),
                ),
                migrations.AlterField(
                    model_name='shift',
                    name='expected_cash',
                    field=core.money.MoneyColumn(blank=True, decimal_places=4, max_digits=14, null=True),
                ),
                migrations.AlterField(
                    model_name='shift',
                    name='opening_cash',
                    field=core.money.MoneyColumn(decimal_places=4, max_digits=14),
                ),
            ],
        ),
    ]
