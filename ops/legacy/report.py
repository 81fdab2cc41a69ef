"""What an adoption did: per store, what moved, what was skipped and what was refused."""

from dataclasses import dataclass, field


@dataclass
class StoreAdoption:
    """What one store's adoption moved (or would move, in a dry run), skipped and refused."""

    slug: str
    schema_name: str
    moved: dict[str, int] = field(default_factory=dict)
    already_adopted: dict[str, int] = field(default_factory=dict)
    not_moved: list[str] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)
    error: str | None = None
    analytics_error: str | None = None

    @property
    def failed(self) -> bool:
        return bool(self.malformed) or self.error is not None


@dataclass
class LegacyAdoption:
    dry_run: bool
    tables: dict[str, frozenset[str]]
    stores: list[StoreAdoption] = field(default_factory=list)
    no_store: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(store.failed for store in self.stores)
