"""Pipeline: open deals, win rates, sales cycles and streaks of lost deals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs
import numpy as np

from b2bclient.base._schema import DEAL_STATUSES
from b2bclient.features._context import NAT, FeatureTables
from b2bclient.features._numeric import count, days_between, group_max, ratio, total
from b2bclient.features._spec import (
    FeatureSpec,
    SpecExtractor,
    window_ns,
    window_suffix,
    windows_field,
)

__all__ = ["Pipeline"]

_OPEN, _WON, _LOST = 0, 1, 2


def _lost_streaks(
    codes: np.ndarray, t: np.ndarray, lost: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return per organisation the current and the longest run of consecutive lost deals.

    Closed deals are ordered by closing time; at equal times lost deals come before won ones, so
    the order never depends on the row order of the table.
    """
    order = np.lexsort((~lost, t, codes))
    cs, ls = codes[order], lost[order]
    m = len(cs)
    if not m:
        return np.zeros(n), np.zeros(n)
    position = np.arange(m)
    new_org = np.ones(m, dtype=bool)
    new_org[1:] = cs[1:] != cs[:-1]
    org_start = np.maximum.accumulate(np.where(new_org, position, 0))
    # Current streak: lost deals after the last won one.
    won_pos = np.where(~ls, position, org_start - 1)
    last_won = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last_won, cs, won_pos)
    last_pos = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last_pos, cs, position)
    current = np.where(last_pos >= 0, last_pos - last_won, 0).astype(np.float64)
    # Longest streak: lengths of runs of lost deals within an organisation.
    run_start = ls & (new_org | np.concatenate(([True], ~ls[:-1])))
    run_id = np.cumsum(run_start) - 1
    lengths = np.bincount(run_id[ls])
    run_org = cs[run_start]
    longest = np.zeros(n)
    if len(lengths):
        np.maximum.at(longest, run_org, lengths.astype(np.float64))
    return current, longest


@attrs.frozen
class Pipeline(SpecExtractor):
    """Summarise the sales pipeline: open deals, conversion, cycle length and lost streaks.

    A deal is open at ``as_of`` when it was created before and not closed before ``as_of``.

    Parameters
    ----------
    windows : tuple of str, default ("90D", "365D")
        Trailing windows for deals created, lost deals, win rates and cycle lengths.

    Examples
    --------
    >>> import pandas as pd
    >>> orgs = pd.DataFrame({"organisation_id": ["A"], "created_at": pd.to_datetime(["2023-01-01"])})
    >>> deals = pd.DataFrame({"deal_id": ["D1", "D2", "D3"], "organisation_id": ["A"] * 3,
    ...     "created_at": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-12-01"]),
    ...     "closed_at": pd.to_datetime(["2024-03-01", "2024-04-01", None]),
    ...     "status": ["won", "lost", "open"], "amount": [10.0, 20.0, 30.0]})
    >>> X = Pipeline().compute({"organisations": orgs, "deals": deals}, pd.Timestamp("2025-01-01"))
    >>> X[["pipeline__open_deals", "pipeline__win_rate", "pipeline__lost_streak"]].iloc[0].tolist()
    [1.0, 0.5, 1.0]
    """

    name: ClassVar[str] = "pipeline"
    requires: ClassVar[tuple[str, ...]] = ("deals",)

    windows: tuple[str, ...] = windows_field()

    def specs(self) -> tuple[FeatureSpec, ...]:
        """Return the specs of the output columns, in order."""
        c = self.col
        specs = [
            FeatureSpec(c("open_deals"), "Number of deals open at as_of (0 when none).", "sum"),
            FeatureSpec(c("open_value"), "Sum of the amounts of open deals (0 when none).", "sum"),
            FeatureSpec(
                c("open_age_days_mean"), "Mean age in days of open deals (NaN when none).", "mean"
            ),
            FeatureSpec(
                c("open_age_days_max"),
                "Age in days of the oldest open deal (NaN when none).",
                "max",
            ),
            FeatureSpec(c("lost_total"), "Number of deals lost ever (0 when none).", "sum"),
            FeatureSpec(
                c("win_rate"), "Won deals / (won + lost deals) ever (NaN when none closed).", "mean"
            ),
            FeatureSpec(
                c("lost_streak"),
                "Number of lost deals since the last won deal, by closing time (0 when none).",
                "max",
            ),
            FeatureSpec(
                c("max_lost_streak"), "Longest run of consecutive lost deals (0 when none).", "max"
            ),
        ]
        for w in self.windows:
            s = window_suffix(w)
            specs += [
                FeatureSpec(c(f"created_{s}"), f"Number of deals created in the last {w}.", "sum"),
                FeatureSpec(c(f"lost_{s}"), f"Number of deals lost in the last {w}.", "sum"),
                FeatureSpec(
                    c(f"win_rate_{s}"),
                    f"Won / (won + lost) among deals closed in the last {w} (NaN when none).",
                    "mean",
                ),
                FeatureSpec(
                    c(f"cycle_days_mean_{s}"),
                    f"Mean days from creation to closing of deals won in the last {w} (NaN when none).",
                    "mean",
                ),
            ]
        return tuple(specs)

    def _compute(self, ctx: FeatureTables) -> Mapping[str, Any]:
        n = ctx.n_orgs
        now = ctx.as_of_ns
        codes = ctx.codes("deals")
        status = ctx.enum_codes("deals", "status", DEAL_STATUSES)
        created = ctx.times("deals", "created_at")
        closed_at = ctx.purchase_times()
        amount = ctx.floats("deals", "amount")
        known = (codes >= 0) & (created != NAT) & (created < now)
        is_open = known & (status == _OPEN)
        closed = (
            known & ((status == _WON) | (status == _LOST)) & (closed_at < now) & (closed_at != NAT)
        )
        won = closed & (status == _WON)
        lost = closed & (status == _LOST)
        c = self.col
        out: dict[str, Any] = {}
        n_open = count(codes, n, is_open)
        age = days_between(now, created)
        out[c("open_deals")] = n_open
        out[c("open_value")] = total(codes, amount, n, is_open)
        out[c("open_age_days_mean")] = ratio(total(codes, age, n, is_open), n_open, np.nan)
        out[c("open_age_days_max")] = group_max(codes, age, n, is_open)
        n_won = count(codes, n, won)
        n_lost = count(codes, n, lost)
        out[c("lost_total")] = n_lost
        out[c("win_rate")] = ratio(n_won, n_won + n_lost, np.nan)
        current, longest = _lost_streaks(codes[closed], closed_at[closed], lost[closed], n)
        out[c("lost_streak")] = current
        out[c("max_lost_streak")] = longest
        cycle = days_between(closed_at, created)
        for w in self.windows:
            s = window_suffix(w)
            start = now - window_ns(w)
            recent = closed & (closed_at >= start)
            won_w = count(codes, n, recent & won)
            lost_w = count(codes, n, recent & lost)
            out[c(f"created_{s}")] = count(codes, n, known & (created >= start))
            out[c(f"lost_{s}")] = lost_w
            out[c(f"win_rate_{s}")] = ratio(won_w, won_w + lost_w, np.nan)
            out[c(f"cycle_days_mean_{s}")] = ratio(
                total(codes, cycle, n, recent & won), won_w, np.nan
            )
        return out
