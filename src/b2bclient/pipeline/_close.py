"""Time to close: a lognormal per channel, fitted with the deals still open as censored."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import optimize, special

__all__ = ["close_within_frame", "fit_close_time", "p_close_between"]

Floats = npt.NDArray[np.float64]

_MIN_DAYS = 1e-4  # a deal closed in the second it was created still took some time


def _lognormal_fit(days: Floats, event: npt.NDArray[np.bool_]) -> tuple[float, float]:
    """Return (mu, sigma) of the log-duration, maximising the censored likelihood."""
    z = np.log(np.maximum(days, _MIN_DAYS))
    closed = z[event]
    mu0 = float(closed.mean()) if len(closed) else float(z.mean())
    sd0 = float(closed.std()) if len(closed) > 1 else 1.0

    def nll(theta: Floats) -> float:
        mu, log_sd = float(theta[0]), float(theta[1])
        sd = math.exp(log_sd)
        u = (z - mu) / sd
        ll = np.where(event, -0.5 * u**2 - log_sd, special.log_ndtr(-u))
        return float(-ll.sum())

    res = optimize.minimize(nll, np.array([mu0, math.log(max(sd0, 0.05))]), method="Nelder-Mead")
    return float(res.x[0]), float(math.exp(res.x[1]))


def fit_close_time(channel: pd.Series, days: Floats, event: npt.NDArray[np.bool_]) -> pd.DataFrame:
    """Return ``mu`` and ``sigma`` of the log days to close per channel, and ``deals``, ``closed``.

    `days` runs from creation to closing (`event` True) or to the cut-off (still open: censored).
    A channel with fewer than 5 closed deals gets the pooled estimate.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> d = np.exp(rng.normal(np.log(12.0), 0.8, 4000))
    >>> fit = fit_close_time(pd.Series(["sales_rep"] * 4000), np.minimum(d, 30.0), d < 30)
    >>> round(float(np.exp(fit.loc["sales_rep", "mu"])), 0), round(float(fit.loc["sales_rep", "sigma"]), 1)
    (12.0, 0.8)
    """
    pooled = _lognormal_fit(days, event)
    rows = {}
    values = channel.astype(object).to_numpy()
    for name in pd.unique(values):
        mask = values == name
        fit = _lognormal_fit(days[mask], event[mask]) if event[mask].sum() >= 5 else pooled
        rows[str(name)] = {
            "mu": fit[0],
            "sigma": fit[1],
            "deals": float(mask.sum()),
            "closed": float(event[mask].sum()),
        }
    rows["*"] = {
        "mu": pooled[0],
        "sigma": pooled[1],
        "deals": float(len(days)),
        "closed": float(event.sum()),
    }
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "channel"
    return frame


def p_close_between(mu: Floats, sigma: Floats, age_days: Floats, horizon_days: float) -> Floats:
    """Return P(close before ``age + horizon`` | still open at ``age``) under the lognormal.

    Examples
    --------
    >>> float(p_close_between(np.array([0.0]), np.array([1.0]), np.array([0.0]), 1.0)[0])
    0.5
    """
    lo = (np.log(np.maximum(age_days, _MIN_DAYS)) - mu) / sigma
    hi = (np.log(np.maximum(age_days + horizon_days, _MIN_DAYS)) - mu) / sigma
    # 1 - S(hi)/S(lo), in log space so that stale deals far in the tail stay finite.
    log_ratio = special.log_ndtr(-hi) - special.log_ndtr(-lo)
    return np.asarray(-np.expm1(np.minimum(log_ratio, 0.0)), dtype=np.float64)


def close_within_frame(
    frame: pd.DataFrame, p: Floats, close: pd.DataFrame, span: pd.Timedelta
) -> pd.DataFrame:
    """Return the table of ``WinModel.p_close_within`` for the scored open deals `frame`.

    `p` holds their win probabilities, `close` the fitted ``close_time_`` (a channel not seen at
    fit takes the pooled ``"*"`` row) and `span` the horizon.
    """
    channel = (
        frame["deal__channel"].astype(object).to_numpy()
        if len(frame)
        else np.array([], dtype=object)
    )
    known = np.isin(channel, close.index)
    key = np.where(known, channel, "*")
    mu = close["mu"].reindex(key).to_numpy(np.float64)
    sigma = close["sigma"].reindex(key).to_numpy(np.float64)
    age = frame["deal__age_days"].to_numpy(np.float64) if len(frame) else np.zeros(0)
    p_close = p_close_between(mu, sigma, age, span / pd.Timedelta(days=1))
    amount = frame["amount"].to_numpy(np.float64) if len(frame) else np.zeros(0)
    out = pd.DataFrame(
        {
            "organisation_id": frame["organisation_id"].to_numpy(object)
            if len(frame)
            else np.array([], dtype=object),
            "channel": channel,
            "amount": amount,
            "age_days": age,
            "p_win": p,
            "p_close": p_close,
            "p_won": p * p_close,
            "expected_won": amount * p * p_close,
        },
        index=pd.Index(frame["deal_id"] if len(frame) else [], name="deal_id", dtype=object),
    )
    return out
