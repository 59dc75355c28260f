"""Scoring many organisations on a Dask cluster: the fitted model is broadcast, organisations split.

A recommendation depends only on the fitted model and the organisation, so the organisations are
cut into contiguous partitions, each scored by the same method as the pandas engine, and the
results are stacked in the requested order: the result equals the pandas engine's.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from b2bclient._optional import import_optional

__all__ = ["map_partitions"]


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
