"""The partitioned layout on disk: one Parquet dataset per table, cut by holding, and a manifest.

A partitioned base is a directory::

    manifest.json                       format, version, partitions, rows and key ranges
    products.parquet                    small tables, written once
    organisations/part-00000.parquet    one file per partition for every other table
    deals/part-00000.parquet
    ...

An organisation's partition is decided by the top of its holding, so a group stays together;
the rows of contacts, deals, projects, interactions and contracts follow their organisation,
deal lines their deal, stages their project and relationships their source organisation (a
link between holdings may point into another partition). Every partition file exists, empty
when the partition holds no row of that table, so that each partition is read alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient._optional import import_optional
from b2bclient.base._schema import SCHEMAS, TABLE_NAMES

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "PARTITIONED",
    "SHARED",
    "holding_partitions",
    "partition_file",
    "read_manifest",
    "read_partition",
    "split_rows",
    "table_stats",
    "write_manifest",
    "write_partition",
]

FORMAT = "b2bclient.partitioned"
FORMAT_VERSION = 1
#: Tables written once and read by every partition.
SHARED = ("products",)
#: Tables cut into partitions.
PARTITIONED = tuple(name for name in TABLE_NAMES if name not in SHARED)
# Tables whose rows follow their organisation, and the child tables that follow a parent row.
_BY_ORGANISATION = ("contacts", "deals", "projects", "interactions", "contracts")
_CHILDREN = (("deal_lines", "deal_id", "deals"), ("stages", "project_id", "projects"))


def _parquet() -> None:
    import_optional("pyarrow", extra="parquet", purpose="Parquet I/O")


def partition_file(path: Path, table: str, partition: int) -> Path:
    """Return the file of `table` in `partition` (``<table>/part-00000.parquet``)."""
    return path / table / f"part-{partition:05d}.parquet"


def top_of_holding(parent: np.ndarray) -> np.ndarray:
    """Return, for each organisation, the row of the top of its holding (itself without parent).

    `parent` holds the row of each organisation's parent, -1 for none; validation has ruled out
    cycles. Pointer jumping takes log2(depth) passes.

    Examples
    --------
    >>> top_of_holding(np.array([-1, 0, 1, -1])).tolist()
    [0, 0, 0, 3]
    """
    top = np.where(parent >= 0, parent, np.arange(len(parent)))
    while True:
        nxt = top[top]
        if np.array_equal(nxt, top):
            return top
        top = nxt


def holding_partitions(organisation_ids: Any, parent: np.ndarray, n_partitions: int) -> np.ndarray:
    """Return the partition of each organisation: a stable hash of its top parent's id.

    The hash (pandas' ``hash_array`` with its fixed key) does not depend on the process, so the
    same base is always cut the same way.

    Examples
    --------
    >>> ids = np.array(["A", "B", "C"], dtype=object)
    >>> p = holding_partitions(ids, np.array([-1, -1, 0]), 4)
    >>> bool(p[0] == p[2])
    True
    """
    ids = np.asarray(organisation_ids, dtype=object)
    top = top_of_holding(parent)
    hashed = pd.util.hash_array(ids[top] if len(ids) else ids)
    return np.asarray(hashed % np.uint64(n_partitions), dtype=np.int64)


def split_rows(part: np.ndarray, n_partitions: int) -> list[np.ndarray]:
    """Return the rows of each partition, in table order (rows with part -1 belong to none)."""
    keep = part >= 0
    order = np.flatnonzero(keep)[np.argsort(part[keep], kind="stable")]
    bounds = np.concatenate(([0], np.cumsum(np.bincount(part[keep], minlength=n_partitions))))
    return [order[bounds[p] : bounds[p + 1]] for p in range(n_partitions)]


def table_stats(name: str, df: pd.DataFrame) -> dict[str, Any]:
    """Return the rows and the range of the first key column of one partition of a table."""
    column = df[SCHEMAS[name].key[0]]
    known = column.dropna()
    if len(known) and pd.api.types.is_string_dtype(known.dtype):
        return {"rows": len(df), "key_min": str(known.min()), "key_max": str(known.max())}
    return {"rows": len(df), "key_min": None, "key_max": None}


def write_partition(
    path: Path, partition: int, tables: Mapping[str, pd.DataFrame]
) -> dict[str, dict[str, Any]]:
    """Write the partitioned tables of one partition; return their stats for the manifest."""
    _parquet()
    stats = {}
    for name in PARTITIONED:
        df = tables[name]
        file = partition_file(path, name, partition)
        file.parent.mkdir(parents=True, exist_ok=True)
        df.to_parquet(file, index=False)
        stats[name] = table_stats(name, df)
    return stats


def write_shared(path: Path, tables: Mapping[str, pd.DataFrame]) -> dict[str, int]:
    """Write the tables every partition reads; return their row counts."""
    _parquet()
    for name in SHARED:
        tables[name].to_parquet(path / f"{name}.parquet", index=False)
    return {name: len(tables[name]) for name in SHARED}


def write_manifest(
    path: Path, partition_stats: Sequence[Mapping[str, Any]], shared_rows: Mapping[str, int]
) -> dict[str, Any]:
    """Write ``manifest.json`` from the stats of every partition; return the manifest."""
    tables: dict[str, Any] = {}
    for name in PARTITIONED:
        tables[name] = {
            "key": list(SCHEMAS[name].key),
            "rows": [int(s[name]["rows"]) for s in partition_stats],
            "key_min": [s[name]["key_min"] for s in partition_stats],
            "key_max": [s[name]["key_max"] for s in partition_stats],
        }
    for name in SHARED:
        tables[name] = {"key": list(SCHEMAS[name].key), "rows": int(shared_rows[name])}
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "partition_by": "holding",
        "n_partitions": len(partition_stats),
        "shared": list(SHARED),
        "tables": tables,
    }
    (path / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def write_partitioned(
    tables: Mapping[str, pd.DataFrame],
    positions: Any,
    path: Path,
    n_partitions: int,
) -> dict[str, Any]:
    """Write validated tables as a partitioned base; `positions(table, column)` as in ClientBase."""
    path.mkdir(parents=True, exist_ok=True)
    if (path / "manifest.json").exists() or any(path.iterdir()):
        raise InvalidParameterError(
            f"ClientBase.to_parquet(partition_by='holding') writes into a new or empty directory; "
            f"{str(path)!r} is not empty. Choose another path or remove it first."
        )
    orgs = tables["organisations"]
    org_part = holding_partitions(
        orgs["organisation_id"].to_numpy(dtype=object),
        np.asarray(positions("organisations", "parent_id")),
        n_partitions,
    )
    row_part: dict[str, np.ndarray] = {"organisations": org_part}

    def follow(codes: np.ndarray, parent_part: np.ndarray) -> np.ndarray:
        return np.where(codes >= 0, parent_part[np.maximum(codes, 0)], -1)

    for name in _BY_ORGANISATION:
        row_part[name] = follow(np.asarray(positions(name, "organisation_id")), org_part)
    for name, column, parent in _CHILDREN:
        row_part[name] = follow(np.asarray(positions(name, column)), row_part[parent])
    row_part["relationships"] = follow(
        np.asarray(positions("relationships", "source_id")), org_part
    )
    rows = {name: split_rows(part, n_partitions) for name, part in row_part.items()}
    stats = [
        write_partition(
            path,
            p,
            {name: tables[name].take(rows[name][p]).reset_index(drop=True) for name in PARTITIONED},
        )
        for p in range(n_partitions)
    ]
    return write_manifest(path, stats, write_shared(path, tables))


def read_manifest(path: Path) -> dict[str, Any]:
    """Read and check the manifest of a partitioned base.

    Raises
    ------
    InvalidParameterError
        If `path` holds no manifest, another format or a later version, or a partition file is
        missing.
    """
    file = path / "manifest.json"
    if not file.is_file():
        raise InvalidParameterError(
            f"No partitioned client base at {str(path)!r}: manifest.json is missing. Write one "
            f"with base.to_parquet(path, partition_by='holding') or "
            f"b2bclient.datasets.write_client_base(path, ...)."
        )
    try:
        manifest = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        raise InvalidParameterError(f"Cannot read {str(file)!r} as JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InvalidParameterError(
            f"{str(file)!r} is not the manifest of a partitioned client base "
            f"(format {FORMAT!r} expected)."
        )
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise InvalidParameterError(
            f"{str(file)!r} has format version {version!r}; this b2bclient reads versions up to "
            f"{FORMAT_VERSION}. Upgrade b2bclient."
        )
    n = manifest.get("n_partitions")
    if not isinstance(n, int) or n < 1:
        raise InvalidParameterError(f"{str(file)!r} gives no valid number of partitions: {n!r}.")
    missing = [
        str(partition_file(path, name, p).relative_to(path))
        for name in PARTITIONED
        for p in range(n)
        if not partition_file(path, name, p).is_file()
    ]
    missing += [f"{name}.parquet" for name in SHARED if not (path / f"{name}.parquet").is_file()]
    if missing:
        raise InvalidParameterError(
            f"The partitioned client base at {str(path)!r} lacks {len(missing)} file(s) its "
            f"manifest lists, e.g. {missing[:3]}."
        )
    return manifest


def read_partition(
    path: Path, partition: int, tables: Sequence[str] = TABLE_NAMES
) -> dict[str, pd.DataFrame]:
    """Read the raw frames of one partition (and the shared tables among `tables`)."""
    _parquet()
    out = {}
    for name in tables:
        file = path / f"{name}.parquet" if name in SHARED else partition_file(path, name, partition)
        out[name] = pd.read_parquet(file)
    return out
