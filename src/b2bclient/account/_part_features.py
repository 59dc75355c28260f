"""The features the parts read: their default columns and the organisation-scope frame at a time.

Every part that fits on features reads those of the organisation-scope extractors
(:data:`~b2bclient.account._ranks.ORGANISATION_EXTRACTORS`) as of its ``as_of``, and refuses a
base in which nobody was known by then.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient.account._ranks import ORGANISATION_EXTRACTORS

__all__ = ["CHURN_FEATURES", "KEY_FEATURES", "known_features", "require_known"]

#: Features a portrait shows with their percentile among peers.
KEY_FEATURES = (
    "purchasing__revenue_365d",
    "purchasing__orders_365d",
    "purchasing__mean_order_value_365d",
    "purchasing__recency_days",
    "purchasing__trend_revenue_365d",
    "pipeline__win_rate_365d",
    "product_mix__categories_365d",
    "services__service_categories",
    "projects__active",
    "engagement__interactions_365d",
    "engagement__portal_share_365d",
    "engagement__tickets_365d",
    "contracts__active_value",
    "contracts__tenure_days",
)

#: Observable behaviour the churn part reads (through the shared preprocessor).
CHURN_FEATURES = (
    "firmographics__log_employees",
    "firmographics__log_revenue",
    "firmographics__age_days",
    "purchasing__recency_days",
    "purchasing__orders_365d",
    "purchasing__revenue_365d",
    "purchasing__trend_orders_365d",
    "purchasing__gap_mean_days",
    "purchasing__overdue_ratio",
    "pipeline__open_deals",
    "pipeline__win_rate_365d",
    "product_mix__categories_365d",
    "services__service_categories",
    "projects__active",
    "engagement__interactions_365d",
    "engagement__portal_share_365d",
    "engagement__self_service_share_365d",
    "engagement__tickets_365d",
    "engagement__last_touch_days",
    "contracts__active",
    "contracts__days_to_next_expiry",
)


def require_known(base: Any, as_of: pd.Timestamp, owner: str) -> None:
    """Refuse a base in which no organisation was created before `as_of`.

    The rows ``build_features`` returns as of `as_of` are exactly these organisations, so a fit
    that only needs the check does not build the features for it.
    """
    if not bool((base.organisations["created_at"] < as_of).any()):
        raise InvalidParameterError(
            f"{owner} cannot be fitted as of {as_of}: no organisation of the client base was "
            "created before it (as_of precedes the data)."
        )


def known_features(base: Any, as_of: pd.Timestamp, owner: str) -> pd.DataFrame:
    """Return the organisation-scope features as of `as_of`; refuse a base with nobody known."""
    from b2bclient.features import build_features

    require_known(base, as_of, owner)
    return build_features(base, as_of, list(ORGANISATION_EXTRACTORS))
