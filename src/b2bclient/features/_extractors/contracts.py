"""Contracts: tenure, active value, next expiry, renewals and cancellations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs
import numpy as np
import pandas as pd

from b2bclient.features._context import NAT, FeatureTables
from b2bclient.features._numeric import count, days_between, group_min, total
from b2bclient.features._spec import (
    FeatureSpec,
    SpecExtractor,
    duration_field,
    window_ns,
    window_suffix,
)

__all__ = ["Contracts"]


@attrs.frozen
class Contracts(SpecExtractor):
    """Summarise contracts known before ``as_of``.

    A contract is active at ``as_of`` when ``started_at < as_of <= ends_at`` and it was not
    cancelled before ``as_of``. A contract is a renewal when it starts within `renewal_gap` of the
    end of the previous contract (by start time) of the same organisation and kind.

    Parameters
    ----------
    window : str, default "365D"
        Trailing window for cancellations.
    renewal_gap : str, default "30D"
        Largest distance between the end of a contract and the start of the next one of the
        same kind for the latter to count as a renewal.

    Examples
    --------
    >>> import pandas as pd
    >>> orgs = pd.DataFrame({"organisation_id": ["A"], "created_at": pd.to_datetime(["2020-01-01"])})
    >>> contracts = pd.DataFrame({"contract_id": ["C1", "C2"], "organisation_id": ["A", "A"],
    ...     "kind": ["supply", "supply"],
    ...     "started_at": pd.to_datetime(["2023-01-01", "2024-01-01"]),
    ...     "ends_at": pd.to_datetime(["2024-01-01", "2025-01-31"]), "value": [10.0, 12.0]})
    >>> X = Contracts().compute({"organisations": orgs, "contracts": contracts}, pd.Timestamp("2025-01-01"))
    >>> X[["contracts__active", "contracts__days_to_next_expiry", "contracts__renewals"]].iloc[0].tolist()
    [1.0, 30.0, 1.0]
    """

    name: ClassVar[str] = "contracts"
    requires: ClassVar[tuple[str, ...]] = ("contracts",)

    window: str = duration_field("365D")
    renewal_gap: str = duration_field("30D")

    def specs(self) -> tuple[FeatureSpec, ...]:
        """Return the specs of the output columns, in order."""
        c = self.col
        s = window_suffix(self.window)
        return (
            FeatureSpec(c("contracts_total"), "Number of contracts started before as_of.", "sum"),
            FeatureSpec(
                c("tenure_days"), "Days since the first contract started (NaN when none).", "max"
            ),
            FeatureSpec(
                c("active"),
                "1 if a contract is active at as_of (started_at < as_of <= ends_at, not cancelled "
                "before as_of), else 0.",
                "max",
            ),
            FeatureSpec(c("active_count"), "Number of active contracts.", "sum"),
            FeatureSpec(c("active_value"), "Sum of the value of active contracts.", "sum"),
            FeatureSpec(
                c("days_to_next_expiry"),
                "Days from as_of to the earliest end of an active contract (NaN when none active).",
                "min",
            ),
            FeatureSpec(
                c("renewals"),
                f"Number of contracts started within {self.renewal_gap} of the end of the previous "
                f"contract of the same kind.",
                "sum",
            ),
            FeatureSpec(c("cancellations"), "Number of contracts cancelled before as_of.", "sum"),
            FeatureSpec(
                c(f"cancellations_{s}"),
                f"Number of contracts cancelled in the last {self.window}.",
                "sum",
            ),
        )

    def _compute(self, ctx: FeatureTables) -> Mapping[str, Any]:
        n = ctx.n_orgs
        now = ctx.as_of_ns
        codes = ctx.codes("contracts")
        started = ctx.times("contracts", "started_at")
        ends = ctx.times("contracts", "ends_at")
        cancelled_at = ctx.times("contracts", "cancelled_at")
        known = (codes >= 0) & (started != NAT) & (started < now)
        cancelled = known & (cancelled_at != NAT) & (cancelled_at < now)
        active = known & (ends != NAT) & (ends >= now) & ~cancelled
        value = ctx.floats("contracts", "value")

        # Renewals: consecutive contracts (by start) of the same organisation and kind.
        kind, _ = pd.factorize(ctx["contracts"]["kind"].astype(object), use_na_sentinel=False)
        kind = np.asarray(kind, dtype=np.int64)
        k_codes, k_kind, k_start, k_end = codes[known], kind[known], started[known], ends[known]
        order = np.lexsort((k_end, k_start, k_kind, k_codes))
        oc, ok, os_, oe = k_codes[order], k_kind[order], k_start[order], k_end[order]
        follows = (oc[1:] == oc[:-1]) & (ok[1:] == ok[:-1]) & (oe[:-1] != NAT)
        distance = np.abs(os_[1:] - np.where(oe[:-1] == NAT, 0, oe[:-1]))
        renewal = follows & (distance <= window_ns(self.renewal_gap))

        c = self.col
        s = window_suffix(self.window)
        return {
            c("contracts_total"): count(codes, n, known),
            c("tenure_days"): days_between(now, group_min(codes, started, n, known)),
            c("active"): (count(codes, n, active) > 0).astype(np.float64),
            c("active_count"): count(codes, n, active),
            c("active_value"): total(codes, value, n, active),
            c("days_to_next_expiry"): days_between(group_min(codes, ends, n, active), now),
            c("renewals"): count(oc[1:], n, renewal),
            c("cancellations"): count(codes, n, cancelled),
            c(f"cancellations_{s}"): count(
                codes, n, cancelled & (cancelled_at >= now - window_ns(self.window))
            ),
        }
