"""Scoring many organisations on a Dask cluster: the fitted model is broadcast, organisations split.

A recommendation depends only on the fitted model and the organisation, so the organisations are
cut into contiguous partitions, each scored by the same method as the pandas engine, and the
results are stacked in the requested order: the result equals the pandas engine's.

With a partitioned client base the organisations are those of each partition of the base, read
on the worker that scores them (:func:`partitioned`). Nothing crosses partitions: the candidates
(products, and partners in any partition) and their popularity are the fitted model's snapshot.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from b2bclient._optional import import_optional

__all__ = ["map_partitions", "partitioned"]


def map_partitions(
    model: Any,
    name: str,
    codes: npt.NDArray[np.int64],
    args: tuple[Any, ...],
    client: Any,
    npartitions: int | None,
) -> pd.DataFrame:
    """Run ``model.<name>(part, *args)`` on partitions of `codes` with Dask and stack the results.

    With a distributed client the fitted model is scattered to the workers once.
    """
    dask = import_optional("dask", extra="dask", purpose="engine='dask'")
    n = codes.shape[0]
    if npartitions is None:
        workers = len(client.scheduler_info()["workers"]) if client is not None else os.cpu_count()
        npartitions = max(1, 2 * int(workers or 1))
    parts = [p for p in np.array_split(codes, min(npartitions, max(n, 1))) if p.shape[0]]
    if not parts:
        return _call(model, name, codes, args)
    if client is None:
        run = dask.delayed(_call, pure=True)
        results = list(dask.compute(*[run(model, name, part, args) for part in parts]))
    else:
        # A random key: a key hashed from the model would be the key ``dask.delayed`` gives the
        # same model, and a later graph could then ask for the scattered copy while it is being
        # released ("lost dependencies").
        [model_f] = client.scatter([model], broadcast=True, hash=False)
        futures = [client.submit(_call, model_f, name, part, args, pure=False) for part in parts]
        results = client.gather(futures)
    return pd.concat(results, ignore_index=True)


def _call(
    model: Any, name: str, part: npt.NDArray[np.int64], args: tuple[Any, ...]
) -> pd.DataFrame:
    out: pd.DataFrame = getattr(model, name)(part, *args)
    return out


def partitioned(
    model: Any, method: str, pbase: Any, k: int, kwargs: dict[str, Any], engine: Any
) -> Any:
    """Return ``model.<method>(ids, k, **kwargs)`` for the organisations of each partition.

    The ids of a partition are its organisations created before the model's ``as_of_`` (those
    ``organisation_ids=None`` covers in memory), read on the worker; `kwargs` go on unchanged
    (``unknown="raise"`` raises for one the model does not know). With ``engine="pandas"`` the
    result is ordered as the in-memory one (by the model's organisations, then rank).
    """
    from b2bclient.base._partitioned import score_partitions

    return score_partitions(
        pbase,
        _recommend_partition,
        model,
        method,
        k,
        kwargs,
        engine=engine,
        owner=f"{type(model).__name__}.{method}",
        finish=lambda parts: _in_model_order(model, parts),
    )


def _recommend_partition(
    model: Any, part: Any, method: str, k: int, kwargs: dict[str, Any]
) -> pd.DataFrame:
    orgs = part.organisations
    known = (orgs["created_at"] < pd.Timestamp(model.as_of_)).to_numpy()
    ids = orgs["organisation_id"].to_numpy(dtype=object)[known]
    out: pd.DataFrame = getattr(model, method)(sorted(ids.tolist()), k, **kwargs)
    return out


def _in_model_order(model: Any, parts: list[pd.DataFrame]) -> pd.DataFrame:
    out = pd.concat(parts, ignore_index=True)
    position = pd.Index(model.organisation_ids_).get_indexer(out["organisation_id"])
    out = out.iloc[np.argsort(position, kind="stable")].reset_index(drop=True)
    out.attrs["unknown_ids"] = [i for p in parts for i in p.attrs.get("unknown_ids", [])]
    return out
