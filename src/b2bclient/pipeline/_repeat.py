"""Repeat business of the forecast: BG/NBD purchases times Gamma-Gamma values, and their draws.

The clients at ``as_of`` (a won deal before it) are forecast by a BG/NBD of their won deals and a
Gamma-Gamma of their values; the recent bias of that forecast is measured on the windows before
``as_of``; the simulation draws each client's purchases (Poisson) and values (Gamma). See
:mod:`b2bclient.pipeline._forecast` for how this part is kept disjoint from the others.
"""

from __future__ import annotations

import warnings

import numpy as np
import numpy.typing as npt
import pandas as pd

from b2bclient.pipeline._rates import (
    YEAR,
    WonRevenue,
    _won_in,
    back_windows,
    ratio_spread,
    seasonal_index,
)

__all__: list[str] = []

Floats = npt.NDArray[np.float64]
#: Clients the BG/NBD and Gamma-Gamma parameters are fitted on, at most.
_FIT_ROWS = 20_000
#: Clients whose repeat purchases are simulated one by one; the rest as one moment-matched sum.
_EXACT_CLIENTS = 10_000


def _sample(summary: pd.DataFrame) -> pd.DataFrame:
    if len(summary) <= _FIT_ROWS:
        return summary
    pick = np.random.default_rng(0).choice(len(summary), size=_FIT_ROWS, replace=False)
    return summary.iloc[np.sort(pick)]


def _transactions(deals: pd.DataFrame) -> pd.DataFrame:
    """Return the won deals as the transaction log of ``rfm_summary`` (id, time, value)."""
    won = deals.loc[(deals["status"] == "won") & deals["closed_at"].notna()]
    return pd.DataFrame(
        {
            "organisation_id": won["organisation_id"].to_numpy(dtype=object),
            "time": won["closed_at"].to_numpy(),
            "value": won["amount"].to_numpy(dtype=np.float64),
        }
    )


def _repeat(
    transactions: pd.DataFrame, as_of: pd.Timestamp, span: pd.Timedelta
) -> tuple[pd.DataFrame, float]:
    """Return per client the BG/NBD expected purchases and the Gamma-Gamma value, and its shape.

    `transactions` are the won deals of a base cut at or after `as_of` (:func:`_transactions`);
    the weekly summary of those closed before `as_of` is ``rfm_summary(base, as_of, "W")``,
    computed without cutting the whole base again at every calibration window. The models' few
    parameters are fitted on a fixed random sample of at most `_FIT_ROWS` clients (the maximum
    likelihood of a large base is slow and no more precise for the total), and every client is
    then predicted.
    """
    from sklearn.exceptions import ConvergenceWarning

    from b2bclient._exceptions import ConvergenceError
    from b2bclient.btyd import BetaGeo, GammaGamma
    from b2bclient.btyd._rfm import summary_from_transactions

    summary = summary_from_transactions(transactions, as_of, freq="W")
    if len(summary) == 0:
        return pd.DataFrame(columns=["purchases", "value"], dtype=float), 1.0
    weeks = span / pd.Timedelta(weeks=1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            bg = BetaGeo().fit(_sample(summary))
    except ConvergenceError:
        bg = BetaGeo(penalizer=0.001).fit(_sample(summary))
    purchases = np.asarray(bg.conditional_expected_purchases(weeks, summary), dtype=np.float64)
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    shape = 1.0
    if len(repeat) >= 10:
        try:
            gg = GammaGamma().fit(_sample(repeat))
            value = np.asarray(gg.conditional_expected_average_profit(summary), dtype=np.float64)
            shape = float(gg.params_["p"])
        except Exception:
            value = np.full(len(summary), float(repeat["monetary_value"].mean()))
    else:
        mean = float(repeat["monetary_value"].mean()) if len(repeat) else float("nan")
        value = np.full(len(summary), mean)
    if not np.isfinite(value).all():
        # Gamma-Gamma without a finite mean (q <= 1) or no repeat buyer: observed means.
        first = transactions.loc[transactions["time"] < as_of, "value"]
        fallback = float(first.mean()) if len(first) else 0.0
        value = np.where(np.isfinite(value), value, fallback)
    out = pd.DataFrame({"purchases": purchases, "value": value}, index=summary.index)
    return out, shape


def _repeat_calibration(
    deals: pd.DataFrame,
    transactions: pd.DataFrame,
    won_revenue: WonRevenue,
    as_of: pd.Timestamp,
    span: pd.Timedelta,
    windows: int,
) -> tuple[float, float, int]:
    """Return the repeat business's recent bias, the spread of its log ratios, and the windows.

    At the start ``c`` of each of the `windows` windows before `as_of` (with a year of deals
    before it), the BG/NBD and Gamma-Gamma are fitted as of ``c`` and their expected revenue of
    the clients at ``c`` in ``[c, c + span)``, times the season of that window, is compared with
    what those clients won in it (every deal, as the models count every purchase).
    """
    won = deals[deals["status"] == "won"]
    forecasts, actuals = [], []
    for c in back_windows(deals, as_of, span, windows, history=max(int(YEAR / span), 1)):
        clients, _ = _repeat(transactions, c, span)
        if not len(clients):
            continue
        raw = float((clients["purchases"] * clients["value"]).sum())
        got = _won_in(won, c, c + span)
        got = got[got["organisation_id"].isin(clients.index)]
        forecasts.append(raw * seasonal_index(won_revenue, c, span))
        actuals.append(float(got["amount"].sum()))
    if not forecasts:
        return 1.0, 0.0, 0
    bias, sd = ratio_spread(np.asarray(actuals), np.asarray(forecasts))
    return bias, sd, len(forecasts)


def _simulate_repeat(
    rng: np.random.Generator, lam: Floats, value: Floats, shape: float, factor: Floats
) -> Floats:
    """Return the simulated repeat revenue: per client Poisson(lam * factor) Gamma values.

    Each client's purchases in a simulation are Poisson with mean ``lam * factor`` (the factor
    shared by every client of the simulation) and each purchase is Gamma with mean `value` and
    shape `shape`. The `_EXACT_CLIENTS` clients of largest expected revenue are drawn one by
    one. The others, when there are more, are many small independent compound Poisson terms:
    given the factor, their sum has mean ``factor * sum(lam * value)`` and variance
    ``factor * sum(lam * value**2 * (1 + 1 / shape))`` exactly, and it is drawn as a gamma of
    that mean and variance (the sum of tens of thousands of terms is close to normal; the gamma
    keeps it positive and right-skewed). Drawing every client of a 100 000-organisation base
    took most of the forecast's time.
    """
    n_sims = len(factor)
    total = np.zeros(n_sims)
    order = np.arange(len(lam))
    if len(lam) > _EXACT_CLIENTS:
        order = np.argsort(-(lam * value), kind="stable")
        rest = order[_EXACT_CLIENTS:]
        order = np.sort(order[:_EXACT_CLIENTS])
        mean = float((lam[rest] * value[rest]).sum())
        var = float((lam[rest] * value[rest] ** 2).sum()) * (1.0 + 1.0 / shape)
        if mean > 0 and var > 0:
            total += rng.gamma(factor * mean**2 / var, var / mean)
    lam, value = lam[order], value[order]
    for lo in range(0, len(lam), 20_000):
        chunk = lam[lo : lo + 20_000, None] * factor[None, :]
        n = rng.poisson(chunk)
        scale = (value[lo : lo + 20_000] / shape)[:, None]
        drawn = np.where(n > 0, rng.gamma(np.maximum(n * shape, 1e-12), 1.0) * scale, 0.0)
        total += drawn.sum(axis=0)
    return total
