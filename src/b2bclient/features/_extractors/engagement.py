"""Engagement: touchpoints by channel, portal self-service, contacts reached and tickets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs
import numpy as np

from b2bclient.base._schema import CHANNELS
from b2bclient.features._context import FeatureTables
from b2bclient.features._numeric import (
    count,
    days_between,
    group_max,
    n_distinct,
    ratio,
    symmetric_change,
)
from b2bclient.features._spec import (
    FeatureSpec,
    SpecExtractor,
    window_ns,
    window_suffix,
    windows_field,
)

__all__ = ["Engagement"]

_PORTAL = CHANNELS.index("portal")
_WEB = CHANNELS.index("web")


def _channel_feature(channel: str) -> str:
    # Interactions on the support channel are tickets.
    return "tickets" if channel == "support" else channel


@attrs.frozen
class Engagement(SpecExtractor):
    """Summarise interactions: volume by channel, portal use, contacts reached and tickets.

    Parameters
    ----------
    windows : tuple of str, default ("90D", "365D")
        Trailing windows ``[as_of - w, as_of)``.

    Examples
    --------
    >>> import pandas as pd
    >>> orgs = pd.DataFrame({"organisation_id": ["A", "B"],
    ...                      "created_at": pd.to_datetime(["2023-01-01", "2023-01-01"])})
    >>> inter = pd.DataFrame({"interaction_id": ["I1", "I2", "I3", "I4"],
    ...     "organisation_id": ["A"] * 4, "channel": ["portal", "portal", "email", "support"],
    ...     "kind": ["login", "page_view", "document", "ticket"],
    ...     "occurred_at": pd.to_datetime(["2024-12-01", "2024-12-02", "2024-12-03", "2024-06-01"])})
    >>> X = Engagement().compute({"organisations": orgs, "interactions": inter},
    ...                          pd.Timestamp("2025-01-01"))
    >>> X[["engagement__portal_share_365d", "engagement__tickets_365d"]].to_numpy().tolist()
    [[0.5, 1.0], [0.0, 0.0]]
    """

    name: ClassVar[str] = "engagement"
    requires: ClassVar[tuple[str, ...]] = ("interactions", "contacts")

    windows: tuple[str, ...] = windows_field()

    def specs(self) -> tuple[FeatureSpec, ...]:
        """Return the specs of the output columns, in order."""
        c = self.col
        specs = []
        for w in self.windows:
            s = window_suffix(w)
            specs.append(
                FeatureSpec(
                    c(f"interactions_{s}"), f"Number of interactions in the last {w}.", "sum"
                )
            )
            for ch in CHANNELS:
                what = (
                    "support tickets (support channel)" if ch == "support" else f"{ch} interactions"
                )
                specs.append(
                    FeatureSpec(
                        c(f"{_channel_feature(ch)}_{s}"),
                        f"Number of {what} in the last {w}.",
                        "sum",
                    )
                )
            specs += [
                FeatureSpec(
                    c(f"portal_logins_{s}"),
                    f"Number of portal interactions of kind 'login' in the last {w}.",
                    "sum",
                ),
                FeatureSpec(
                    c(f"portal_share_{s}"),
                    f"Portal interactions / all interactions in the last {w} (0 when none).",
                    "mean",
                ),
                FeatureSpec(
                    c(f"self_service_share_{s}"),
                    f"Portal and web interactions / all interactions in the last {w} (0 when none).",
                    "mean",
                ),
                FeatureSpec(
                    c(f"active_contacts_{s}"),
                    f"Number of distinct contacts with an interaction in the last {w}.",
                    "sum",
                ),
                FeatureSpec(
                    c(f"decision_makers_reached_{s}"),
                    f"Number of distinct decision makers with an interaction in the last {w}.",
                    "sum",
                ),
                FeatureSpec(
                    c(f"trend_interactions_{s}"),
                    f"(last - previous) / (last + previous) of interactions in the last {w} and the "
                    f"{w} before, in [-1, 1] (0 when both are empty).",
                    "mean",
                ),
            ]
        specs += [
            FeatureSpec(c("contacts"), "Number of contacts known at as_of.", "sum"),
            FeatureSpec(
                c("decision_makers"), "Number of known contacts who are decision makers.", "sum"
            ),
            FeatureSpec(
                c("last_touch_days"),
                "Days since the last interaction of any kind (NaN when none).",
                "min",
            ),
        ]
        return tuple(specs)

    def _compute(self, ctx: FeatureTables) -> Mapping[str, Any]:
        n = ctx.n_orgs
        now = ctx.as_of_ns
        codes = ctx.codes("interactions")
        t = ctx.times("interactions", "occurred_at")
        channel = ctx.enum_codes("interactions", "channel", CHANNELS)
        known = (codes >= 0) & (t < now) & (channel >= 0)
        # Kinds matter only inside the windows: look them up for those rows only.
        rows = np.flatnonzero(known & (t >= now - max(window_ns(w) for w in self.windows)))
        interactions = ctx["interactions"]
        portal_rows = rows[channel[rows] == _PORTAL]
        login = np.zeros(len(codes), dtype=bool)
        login[portal_rows] = interactions["kind"].to_numpy(dtype=object)[portal_rows] == "login"
        contact = ctx.positions("interactions", "contact_id")
        contact_org = ctx.codes("contacts")
        decision = ctx["contacts"]["is_decision_maker"].to_numpy(dtype=bool, na_value=False)
        is_decision = np.zeros(len(contact), dtype=bool)
        has_contact = contact >= 0
        is_decision[has_contact] = decision[contact[has_contact]]

        c = self.col
        out: dict[str, Any] = {}
        width_ch = len(CHANNELS)
        for w in self.windows:
            s = window_suffix(w)
            width = window_ns(w)
            recent = known & (t >= now - width)
            previous = known & (t >= now - 2 * width) & ~recent
            by_channel = (
                np.bincount(codes[recent] * width_ch + channel[recent], minlength=n * width_ch)
                .reshape(n, width_ch)
                .astype(np.float64)
            )
            all_w = by_channel.sum(axis=1)
            out[c(f"interactions_{s}")] = all_w
            for k, ch in enumerate(CHANNELS):
                out[c(f"{_channel_feature(ch)}_{s}")] = by_channel[:, k].copy()
            out[c(f"portal_logins_{s}")] = count(codes, n, recent & (channel == _PORTAL) & login)
            out[c(f"portal_share_{s}")] = ratio(by_channel[:, _PORTAL], all_w, 0.0)
            out[c(f"self_service_share_{s}")] = ratio(
                by_channel[:, _PORTAL] + by_channel[:, _WEB], all_w, 0.0
            )
            out[c(f"active_contacts_{s}")] = n_distinct(codes, contact, n, recent)
            out[c(f"decision_makers_reached_{s}")] = n_distinct(
                codes, contact, n, recent & is_decision
            )
            out[c(f"trend_interactions_{s}")] = symmetric_change(all_w, count(codes, n, previous))
        out[c("contacts")] = count(contact_org, n)
        out[c("decision_makers")] = count(contact_org, n, decision)
        out[c("last_touch_days")] = days_between(now, group_max(codes, t, n, known))
        return out
