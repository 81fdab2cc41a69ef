"""Rows from before change numbers get their own, after any already given, so a till's first
download pages through them like through any other change."""

from django.db import migrations

COUNTER = "catalog"


def numbering(table: str) -> list[str]:
    return [
        f"""UPDATE {table} SET version = numbered.version
              FROM (SELECT id, (SELECT value FROM catalog_catalogcounter WHERE name = '{COUNTER}')
                               + row_number() OVER (ORDER BY id) AS version
                      FROM {table} WHERE version = 0) AS numbered
             WHERE {table}.id = numbered.id""",
        f"""UPDATE catalog_catalogcounter
               SET value = GREATEST(value, (SELECT coalesce(max(version), 0) FROM {table}))
             WHERE name = '{COUNTER}'""",
    ]


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0005_price_history"),
    ]

    operations = [
        migrations.RunSQL(
            [
                f"INSERT INTO catalog_catalogcounter (name, value) VALUES ('{COUNTER}', 0) "
                "ON CONFLICT (name) DO NOTHING",
                *numbering("catalog_category"),
                *numbering("catalog_product"),
            ],
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
