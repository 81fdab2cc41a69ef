"""Stores on a Citus cluster with schema-based sharding: where each one's schema lives, and
moving it between worker nodes without losing a write.

A store's schema is one distributed schema: all its tables are one colocation group, placed
whole on one node. Moves use `shard_transfer_mode => 'block_writes'`: the store's writes wait
(a second or two for a shop's data) while its tables are copied, and nothing acknowledged can be
lost. The non-blocking mode (logical replication) was seen to lose acknowledged checkouts under
load (docs/scaling.md), so Kassa never asks for it.
"""

from dataclasses import dataclass

from django.db import connection

from stores.models import Store

SAFE_TRANSFER_MODE = "block_writes"


class NotOnCitus(Exception):
    """The database is not a Citus coordinator's, or the store's schema is not distributed."""


@dataclass(frozen=True)
class Node:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"

    @classmethod
    def parse(cls, text: str) -> "Node":
        host, _, port = text.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"{text!r} is not host:port")
        return cls(host=host, port=int(port))


def is_citus() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus'")
        return cursor.fetchone() is not None


def workers() -> list[Node]:
    """The cluster's active primary worker nodes."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nodename, nodeport FROM pg_dist_node WHERE groupid > 0 AND isactive "
            "AND noderole = 'primary' ORDER BY nodeid"
        )
        return [Node(host, port) for host, port in cursor.fetchall()]


def placement(store: Store) -> Node:
    """The node holding the store's schema."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT s.nodename, s.nodeport FROM citus_shards AS s "
            "JOIN pg_catalog.pg_class AS c ON c.oid = s.table_name "
            "JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s",
            [store.schema_name],
        )
        nodes = cursor.fetchall()
    if len(nodes) != 1:
        raise NotOnCitus(f"the schema {store.schema_name!r} is not a distributed schema")
    return Node(*nodes[0])


def store_move(store: Store, *, to: Node) -> Node:
    """Move the store's schema to the worker `to`, writes blocked for the copy; the node it left."""
    source = placement(store)
    if source == to:
        return source
    if to not in workers():
        raise NotOnCitus(f"{to} is not an active worker node of the cluster")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT citus_schema_move(%s, %s, %s, shard_transfer_mode => %s)",
            [store.schema_name, to.host, to.port, SAFE_TRANSFER_MODE],
        )
    return source


def rebalance() -> None:
    """Spread the stores' schemas evenly over the workers, each move blocking writes to the one
    store it moves; waits until the rebalance is done."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT citus_rebalance_start(shard_transfer_mode => %s)", [SAFE_TRANSFER_MODE]
        )
        cursor.execute("SELECT citus_rebalance_wait()")
