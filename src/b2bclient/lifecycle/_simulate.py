"""Paths through the stages: the time to reach a stage and the chance of getting there.

Given a project's current stage, the days it has spent there and the linear predictors of the
stages ahead, the fitted models fix the distribution of the path: the current stage's log-days is
a normal truncated below at the days spent, each later stage's log-days a normal whose mean moves
with the log-days of the stages before it. The exits are constant hazards within each stage, so
along a given path the probability of no exit is ``exp(-sum(rate_s * days_in_s))`` in closed form:
only the durations are drawn, on scrambled Sobol points shared by all projects (the same answer
for the same seed).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.special import log_ndtr, ndtri, ndtri_exp
from scipy.stats import qmc

__all__ = ["Paths", "draw_uniforms", "simulate_paths"]

Floats = npt.NDArray[np.float64]


def draw_uniforms(n_draws: int, n_dims: int, seed: int) -> Floats:
    """Return `n_draws` (rounded up to a power of two) scrambled Sobol points in (0, 1)^n_dims."""
    m = max(1, int(np.ceil(np.log2(max(n_draws, 2)))))
    u = qmc.Sobol(d=n_dims, scramble=True, seed=seed).random_base2(m)
    return np.asarray(np.clip(u, 1e-12, 1.0 - 1e-12), dtype=np.float64)


class Paths:
    """Drawn paths of a batch of projects: stage start times and the no-exit weight up to each.

    ``start[k]`` (projects x draws) is the day, counted from now, on which stage ``first + k``
    starts (0 for the current stage ``first``, counted from its start minus the days spent);
    ``weight[k]`` the probability of no exit before it; ``days[k]`` the days spent in stage
    ``first + k`` from now (the remaining days for the current stage).
    """

    def __init__(self, start: list[Floats], weight: list[Floats], days: list[Floats]) -> None:
        self.start = start
        self.weight = weight
        self.days = days


def simulate_paths(
    *,
    first: int,
    spent: Floats,
    base_mu: Floats,
    lag: Floats,
    sigma: Floats,
    rate: Floats,
    stop: int,
    u: Floats,
) -> Paths:
    """Draw the stages ``first .. stop - 1`` of projects that are all in stage `first` now.

    Parameters
    ----------
    first : int
        The current stage of every project of the batch.
    spent : array of shape (m,)
        Days spent in the current stage.
    base_mu : array of shape (m, n_stages)
        Mean log-days of each stage from everything known now (the log-days of stages from
        `first` on counted as 0).
    lag : array of shape (n_stages, n_stages)
        ``lag[j, k]``: coefficient of stage ``k``'s log-days in stage ``j``'s mean (``k < j``).
    sigma : array of shape (n_stages,)
        Sigma of each stage's log-days.
    rate : array of shape (m, n_stages)
        Exit hazard per day of each project in each stage (all causes).
    stop : int
        Draw up to the start of this stage (``n_stages`` for the end of the project).
    u : array of shape (q, n_stages)
        Uniforms.
    """
    m = spent.shape[0]
    q = u.shape[0]
    now = np.zeros((m, q))
    cum = np.zeros((m, q))
    logs: dict[int, Floats] = {}
    starts, weights, days = [now.copy()], [np.ones((m, q))], []
    with np.errstate(divide="ignore"):
        log_spent = np.log(spent)
    for j in range(first, stop):
        mu = np.repeat(base_mu[:, j][:, None], q, axis=1)
        for k, values in logs.items():
            if lag[j, k] != 0.0:
                mu = mu + lag[j, k] * values
        if j == first:
            alpha = (log_spent[:, None] - mu) / sigma[j]
            z = -ndtri_exp(np.log(u[None, :, j]) + log_ndtr(-alpha))
            log_d = mu + sigma[j] * z
            left = np.maximum(np.exp(log_d) - spent[:, None], 0.0)
        else:
            log_d = mu + sigma[j] * ndtri(u[None, :, j])
            left = np.exp(log_d)
        logs[j] = log_d
        now = now + left
        cum = cum + rate[:, j][:, None] * left
        days.append(left)
        starts.append(now)
        weights.append(np.exp(-cum))
    return Paths(starts, weights, days)


def weighted_quantiles(values: Floats, weight: Floats, levels: tuple[float, ...]) -> list[Floats]:
    """Return per row the `levels` quantiles of `values` under the weights `weight`."""
    order = np.argsort(values, axis=1)
    v = np.take_along_axis(values, order, axis=1)
    w = np.cumsum(np.take_along_axis(weight, order, axis=1), axis=1)
    total = np.maximum(w[:, -1:], 1e-300)
    out = []
    for level in levels:
        idx = np.minimum((w / total < level).sum(axis=1), v.shape[1] - 1)
        out.append(v[np.arange(v.shape[0]), idx])
    return out
