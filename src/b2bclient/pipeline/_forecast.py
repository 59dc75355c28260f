"""forecast() and backtest(): expected won revenue in a horizon, with a simulated interval.

The won revenue in ``[as_of, as_of + horizon)`` comes from three disjoint sources:

* **open deals** — deals open at ``as_of``, each won within the horizon with the probability
  ``p_win * p_close`` of a :class:`~b2bclient.pipeline.WinModel` (a Bernoulli draw each);
* **repeat business** — organisations that are clients at ``as_of`` (a won deal before it): the
  BG/NBD expected purchases in the horizon times the Gamma-Gamma expected value, times the
  window's season and the models' recent bias (:mod:`b2bclient.pipeline._rates`). The BG/NBD
  counts *every* purchase of a client, including those its open deals will bring, so the client's
  expected open-deal revenue is taken out of its expected revenue (never below zero): its open
  deals are counted once, with their own amounts. Counts are Poisson, values Gamma with the
  Gamma-Gamma shape;
* **new business** — organisations that are not clients at ``as_of``: deals they create *after*
  ``as_of`` and win within the horizon, at the rate measured over the same windows before
  ``as_of`` (deals won in ``[w, w + horizon)`` that were created in it by organisations that had
  not bought before ``w``), out of season, then put in the coming window's season and corrected
  by its recent bias. A compound Poisson draw (count Poisson, amounts resampled). These
  organisations are outside the BG/NBD, and their deals open at ``as_of`` are in the first part,
  so nothing is counted twice.

The repeat and new-business rates are uncertain: each simulation draws one lognormal factor per
part, of mean 1 and of the spread of the part's recent ratios of actual to forecast.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
import pandas as pd

from b2bclient._exceptions import InvalidParameterError, InvalidTablesError, UnknownIdError
from b2bclient._time import to_duration, to_timestamp
from b2bclient.base import ClientBase
from b2bclient.pipeline._new_business import new_business_rate
from b2bclient.pipeline._rates import (
    WonRevenue,
    _won_in,
    lognormal_factor,
    seasonal_index,
)
from b2bclient.pipeline._repeat import (
    _repeat,
    _repeat_calibration,
    _simulate_repeat,
    _transactions,
)

__all__ = ["Forecast", "backtest", "forecast"]

Floats = npt.NDArray[np.float64]
_OWNER = "forecast"
_NEW = "(new clients)"
_COMPONENTS = ("open_deals", "repeat_business", "new_business")


@attrs.frozen(kw_only=True, eq=False)
class Forecast:
    """Expected won revenue in ``[as_of, as_of + horizon)``, its interval and its breakdowns.

    Attributes
    ----------
    as_of, horizon : pandas.Timestamp, pandas.Timedelta
        The window forecast.
    expected : float
        The point forecast (sum of the three components' expectations).
    lower, upper : float
        The prediction interval: quantiles ``(1 - level) / 2`` and ``(1 + level) / 2`` of the
        simulated totals.
    level : float
        Coverage of the interval.
    components : pandas.DataFrame
        ``expected``, ``lower``, ``upper`` per component (``open_deals``, ``repeat_business``,
        ``new_business``).
    by_organisation : pandas.DataFrame
        Expected revenue per organisation and component (new business on the row
        ``"(new clients)"``).
    by_region, by_channel, by_segment : pandas.DataFrame or None
        The same by region, by deal channel and by segment (None without segment labels). Repeat
        business is split by each client's channel mix of the last year, new business by the mix
        of past new clients' revenue.
    simulations : numpy.ndarray
        The simulated totals.
    deals : pandas.DataFrame
        The open deals with ``p_win``, ``p_close``, ``p_won`` and ``expected_won``.
    adjustments : dict of str to float
        What the repeat and new business were corrected by, all measured before ``as_of``:
        ``season`` (the window's seasonal index), ``repeat_bias`` and ``new_business_bias`` (the
        ratio of what was won to what would have been forecast in the recent windows),
        ``repeat_sd`` and ``new_business_sd`` (the log spread of those ratios, the rates'
        uncertainty in the simulation), and ``calibration_windows`` (how many windows the repeat
        business was measured on).
    """

    as_of: pd.Timestamp
    horizon: pd.Timedelta
    expected: float
    lower: float
    upper: float
    level: float
    components: pd.DataFrame
    by_organisation: pd.DataFrame
    by_region: pd.DataFrame
    by_channel: pd.DataFrame
    by_segment: pd.DataFrame | None
    simulations: Floats
    deals: pd.DataFrame
    adjustments: dict[str, float] = attrs.field(factory=dict)

    def summary(self) -> pd.DataFrame:
        """Return the components and the total as one frame (``expected``, ``lower``, ``upper``).

        Examples
        --------
        >>> from b2bclient.datasets import make_client_base
        >>> f = forecast(make_client_base(150, seed=2), "2024-07-01", n_simulations=200)
        >>> f.summary().index.tolist()
        ['open_deals', 'repeat_business', 'new_business', 'total']
        """
        total = pd.DataFrame(
            {"expected": [self.expected], "lower": [self.lower], "upper": [self.upper]},
            index=["total"],
        )
        return pd.concat([self.components, total])


def _check_horizon(horizon: Any, owner: str) -> pd.Timedelta:
    return to_duration(horizon, owner=owner)


def forecast(
    base: ClientBase,
    as_of: Any,
    horizon: Any = "90D",
    *,
    win_model: Any = None,
    segments: pd.Series | None = None,
    organisations: Sequence[str] | None = None,
    level: float = 0.8,
    n_simulations: int = 2000,
    new_business_windows: int = 4,
    calibration_windows: int = 4,
    random_state: int | None = 0,
) -> Forecast:
    """Forecast the revenue won in ``[as_of, as_of + horizon)``, with a prediction interval.

    Open deals weighted by their probability of closing won within the horizon, plus the repeat
    business of existing clients from BG/NBD and Gamma-Gamma, plus new business from the recent
    rate; see :mod:`b2bclient.pipeline._forecast` for how the three parts are kept disjoint. The
    interval comes from simulating the sum of the Bernoulli (open deals), Poisson-Gamma (repeat
    purchases) and compound Poisson (new business) parts.

    Parameters
    ----------
    base : ClientBase
        The client base; only rows before `as_of` are read.
    as_of : str or pandas.Timestamp
        The start of the window; never defaults to now.
    horizon : str or pandas.Timedelta, default "90D"
        The window's length, positive.
    win_model : WinModel, optional
        A fitted :class:`~b2bclient.pipeline.WinModel` fitted on a base at or before `as_of`; by
        default one is fitted at `as_of`.
    segments : pandas.Series, optional
        Segment labels indexed by ``organisation_id`` for the breakdown by segment.
    organisations : sequence of str, optional
        Restrict the breakdown by organisation to these ids (the totals cover every organisation).
    level : float, default 0.8
        Coverage of the prediction interval, in (0, 1).
    n_simulations : int, default 2000
        Simulated totals.
    new_business_windows : int, default 4
        Windows of length `horizon` before `as_of` over which the new-business rate is measured.
    calibration_windows : int, default 4
        Windows of length `horizon` before `as_of` on which the repeat and new business are
        forecast as they would have been at the window's start and compared with what was won:
        the ratio corrects their bias, its spread widens the interval (0 turns this off).
    random_state : int or None, default 0
        Seed of the simulation.

    Returns
    -------
    Forecast

    Raises
    ------
    InvalidParameterError
        For a horizon that is not positive, a `level` outside (0, 1), or a `win_model` fitted
        after `as_of`.
    InvalidTablesError
        When the base has no deals, or every amount of its deals is 0 (no revenue to forecast).
    UnknownIdError
        For ids in `organisations` or in the index of `segments` that the base does not hold.

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> f = forecast(make_client_base(150, seed=2), "2024-07-01", "90D", n_simulations=200)
    >>> bool(f.lower <= f.expected <= f.upper)
    True
    """
    from b2bclient.pipeline._win import WinModel

    if not isinstance(base, ClientBase):
        raise InvalidParameterError(f"{_OWNER} needs a ClientBase. Got {type(base).__name__}.")
    as_of = to_timestamp(as_of, owner=_OWNER)
    span = _check_horizon(horizon, _OWNER)
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise InvalidParameterError(
            f"The 'level' parameter of {_OWNER} must be a number in (0, 1) such as 0.8. "
            f"Got {level!r} instead."
        )
    if isinstance(n_simulations, bool) or not isinstance(n_simulations, int) or n_simulations < 10:
        raise InvalidParameterError(
            f"The 'n_simulations' parameter of {_OWNER} must be an integer of at least 10. "
            f"Got {n_simulations!r} instead."
        )
    for name, value, least in (
        ("new_business_windows", new_business_windows, 1),
        ("calibration_windows", calibration_windows, 0),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise InvalidParameterError(
                f"The {name!r} parameter of {_OWNER} must be an integer of at least {least}. "
                f"Got {value!r} instead."
            )
    orgs = base.organisations.set_index("organisation_id")
    _check_ids(organisations, orgs.index, "organisations")
    if segments is not None:
        if not isinstance(segments, pd.Series):
            raise InvalidParameterError(
                f"The 'segments' parameter of {_OWNER} must be a Series of labels indexed by "
                f"organisation_id. Got {type(segments).__name__}."
            )
        _check_ids(segments.index, orgs.index, "segments")
    cut = base.as_of(as_of)
    deals = cut.deals
    if len(deals) == 0 or not (deals["amount"] > 0).any():
        got = "no deals" if len(deals) == 0 else f"{len(deals)} deals, every amount 0"
        raise InvalidTablesError(
            f"'deals': {_OWNER} needs deals with amounts before as_of={as_of} to forecast "
            f"revenue; got {got}. Load the deals' amounts (column 'amount')."
        )
    if win_model is None:
        win_model = WinModel().fit(cut, as_of=as_of)
    elif getattr(win_model, "as_of_", None) is not None and win_model.as_of_ > as_of:
        raise InvalidParameterError(
            f"The win_model passed to {_OWNER} was fitted as of {win_model.as_of_}, after "
            f"as_of={as_of}: it has seen the outcomes being forecast."
        )
    open_deals = win_model.p_close_within(cut, as_of, span)

    won_revenue = WonRevenue.of(deals)
    transactions = _transactions(deals)
    season = seasonal_index(won_revenue, as_of, span)
    clients, shape = _repeat(transactions, as_of, span)
    bias, repeat_sd, repeat_windows = _repeat_calibration(
        deals, transactions, won_revenue, as_of, span, calibration_windows
    )
    clients["purchases"] = clients["purchases"] * (bias * season)
    # The models count every purchase of a client, its open deals' too: their expected won
    # revenue is taken out of the clients' total (never below zero), so an open deal counts
    # once, with its own amount. The total is what the recent bias was measured on, so the
    # subtraction is made on it; each client gets its share of what remains by its own excess
    # over its open deals (a client whose open tender outweighs its expected purchases would
    # otherwise be clipped at zero and the others keep the tender's revenue twice).
    open_won = open_deals.groupby("organisation_id")["expected_won"].sum()
    clients["open_won"] = open_won.reindex(clients.index, fill_value=0.0)
    total = clients["purchases"] * clients["value"]
    excess = (total - clients["open_won"]).clip(lower=0.0)
    remaining = max(float(total.sum() - clients["open_won"].sum()), 0.0)
    clients["expected"] = excess * (remaining / excess.sum()) if excess.sum() > 0 else excess
    clients["repeat_purchases"] = np.divide(
        clients["expected"].to_numpy(),
        clients["value"].to_numpy(),
        out=np.zeros(len(clients)),
        where=clients["value"].to_numpy() > 0,
    )

    new = new_business_rate(
        deals, as_of, span, new_business_windows, calibration_windows, won_revenue
    )
    rate, new_sd, new_rows = new.rate * season, new.sd, new.rows
    amounts = new_rows["amount"].to_numpy(np.float64)
    new_expected = rate * float(amounts.mean()) if len(amounts) else 0.0

    rng = np.random.default_rng(random_state)
    sims = np.zeros((3, n_simulations))
    p = open_deals["p_won"].to_numpy(np.float64)
    a = open_deals["amount"].to_numpy(np.float64)
    for lo in range(0, len(p), 20_000):  # chunks keep the memory at 20 000 x n_simulations bools
        hit = rng.random((min(20_000, len(p) - lo), n_simulations)) < p[lo : lo + 20_000, None]
        sims[0] += a[lo : lo + 20_000] @ hit
    # The repeat rate's own uncertainty: one factor per simulation, shared by every client.
    factor = lognormal_factor(rng, repeat_sd, n_simulations)
    sims[1] = _simulate_repeat(
        rng,
        clients["repeat_purchases"].to_numpy(np.float64),
        clients["value"].to_numpy(np.float64),
        shape,
        factor,
    )
    if len(amounts) and rate > 0:
        drawn_counts = rng.poisson(rate * lognormal_factor(rng, new_sd, n_simulations))
        picks = rng.integers(0, len(amounts), size=int(drawn_counts.sum()))
        owner_sim = np.repeat(np.arange(n_simulations), drawn_counts)
        sims[2] = np.bincount(owner_sim, weights=amounts[picks], minlength=n_simulations)
    q = ((1 - level) / 2, (1 + level) / 2)
    expected = np.array(
        [float(open_deals["expected_won"].sum()), float(clients["expected"].sum()), new_expected]
    )
    components = pd.DataFrame(
        {
            "expected": expected,
            "lower": np.quantile(sims, q[0], axis=1),
            "upper": np.quantile(sims, q[1], axis=1),
        },
        index=pd.Index(_COMPONENTS, name="component"),
    )
    total = sims.sum(axis=0)

    by_org = _by_organisation(open_deals, clients, new_expected)
    if organisations is not None:
        by_org = by_org.loc[by_org.index.isin(list(organisations)) | (by_org.index == _NEW)]
    by_channel = _by_channel(cut, as_of, open_deals, clients, new_rows, new_expected)
    region = orgs["region"].astype(object) if "region" in orgs else pd.Series(dtype=object)
    by_region = _by_label(by_org, region, new_rows, new_expected, "region")
    by_segment = None
    if segments is not None:
        by_segment = _by_label(by_org, segments.astype(object), new_rows, new_expected, "segment")
    return Forecast(
        as_of=as_of,
        horizon=span,
        expected=float(expected.sum()),
        lower=float(np.quantile(total, q[0])),
        upper=float(np.quantile(total, q[1])),
        level=float(level),
        components=components,
        by_organisation=by_org,
        by_region=by_region,
        by_channel=by_channel,
        by_segment=by_segment,
        simulations=total,
        deals=open_deals,
        adjustments={
            "season": season,
            "repeat_bias": bias,
            "repeat_sd": repeat_sd,
            "new_business_bias": new.bias,
            "new_business_sd": new_sd,
            "calibration_windows": float(repeat_windows),
        },
    )


def _check_ids(ids: Any, known: pd.Index, name: str) -> None:
    if ids is None:
        return
    values = pd.Index(list(ids), dtype=object)
    unknown = values[~values.isin(known)]
    if len(unknown):
        raise UnknownIdError(
            f"The {name!r} parameter of {_OWNER} names {len(unknown)} organisation_id(s) the base "
            f"does not hold: {unknown[:5].tolist()}."
        )


def _by_organisation(
    open_deals: pd.DataFrame, clients: pd.DataFrame, new_expected: float
) -> pd.DataFrame:
    opened = open_deals.groupby("organisation_id")["expected_won"].sum()
    frame = pd.DataFrame({"open_deals": opened}).join(
        clients["expected"].rename("repeat_business"), how="outer"
    )
    frame = frame.fillna(0.0)
    frame["new_business"] = 0.0
    frame.loc[_NEW] = [0.0, 0.0, new_expected]
    frame["expected"] = frame.sum(axis=1)
    frame.index.name = "organisation_id"
    return frame.sort_values("expected", ascending=False)


def _by_channel(
    cut: ClientBase,
    as_of: pd.Timestamp,
    open_deals: pd.DataFrame,
    clients: pd.DataFrame,
    new_rows: pd.DataFrame,
    new_expected: float,
) -> pd.DataFrame:
    deals = cut.deals
    recent = _won_in(deals, as_of - pd.Timedelta(days=365), as_of)
    channel = recent["channel"].astype(object).fillna("other")
    mix = recent.groupby([recent["organisation_id"], channel])["amount"].sum().unstack(fill_value=0)
    mix = mix.div(mix.sum(axis=1), axis=0).reindex(clients.index)
    overall = channel.groupby(channel).size()
    overall = overall / max(overall.sum(), 1)
    mix = mix.fillna(overall).fillna(0.0)
    repeat = mix.mul(clients["expected"], axis=0).sum()
    opened = open_deals.groupby(open_deals["channel"].astype(object))["expected_won"].sum()
    new_channel = new_rows["channel"].astype(object).fillna("other")
    new_mix = new_rows.groupby(new_channel)["amount"].sum()
    new = new_mix / new_mix.sum() * new_expected if new_mix.sum() > 0 else new_mix
    frame = pd.DataFrame({"open_deals": opened, "repeat_business": repeat, "new_business": new})
    frame = frame.fillna(0.0)
    frame["expected"] = frame.sum(axis=1)
    frame.index.name = "channel"
    return frame.sort_values("expected", ascending=False)


def _by_label(
    by_org: pd.DataFrame, labels: pd.Series, new_rows: pd.DataFrame, new_expected: float, name: str
) -> pd.DataFrame:
    known = by_org.drop(index=_NEW, errors="ignore")
    label = labels.reindex(known.index).fillna("unknown")
    frame = known.groupby(label.to_numpy()).sum()
    new_label = labels.reindex(new_rows["organisation_id"]).fillna("unknown").to_numpy()
    new_mix = new_rows["amount"].groupby(new_label).sum()
    if new_mix.sum() > 0:
        frame["new_business"] = (new_mix / new_mix.sum() * new_expected).reindex(
            frame.index.union(new_mix.index), fill_value=0.0
        )
    frame = frame.fillna(0.0)
    frame["expected"] = frame[list(_COMPONENTS)].sum(axis=1)
    frame.index.name = name
    return frame.sort_values("expected", ascending=False)


def _last_event(base: ClientBase) -> pd.Timestamp:
    times = [
        base.deals["created_at"].max(),
        base.deals["closed_at"].max(),
        base.interactions["occurred_at"].max(),
    ]
    known = [t for t in times if pd.notna(t)]
    return pd.Timestamp(max(known)) if known else pd.Timestamp.min


def backtest(
    base: ClientBase, cutoffs: Sequence[Any], horizon: Any = "90D", **kwargs: Any
) -> pd.DataFrame:
    """Forecast at each cut-off and compare with the revenue actually won, beside a naive rate.

    Parameters
    ----------
    base : ClientBase
        The client base, holding the data after the last cut-off + `horizon`.
    cutoffs : sequence of str or pandas.Timestamp
        The cut-offs.
    horizon : str or pandas.Timedelta, default "90D"
        The window after each cut-off.
    **kwargs
        Passed to :func:`forecast` (``level``, ``n_simulations``, ``random_state``...).

    Returns
    -------
    pandas.DataFrame
        One row per cut-off: ``forecast``, ``lower``, ``upper``, ``actual`` (won revenue with
        ``closed_at`` in the window), ``inside`` (actual within the interval), ``ape`` (absolute
        percentage error), then the naive forecast ``naive`` (the revenue won in the window of the
        same length before the cut-off) and its ``naive_ape``.

    Raises
    ------
    InvalidParameterError
        Without cut-offs, or when a cut-off + `horizon` passes the last event of the base (the
        actual would be incomplete).

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> bt = backtest(make_client_base(150, seed=2), ["2024-04-01"], "90D", n_simulations=200)
    >>> bt.columns.tolist()[:5]
    ['forecast', 'lower', 'upper', 'actual', 'inside']
    """
    owner = "backtest"
    span = _check_horizon(horizon, owner)
    points = [to_timestamp(c, name="cutoffs", owner=owner) for c in cutoffs]
    if not points:
        raise InvalidParameterError(f"{owner} needs at least one cut-off in 'cutoffs'.")
    last = _last_event(base)
    late = [c for c in points if c + span > last + pd.Timedelta(days=1)]
    if late:
        raise InvalidParameterError(
            f"The cut-off {late[0]} of {owner} plus the horizon {span} passes the last event of "
            f"the base ({last}): the actual revenue would be incomplete. Choose earlier cut-offs."
        )
    rows = []
    for c in points:
        f = forecast(base, c, span, **kwargs)
        actual = float(_won_in(base.deals, c, c + span)["amount"].sum())
        naive = float(_won_in(base.deals, c - span, c)["amount"].sum())
        rows.append(
            {
                "cutoff": c,
                "forecast": f.expected,
                "lower": f.lower,
                "upper": f.upper,
                "actual": actual,
                "inside": bool(f.lower <= actual <= f.upper),
                "ape": abs(f.expected - actual) / actual if actual > 0 else math.nan,
                "naive": naive,
                "naive_ape": abs(naive - actual) / actual if actual > 0 else math.nan,
            }
        )
    return pd.DataFrame(rows).set_index("cutoff")
