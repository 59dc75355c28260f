"""Alerts of a LifecycleModel: the projects where procurement is likely to start soon."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from b2bclient.base import ClientBase
from b2bclient.base._schema import STAGES
from b2bclient.lifecycle._reasons import reasons

if TYPE_CHECKING:
    from b2bclient.lifecycle._model import LifecycleModel

__all__ = ["project_alerts"]

_PROCUREMENT = STAGES.index("procurement")


def project_alerts(
    model: LifecycleModel,
    base: ClientBase,
    t: pd.Timestamp,
    organisation_ids: Sequence[str] | None,
    spans: dict[str, float],
    p: float,
) -> pd.DataFrame:
    """Return the alerts of :meth:`LifecycleModel.alerts` on an in-memory base at the checked `t`.

    The projects still before procurement whose probability of reaching it within the one
    horizon of `spans` is at least `p`, most likely first, with the reason in plain words.
    """
    label = next(iter(spans))
    forecast, current = model._predict(base, t, organisation_ids, spans)
    before = forecast["stage"].cat.codes.to_numpy() < _PROCUREMENT
    keep = np.flatnonzero(before & (forecast[label].to_numpy() >= p))
    order = keep[
        np.lexsort((forecast["project_id"].to_numpy()[keep], -forecast[label].to_numpy()[keep]))
    ]
    out = forecast.iloc[order].reset_index(drop=True)
    names = base.projects.set_index("project_id")["name"].astype(object)
    out.insert(2, "project", out["project_id"].map(names).to_numpy())
    out["reason"] = reasons(
        model, out, current.iloc[order].reset_index(drop=True), label, spans[label]
    )
    return out
