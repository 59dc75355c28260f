"""Relationships: the organisation's place in the network of its clients' business links."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs
import numpy as np

from b2bclient.base._schema import RELATIONSHIP_KINDS
from b2bclient.features._context import NAT, FeatureTables
from b2bclient.features._numeric import count, n_distinct, ratio
from b2bclient.features._spec import (
    FeatureSpec,
    SpecExtractor,
    duration_field,
    window_ns,
    window_suffix,
)

__all__ = ["Relationships"]

_PARENT = RELATIONSHIP_KINDS.index("parent")
_LINK_KINDS = tuple(k for k in RELATIONSHIP_KINDS if k != "parent")


@attrs.frozen
class Relationships(SpecExtractor):
    """Describe the business links (supplier, partner, referral) between known organisations.

    Links are undirected for degrees; ``parent`` links are left to the account hierarchy
    (see ``firmographics``). A counterparty is a client when it made a purchase before
    ``as_of``, which depends on other organisations' rows: the extractor has scope ``"global"``.

    Parameters
    ----------
    window : str, default "365D"
        Trailing window for new links.

    Examples
    --------
    >>> import pandas as pd
    >>> orgs = pd.DataFrame({"organisation_id": ["A", "B", "C"],
    ...                      "created_at": pd.to_datetime(["2023-01-01"] * 3)})
    >>> rel = pd.DataFrame({"source_id": ["A", "A"], "target_id": ["B", "C"],
    ...     "kind": ["supplier", "partner"], "since": pd.to_datetime(["2024-01-01", "2024-06-01"])})
    >>> deals = pd.DataFrame({"deal_id": ["D1"], "organisation_id": ["B"],
    ...     "created_at": pd.to_datetime(["2024-02-01"]), "closed_at": pd.to_datetime(["2024-02-01"]),
    ...     "status": ["won"], "amount": [1.0]})
    >>> X = Relationships().compute({"organisations": orgs, "relationships": rel, "deals": deals},
    ...                             pd.Timestamp("2025-01-01"))
    >>> X[["relationships__degree", "relationships__partners_clients"]].to_numpy().tolist()
    [[2.0, 1.0], [1.0, 0.0], [1.0, 0.0]]
    """

    name: ClassVar[str] = "relationships"
    requires: ClassVar[tuple[str, ...]] = ("relationships", "deals")
    scope: ClassVar[str] = "global"

    window: str = duration_field("365D")

    def specs(self) -> tuple[FeatureSpec, ...]:
        """Return the specs of the output columns, in order."""
        c = self.col
        s = window_suffix(self.window)
        specs = [
            FeatureSpec(
                c("degree"),
                "Number of distinct organisations linked by a supplier, partner or referral link.",
                "sum",
            )
        ]
        for kind in _LINK_KINDS:
            specs.append(
                FeatureSpec(
                    c(f"{kind}_links"), f"Number of distinct organisations linked as {kind}.", "sum"
                )
            )
        specs += [
            FeatureSpec(
                c("partners_clients"),
                "Number of linked organisations that made a purchase before as_of.",
                "sum",
            ),
            FeatureSpec(
                c("partners_client_share"),
                "Share of linked organisations that are clients (0 when no links).",
                "mean",
            ),
            FeatureSpec(
                c("referrals_given"),
                "Number of organisations it referred (referral links it is the source of).",
                "sum",
            ),
            FeatureSpec(
                c(f"new_links_{s}"),
                f"Number of links established in the last {self.window}.",
                "sum",
            ),
        ]
        return tuple(specs)

    def _compute(self, ctx: FeatureTables) -> Mapping[str, Any]:
        n = ctx.n_orgs
        now = ctx.as_of_ns
        source = ctx.codes("relationships", "source_id")
        target = ctx.codes("relationships", "target_id")
        kind = ctx.enum_codes("relationships", "kind", RELATIONSHIP_KINDS)
        since = ctx.times("relationships", "since")
        keep = (source >= 0) & (target >= 0) & (source != target) & (kind >= 0) & (kind != _PARENT)
        keep &= (since != NAT) & (since < now)
        a = np.concatenate((source[keep], target[keep]))
        b = np.concatenate((target[keep], source[keep]))
        k = np.concatenate((kind[keep], kind[keep]))
        t = np.concatenate((since[keep], since[keep]))
        is_client = count(ctx.codes("deals"), n, ctx.purchases()) > 0
        c = self.col
        out: dict[str, Any] = {}
        degree = n_distinct(a, b, n)
        out[c("degree")] = degree
        for kind_name in _LINK_KINDS:
            out[c(f"{kind_name}_links")] = n_distinct(
                a, b, n, k == RELATIONSHIP_KINDS.index(kind_name)
            )
        clients = n_distinct(a, b, n, is_client[b]) if len(b) else np.zeros(n)
        out[c("partners_clients")] = clients
        out[c("partners_client_share")] = ratio(clients, degree, 0.0)
        referral = kind == RELATIONSHIP_KINDS.index("referral")
        out[c("referrals_given")] = n_distinct(source, target, n, keep & referral)
        new = t >= now - window_ns(self.window)
        # Each link is counted once per end, so a link counts for both organisations.
        out[c(f"new_links_{window_suffix(self.window)}")] = count(a, n, new)
        return out
