# The figures are rewritten in place (a day refreshed after each sale, a rebuild after a time-zone
# change): room left in each page lets PostgreSQL update a row on its own page without touching
# the primary key's index (a HOT update), instead of moving it.

from django.db import migrations

TABLES = (
    "analytics_dailysales",
    "analytics_dailypayment",
    "analytics_hourlysales",
    "analytics_dailyproductsales",
)


class Migration(migrations.Migration):

    dependencies = [
        ("analytics", "0002_money_in_minor_units_of_any_currency"),
    ]

    operations = [
        migrations.RunSQL(
            [f"ALTER TABLE {table} SET (fillfactor = 70)" for table in TABLES],
            reverse_sql=[f"ALTER TABLE {table} RESET (fillfactor)" for table in TABLES],
        ),
    ]
