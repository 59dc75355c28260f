"""The client base: ten validated canonical tables, point-in-time views and their I/O."""

from b2bclient.base._clientbase import ClientBase
from b2bclient.base._orders import deals_from_orders
from b2bclient.base._partitioned import PartitionedClientBase
from b2bclient.base._schema import SCHEMAS, TABLE_NAMES, Column, TableSchema
from b2bclient.base._validate import empty_table

__all__ = [
    "SCHEMAS",
    "TABLE_NAMES",
    "ClientBase",
    "Column",
    "PartitionedClientBase",
    "TableSchema",
    "deals_from_orders",
    "empty_table",
]
