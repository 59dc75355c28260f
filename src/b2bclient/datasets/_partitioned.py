"""``write_client_base``: a synthetic client base written to disk partition by partition."""

from __future__ import annotations

import numbers
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient.base import SCHEMAS, PartitionedClientBase
from b2bclient.base._engine import run_tasks
from b2bclient.base._layout import PARTITIONED, write_manifest, write_partition, write_shared
from b2bclient.datasets._make import make_client_base

__all__ = ["write_client_base"]

_OWNER = "write_client_base"
#: Organisations per partition when `n_partitions` is not given.
PARTITION_SIZE = 20_000


def _id_columns(name: str) -> list[str]:
    """Return the id columns of a table that name rows of partitioned tables (not products)."""
    schema = SCHEMAS[name]
    out = []
    for column in schema.columns:
        if column.kind != "id" or column.references == "products":
            continue
        if column.references is None and name == "products":
            continue
        out.append(column.name)
    return out


def prefixed(tables: dict[str, pd.DataFrame], prefix: str) -> dict[str, pd.DataFrame]:
    """Return the partitioned tables with every id (but product ids) prefixed by `prefix`.

    Examples
    --------
    >>> orgs = pd.DataFrame({"organisation_id": ["O-1", "O-2"], "parent_id": [None, "O-1"]})
    >>> empty = {n: pd.DataFrame(columns=list(SCHEMAS[n].names)) for n in PARTITIONED}
    >>> prefixed({**empty, "organisations": orgs}, "p1-")["organisations"].to_numpy().tolist()
    [['p1-O-1', None], ['p1-O-2', 'p1-O-1']]
    """
    out = {}
    for name in PARTITIONED:
        df = tables[name].copy()
        for column in _id_columns(name):
            values = df[column].to_numpy(dtype=object)
            known = pd.notna(values)
            renamed = values.copy()
            renamed[known] = np.char.add(prefix, values[known].astype(str)).astype(object)
            df[column] = renamed
        out[name] = df
    return out


def _write_one(
    path: Path,
    i: int,
    n: int,
    seed: int,
    kwargs: dict[str, Any],
) -> tuple[dict[str, Any], pd.DataFrame]:
    base = make_client_base(n, seed=seed, **kwargs)
    tables = prefixed({name: base.tables[name] for name in PARTITIONED}, f"p{i:05d}-")
    stats = write_partition(path, i, tables)
    return stats, base.products


def write_client_base(
    path: str | Path,
    n_organisations: Any,
    *,
    n_partitions: Any = None,
    seed: Any = 0,
    engine: Any = "pandas",
    **kwargs: Any,
) -> PartitionedClientBase:
    """Generate a synthetic client base straight to a partitioned Parquet base.

    Partition ``i`` is an independent :func:`make_client_base` of its share of the
    organisations, drawn with the ``i``-th seed spawned from `seed`, its ids prefixed with
    ``p<i>-`` (``p00003-O-000017``) so that keys never collide and key ranges never overlap;
    the catalogue of products is shared and written once. Each partition is generated, written
    and released in turn (or as a task on a Dask worker), so the whole base never has to fit in
    memory. The same `seed` and `n_partitions` give identical files.

    Each partition is a valid synthetic base with the distributions of ``make_client_base``
    (holdings, relationships and partner pairs stay within a partition); the base as a whole is
    not ``make_client_base(n_organisations, seed=seed)`` row for row, and the planted truth is
    not returned.

    Parameters
    ----------
    path : str or pathlib.Path
        A new or empty directory.
    n_organisations : int
        Number of organisations in all.
    n_partitions : int, optional
        Number of partitions; by default one per 20 000 organisations.
    seed : int, default 0
        Seed of the whole base.
    engine : {"pandas", "dask"} or distributed.Client, default "pandas"
        Where the partitions are generated: one after the other here, or as Dask tasks (each
        worker writes its partitions).
    **kwargs
        Passed on to :func:`make_client_base` (``start``, ``end``, ``landmark``, ``difficulty``).

    Returns
    -------
    PartitionedClientBase
        The base just written, opened.

    Raises
    ------
    InvalidParameterError
        For a bad `n_organisations`, `n_partitions` or `seed`, a non-empty directory, or a
        parameter of :func:`make_client_base` outside its domain.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     pbase = write_client_base(d, 600, n_partitions=3, seed=1)
    ...     pbase.validate()
    ...     pbase.rows()["organisations"].tolist()
    [200, 200, 200]
    """
    for name, value, low in (("n_organisations", n_organisations, 1), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise InvalidParameterError(
                f"The {name!r} parameter of {_OWNER} must be an integer of at least {low}. "
                f"Got {value!r} instead."
            )
    if n_partitions is None:
        n_partitions = max(1, -(-int(n_organisations) // PARTITION_SIZE))
    if (
        isinstance(n_partitions, bool)
        or not isinstance(n_partitions, numbers.Integral)
        or not 1 <= int(n_partitions) <= int(n_organisations)
    ):
        raise InvalidParameterError(
            f"The 'n_partitions' parameter of {_OWNER} must be an integer from 1 to "
            f"n_organisations ({n_organisations}). Got {n_partitions!r} instead."
        )
    unknown = sorted(set(kwargs) - {"start", "end", "landmark", "difficulty"})
    if unknown:
        raise InvalidParameterError(
            f"{_OWNER} passes start, end, landmark and difficulty on to make_client_base. "
            f"Got unknown parameters {unknown}."
        )
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        raise InvalidParameterError(
            f"{_OWNER} writes into a new or empty directory; {str(root)!r} is not empty."
        )
    n = int(n_organisations)
    n_partitions = int(n_partitions)
    sizes = np.full(n_partitions, n // n_partitions)
    sizes[: n % n_partitions] += 1
    seeds = [
        int(s.generate_state(1)[0]) for s in np.random.SeedSequence(int(seed)).spawn(n_partitions)
    ]
    items = [(root, i, int(sizes[i]), seeds[i], kwargs) for i in range(n_partitions)]
    results = run_tasks(engine, _write_one, items, _OWNER)
    stats = [s for s, _ in results]
    write_manifest(root, stats, write_shared(root, {"products": results[0][1]}))
    return PartitionedClientBase.open(root)
