"""Slugs, schema names and tenant keys derived from a store's name, in any script."""

import secrets

from slugify import slugify

SCHEMA_PREFIX = "tenant_"
SLUG_BASE_MAX_LENGTH = 40  # leaves room for a "-NNN" suffix within the 50 of Store.slug
FALLBACK_SLUG = "store"


def base_slug(name: str) -> str:
    """An ASCII slug transliterated from `name`; never empty, never only digits.

    "Новый Тестовый Магазин 2" -> "novyi-testovyi-magazin-2", "北京商店" -> "bei-jing-shang-dian".
    """
    slug = slugify(name, max_length=SLUG_BASE_MAX_LENGTH, word_boundary=True, save_order=True)
    if not slug:
        return FALLBACK_SLUG
    if slug.replace("-", "").isdigit():
        return slugify(f"{FALLBACK_SLUG} {slug}", max_length=SLUG_BASE_MAX_LENGTH)
    return slug


def numbered_slug(base: str, number: int) -> str:
    return base if number == 1 else f"{base}-{number}"


def schema_name_for(slug: str) -> str:
    """`tenant_<slug with underscores>`: lowercase, at most 57 bytes, never `public` or `pg_*`."""
    return SCHEMA_PREFIX + slug.replace("-", "_")


def new_tenant_key(slug: str) -> str:
    """`<slug with underscores>_<8 random hex>`: readable, and not guessable from the name."""
    return f"{slug.replace('-', '_')}_{secrets.token_hex(4)}"
