"""Purchasing: recency, frequency, monetary value, trend, rhythm, seasonality and channels."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs
import numpy as np

from b2bclient.base._schema import DEAL_CHANNELS
from b2bclient.features._context import DAY_NS, FeatureTables
from b2bclient.features._numeric import (
    count,
    days_between,
    group_max,
    group_min,
    ratio,
    symmetric_change,
    total,
)
from b2bclient.features._spec import (
    FeatureSpec,
    SpecExtractor,
    duration_field,
    window_ns,
    window_suffix,
    windows_field,
)

__all__ = ["Purchasing"]


def _check_min_orders(instance: Any, attribute: Any, value: Any) -> None:
    from b2bclient._exceptions import InvalidParameterError

    if isinstance(value, bool) or not isinstance(value, int) or value < 2:
        raise InvalidParameterError(
            f"The 'min_seasonal_orders' parameter of Purchasing must be an integer >= 2. "
            f"Got {value!r} instead."
        )


@attrs.frozen
class Purchasing(SpecExtractor):
    """Summarise purchases (won deals, timed by ``closed_at``) known before ``as_of``.

    Parameters
    ----------
    windows : tuple of str, default ("90D", "365D")
        Trailing windows ``[as_of - w, as_of)`` for counts, revenue and trends; each gives
        columns with suffix ``_90d``, ``_365d``, ...
    channel_window : str, default "365D"
        Window of the channel shares.
    seasonality_window : str, default "1095D"
        Window over which the monthly pattern of purchases is measured.
    min_seasonal_orders : int, default 4
        Fewer purchases in ``seasonality_window`` give a NaN seasonality.

    Examples
    --------
    >>> import pandas as pd
    >>> orgs = pd.DataFrame({"organisation_id": ["A", "B"],
    ...                      "created_at": pd.to_datetime(["2023-01-01", "2023-01-01"])})
    >>> deals = pd.DataFrame({"deal_id": ["D1", "D2"], "organisation_id": ["A", "A"],
    ...     "created_at": pd.to_datetime(["2024-10-01", "2024-12-01"]),
    ...     "closed_at": pd.to_datetime(["2024-10-02", "2024-12-02"]),
    ...     "status": ["won", "won"], "amount": [100.0, 300.0]})
    >>> X = Purchasing().compute({"organisations": orgs, "deals": deals}, pd.Timestamp("2025-01-01"))
    >>> X["purchasing__orders_365d"].tolist(), X["purchasing__recency_days"].tolist()
    ([2.0, 0.0], [30.0, nan])
    """

    name: ClassVar[str] = "purchasing"
    requires: ClassVar[tuple[str, ...]] = ("deals",)

    windows: tuple[str, ...] = windows_field()
    channel_window: str = duration_field("365D")
    seasonality_window: str = duration_field("1095D")
    min_seasonal_orders: int = attrs.field(default=4, validator=_check_min_orders)

    def specs(self) -> tuple[FeatureSpec, ...]:
        """Return the specs of the output columns, in order."""
        c = self.col
        specs = [
            FeatureSpec(c("orders_total"), "Number of purchases ever (0 when none).", "sum"),
            FeatureSpec(c("revenue_total"), "Sum of purchase amounts ever (0 when none).", "sum"),
            FeatureSpec(c("recency_days"), "Days since the last purchase (NaN when none).", "min"),
            FeatureSpec(
                c("first_purchase_days"), "Days since the first purchase (NaN when none).", "max"
            ),
        ]
        for w in self.windows:
            s = window_suffix(w)
            specs += [
                FeatureSpec(
                    c(f"orders_{s}"), f"Number of purchases in the last {w} (0 when none).", "sum"
                ),
                FeatureSpec(
                    c(f"revenue_{s}"),
                    f"Sum of purchase amounts in the last {w} (0 when none).",
                    "sum",
                ),
                FeatureSpec(
                    c(f"mean_order_value_{s}"),
                    f"Mean purchase amount in the last {w} (NaN when none).",
                    "mean",
                ),
                FeatureSpec(
                    c(f"trend_orders_{s}"),
                    f"(last - previous) / (last + previous) of purchases in the last {w} and the {w} "
                    f"before, in [-1, 1] (0 when both are empty).",
                    "mean",
                ),
                FeatureSpec(
                    c(f"trend_revenue_{s}"),
                    f"(last - previous) / (last + previous) of purchase amounts in the last {w} and "
                    f"the {w} before, in [-1, 1] (0 when both are empty).",
                    "mean",
                ),
            ]
        specs += [
            FeatureSpec(
                c("gap_mean_days"),
                "Mean days between consecutive purchases (NaN with fewer than 2 purchases).",
                "mean",
            ),
            FeatureSpec(
                c("gap_std_days"),
                "Standard deviation (ddof=0) of days between consecutive purchases (NaN with fewer "
                "than 3 purchases).",
                "mean",
            ),
            FeatureSpec(
                c("gap_max_days"),
                "Longest gap in days between consecutive purchases (NaN with fewer than 2 purchases).",
                "max",
            ),
            FeatureSpec(
                c("overdue_ratio"),
                "Days since the last purchase divided by the mean gap between purchases; above 1 the "
                "next purchase is late (NaN with fewer than 2 purchases or a zero mean gap).",
                "mean",
            ),
            FeatureSpec(
                c("seasonality"),
                f"Concentration of purchases in the last {self.seasonality_window} on few calendar "
                f"months: 1 - entropy / log(12), 0 when spread evenly, 1 when all in one month (NaN "
                f"with fewer than {self.min_seasonal_orders} purchases).",
                "mean",
            ),
        ]
        s = window_suffix(self.channel_window)
        for ch in DEAL_CHANNELS:
            specs.append(
                FeatureSpec(
                    c(f"share_{ch}_{s}"),
                    f"Share of purchases in the last {self.channel_window} made through the "
                    f"{ch!r} channel (0 when none).",
                    "mean",
                )
            )
        return tuple(specs)

    def _compute(self, ctx: FeatureTables) -> Mapping[str, Any]:
        n = ctx.n_orgs
        now = ctx.as_of_ns
        won = ctx.purchases()
        codes = ctx.codes("deals")[won]
        t = ctx.purchase_times()[won]
        amount = ctx.floats("deals", "amount")[won]
        channel = ctx.enum_codes("deals", "channel", DEAL_CHANNELS)[won]
        c = self.col
        out: dict[str, Any] = {}

        orders = count(codes, n)
        out[c("orders_total")] = orders
        out[c("revenue_total")] = total(codes, amount, n)
        last = group_max(codes, t, n)
        recency = days_between(now, last)
        out[c("recency_days")] = recency
        out[c("first_purchase_days")] = days_between(now, group_min(codes, t, n))

        for w in self.windows:
            s = window_suffix(w)
            width = window_ns(w)
            in_last = t >= now - width
            in_prev = (t >= now - 2 * width) & ~in_last
            n_last = count(codes, n, in_last)
            n_prev = count(codes, n, in_prev)
            v_last = total(codes, amount, n, in_last)
            v_prev = total(codes, amount, n, in_prev)
            out[c(f"orders_{s}")] = n_last
            out[c(f"revenue_{s}")] = v_last
            out[c(f"mean_order_value_{s}")] = ratio(v_last, n_last, np.nan)
            out[c(f"trend_orders_{s}")] = symmetric_change(n_last, n_prev)
            out[c(f"trend_revenue_{s}")] = symmetric_change(v_last, v_prev)

        # Gaps between consecutive purchases of the same organisation.
        order = np.lexsort((t, codes))
        cs, ts = codes[order], t[order]
        same = cs[1:] == cs[:-1]
        gap_org = cs[1:][same]
        gaps = (ts[1:] - ts[:-1])[same].astype(np.float64) / DAY_NS
        n_gaps = count(gap_org, n)
        gap_mean = ratio(total(gap_org, gaps, n), n_gaps, np.nan)
        dev = gaps - gap_mean[gap_org] if len(gaps) else gaps
        gap_var = ratio(total(gap_org, dev * dev, n), n_gaps, np.nan)
        gap_var[n_gaps < 2] = np.nan
        out[c("gap_mean_days")] = gap_mean
        out[c("gap_std_days")] = np.sqrt(gap_var)
        out[c("gap_max_days")] = group_max(gap_org, gaps, n)
        out[c("overdue_ratio")] = ratio(recency, gap_mean, np.nan)

        # Seasonality: entropy of the calendar-month distribution of recent purchases.
        recent = t >= now - window_ns(self.seasonality_window)
        month = t[recent].astype("datetime64[ns]").astype("datetime64[M]").astype(np.int64) % 12
        by_month = np.bincount(codes[recent] * 12 + month, minlength=n * 12).reshape(n, 12)
        n_recent = by_month.sum(axis=1).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = by_month / n_recent[:, None]
            entropy = -np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0).sum(axis=1)
        seasonality = 1.0 - entropy / np.log(12.0)
        seasonality[n_recent < self.min_seasonal_orders] = np.nan
        out[c("seasonality")] = seasonality

        s = window_suffix(self.channel_window)
        in_channel_window = t >= now - window_ns(self.channel_window)
        n_window = count(codes, n, in_channel_window)
        for k, ch in enumerate(DEAL_CHANNELS):
            n_ch = count(codes, n, in_channel_window & (channel == k))
            out[c(f"share_{ch}_{s}")] = ratio(n_ch, n_window, 0.0)
        return out
