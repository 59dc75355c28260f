"""LifecycleModel on a partitioned base: one partition at a time.

The functions :func:`b2bclient.base._partitioned.score_partitions` runs on each partition
(module-level, so they travel to Dask workers by reference), the ones that put the partitions'
results together, and the check of the arguments a partitioned base takes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient._time import to_timestamp
from b2bclient.base import ClientBase
from b2bclient.lifecycle._alerts import project_alerts

if TYPE_CHECKING:
    from b2bclient.lifecycle._model import LifecycleModel

__all__: list[str] = []

_OWNER = "LifecycleModel"


def _partitioned_as_of(as_of: Any, organisation_ids: Any, method: str) -> pd.Timestamp:
    owner = f"{_OWNER}.{method}"
    if organisation_ids is not None:
        raise InvalidParameterError(
            f"{owner} scores every active project of a partitioned base; 'organisation_ids' "
            "needs the partitions that hold them. Select the rows of the result, or call it on "
            "an in-memory base (pbase.partition(i))."
        )
    return to_timestamp(as_of, name="as_of", owner=owner)


def _predict_part(
    model: LifecycleModel, part: ClientBase, t: pd.Timestamp, spans: dict[str, float]
) -> pd.DataFrame:
    return model._predict(part, t, None, spans)[0]


def _alerts_part(
    model: LifecycleModel, part: ClientBase, t: pd.Timestamp, spans: dict[str, float], p: float
) -> pd.DataFrame:
    return project_alerts(model, part, t, None, spans, p)


def _by_project(parts: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True).sort_values("project_id", ignore_index=True)


def _most_likely(parts: list[pd.DataFrame], label: str) -> pd.DataFrame:
    out = pd.concat(parts, ignore_index=True)
    order = np.lexsort((out["project_id"].to_numpy(), -out[label].to_numpy()))
    return out.iloc[order].reset_index(drop=True)
