"""WinModel on a partitioned base: one partition at a time.

The functions here are what :func:`b2bclient.base._partitioned.score_partitions` runs on each
partition (module-level, so they travel to Dask workers by reference) and the check that a
model's features can be computed from one partition alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient.base import ClientBase

if TYPE_CHECKING:
    from b2bclient.pipeline._win import WinModel

__all__ = ["check_partitionable_model"]

_OWNER = "WinModel"


def check_partitionable_model(model: WinModel, owner: str) -> None:
    """Refuse to score a partitioned base with features a partition cannot compute."""
    from b2bclient.features._partitioned import check_partitionable

    if getattr(model, "feature_names_in_", None) is None:
        raise InvalidParameterError(
            f"This {_OWNER} was fitted on a plain matrix; fit it on a ClientBase (or on "
            "the frame of deal_frame) to score a base."
        )
    check_partitionable(model.extractors, owner)


def _proba_part(model: WinModel, part: ClientBase, as_of: Any) -> pd.Series:
    out: pd.Series = model.predict_proba(part, as_of)
    return out


def _close_part(model: WinModel, part: ClientBase, as_of: Any, span: pd.Timedelta) -> pd.DataFrame:
    out: pd.DataFrame = model.p_close_within(part, as_of, span)
    return out


def _by_deal(parts: list[Any]) -> Any:
    """Stack the partitions' deals, ordered by ``deal_id`` (the layout does not keep row order)."""
    return pd.concat(parts).sort_index()
