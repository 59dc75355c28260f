"""The Dask engine: the same extractors on partitions of whole holdings (DESIGN.md section 7).

The base is cut at ``as_of`` once, on the caller's side. Organisations are assigned to partitions by
their top parent, so every member of a holding lands in the same partition; each row of an
organisation-keyed table follows its organisation (lines follow their deal, stages their project).
Small tables every partition needs (``products``) are broadcast. Extractors whose tags declare scope
``"organisation"`` run once per partition; those with scope ``"global"`` (statistics across
organisations) run as a separate task on the whole tables they require. Partition results are
stacked and sorted by ``organisation_id``, so the result equals the pandas engine's.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from b2bclient.base._engine import import_dask, resolve_engine
from b2bclient.features._context import FeatureTables
from b2bclient.features._frames import concat_rows, run_extractors
from b2bclient.features._groups import hierarchy
from b2bclient.features._protocol import Extractor

__all__ = ["compute_dask", "partition_tables", "resolve_engine"]

_BY_ORGANISATION = ("organisations", "contacts", "deals", "projects", "interactions", "contracts")
_BROADCAST = ("products",)


def _split(df: pd.DataFrame, part: np.ndarray, npartitions: int) -> list[pd.DataFrame]:
    keep = part >= 0
    order = np.flatnonzero(keep)[np.argsort(part[keep], kind="stable")]
    sizes = np.bincount(part[keep], minlength=npartitions)
    bounds = np.concatenate(([0], np.cumsum(sizes)))
    taken = df.take(order)
    return [
        taken.iloc[bounds[p] : bounds[p + 1]].reset_index(drop=True) for p in range(npartitions)
    ]


def partition_tables(ctx: FeatureTables, npartitions: int) -> list[dict[str, pd.DataFrame]]:
    """Split cut tables into `npartitions` sets of tables, keeping each holding together.

    A holding goes to partition ``code(top parent) % npartitions``; rows keep their table
    order within a partition. Broadcast tables (``products``) are left out.

    Examples
    --------
    >>> import pandas as pd
    >>> orgs = pd.DataFrame({"organisation_id": ["A", "B", "C"], "parent_id": [None, None, "A"],
    ...                      "created_at": pd.to_datetime(["2024-01-01"] * 3)})
    >>> ctx = FeatureTables.prepare({"organisations": orgs}, pd.Timestamp("2025-01-01"))
    >>> [p["organisations"]["organisation_id"].tolist() for p in partition_tables(ctx, 2)]
    [['A', 'C'], ['B']]
    """
    top, _, _ = hierarchy(ctx)
    org_part = np.asarray(top % max(npartitions, 1), dtype=np.intp)

    def part_of(codes: np.ndarray) -> np.ndarray:
        return np.where(codes >= 0, org_part[np.maximum(codes, 0)], -1)

    parts: list[dict[str, pd.DataFrame]] = [{} for _ in range(npartitions)]
    row_part: dict[str, np.ndarray] = {}
    for name in _BY_ORGANISATION:
        row_part[name] = part_of(ctx.codes(name))
    for name, column, parent in (
        ("deal_lines", "deal_id", "deals"),
        ("stages", "project_id", "projects"),
    ):
        rows = ctx.positions(name, column, parent)
        row_part[name] = np.where(rows >= 0, row_part[parent][np.maximum(rows, 0)], -1)
    for name, part in row_part.items():
        for p, frame in enumerate(_split(ctx[name], part, npartitions)):
            parts[p][name] = frame
    rel = ctx["relationships"]
    source = part_of(ctx.codes("relationships", "source_id"))
    target = part_of(ctx.codes("relationships", "target_id"))
    for p in range(npartitions):
        # A link belongs to the partitions of both its ends.
        parts[p]["relationships"] = rel.loc[(source == p) | (target == p)].reset_index(drop=True)
    return parts


def _run_partition(
    tables: dict[str, pd.DataFrame],
    shared: dict[str, pd.DataFrame],
    as_of: pd.Timestamp,
    extractors: Sequence[Extractor],
) -> list[pd.DataFrame]:
    return run_extractors(FeatureTables({**tables, **shared}, as_of), extractors)


def _run_global(
    tables: dict[str, pd.DataFrame], as_of: pd.Timestamp, extractor: Extractor
) -> pd.DataFrame:
    return run_extractors(FeatureTables(tables, as_of), [extractor])[0]


def _default_partitions(client: Any) -> int:
    if client is not None:
        try:
            threads = int(sum(client.nthreads().values()))
        except Exception:  # a client without a reachable scheduler falls back to the local CPUs
            threads = os.cpu_count() or 1
        return max(2 * threads, 1)
    return max(os.cpu_count() or 1, 1)


def compute_dask(
    ctx: FeatureTables,
    extractors: Sequence[Extractor],
    client: Any,
    npartitions: int | None,
) -> list[pd.DataFrame]:
    """Compute `extractors` on Dask and return one frame per extractor, aligned to ``ctx.org_ids``.

    Parameters
    ----------
    ctx : FeatureTables
        Tables cut at ``as_of``.
    extractors : sequence of Extractor
        The extractors, in output order.
    client : distributed.Client or None
        Cluster to run on; None uses Dask's default scheduler.
    npartitions : int, optional
        Number of partitions; by default twice the cluster's threads (or the local CPU count).

    Returns
    -------
    list of pandas.DataFrame
    """
    dask = import_dask()
    n = npartitions if npartitions is not None else _default_partitions(client)
    n_holdings = int(np.count_nonzero(np.bincount(hierarchy(ctx)[0], minlength=ctx.n_orgs)))
    n = max(1, min(n, max(n_holdings, 1)))
    local = [e for e in extractors if e.tags().scope == "organisation"]
    remote_global = [e for e in extractors if e.tags().scope != "organisation"]
    parts = partition_tables(ctx, n) if local else []
    shared = {name: ctx[name] for name in _BROADCAST}
    global_tables = [
        {name: ctx[name] for name in ("organisations", *e.requires)} for e in remote_global
    ]

    if client is None:
        run_p = dask.delayed(_run_partition, pure=False)
        run_g = dask.delayed(_run_global, pure=False)
        tasks = [run_p(p, shared, ctx.as_of, local) for p in parts]
        tasks += [run_g(t, ctx.as_of, e) for t, e in zip(global_tables, remote_global, strict=True)]
        results = list(dask.compute(*tasks))
    else:
        [shared_f] = client.scatter([shared], broadcast=True, hash=False)
        futures = []
        if parts:
            part_f = client.scatter(parts, hash=False)
            futures += client.map(
                _run_partition,
                part_f,
                shared=shared_f,
                as_of=ctx.as_of,
                extractors=local,
                pure=False,
            )
        for t, e in zip(global_tables, remote_global, strict=True):
            [t_f] = client.scatter([t], hash=False)
            futures.append(client.submit(_run_global, t_f, ctx.as_of, e, pure=False))
        results = client.gather(futures)

    partition_results = results[: len(parts)]
    global_results = iter(results[len(parts) :])
    out = []
    i = 0
    for e in extractors:
        if e.tags().scope == "organisation":
            frame = concat_rows([r[i] for r in partition_results]).reindex(ctx.org_ids)
            out.append(frame)
            i += 1
        else:
            out.append(next(global_results))
    return out
