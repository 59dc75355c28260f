"""State occupation of a LifecycleModel: where an average project is, days after its start."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient.base._schema import STAGES
from b2bclient.lifecycle._forecast import exit_rates, stage_means, stage_sigmas
from b2bclient.lifecycle._simulate import draw_uniforms, simulate_paths

if TYPE_CHECKING:
    from b2bclient.lifecycle._model import LifecycleModel

__all__ = ["occupation"]

_OWNER = "LifecycleModel"
_N = len(STAGES)


def occupation(model: LifecycleModel, days: Sequence[float]) -> pd.DataFrame:
    """Return :meth:`LifecycleModel.state_occupation` of a fitted `model` at `days`.

    The paths of the projects of `covariate_sample_` from design on day 0 are simulated; the
    probability of each stage at a day is the share of paths in it, weighted by the chance that
    no exit happened before.
    """
    grid = np.asarray(days, dtype=np.float64)
    if grid.ndim != 1 or not np.isfinite(grid).all() or (grid < 0).any():
        raise InvalidParameterError(
            f"The 'days' parameter of {_OWNER}.state_occupation must be a sequence of "
            f"non-negative numbers of days. Got {days!r} instead."
        )
    sample = model.covariate_sample_.assign(code=0)
    mu = stage_means(model, sample)
    rate = exit_rates(model, sample)
    u = draw_uniforms(int(model.n_draws), _N, int(model.random_state))
    paths = simulate_paths(
        first=0,
        spent=np.zeros(len(sample)),
        base_mu=mu,
        lag=model.lag_,
        sigma=stage_sigmas(model),
        rate=rate,
        stop=_N,
        u=u,
    )
    columns = [*STAGES, "completed", "cancelled"]
    out = np.zeros((len(grid), len(columns)))
    for i, d in enumerate(grid):
        cum = np.zeros_like(paths.start[0])
        for j in range(_N):
            cum += rate[:, j][:, None] * np.clip(d - paths.start[j], 0.0, paths.days[j])
        alive = np.exp(-cum)
        for j in range(_N):
            inside = (paths.start[j] <= d) & (d < paths.start[j + 1])
            out[i, j] = float((alive * inside).mean())
        out[i, _N] = float((alive * (paths.start[_N] <= d)).mean())
    out[:, -1] = 1.0 - out[:, :-1].sum(axis=1)
    return pd.DataFrame(out, index=pd.Index(grid, name="days"), columns=columns)
