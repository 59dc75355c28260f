"""The portrait parts that exist today: peer percentiles, churn risk and customer value.

Each is a part in the sense of :mod:`b2bclient.account._protocol`: an estimator fitted on a
client base as of a time, contributing one section to each portrait. The health score, a part
too, lives in :mod:`b2bclient.account._health`; the features the parts read by default in
:mod:`b2bclient.account._part_features`, the checks they share in
:mod:`b2bclient.account._part_checks`, and the bodies of the churn and value sections in
:mod:`b2bclient.account._sections`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from b2bclient._exceptions import InvalidParameterError
from b2bclient._time import to_duration, to_timestamp
from b2bclient.account._core import _floats
from b2bclient.account._part_checks import fitted_as_of
from b2bclient.account._part_features import (
    CHURN_FEATURES,
    KEY_FEATURES,
    known_features,
    require_known,
)
from b2bclient.account._protocol import Batch, register_part_schema
from b2bclient.account._ranks import ORGANISATION_EXTRACTORS, percentile_of, reference_grid
from b2bclient.account._sections import churn_sections, value_sections

__all__ = ["ChurnRisk", "CustomerValue", "PeerFeatures"]

_NULLABLE_NUMBER = {"type": ["number", "null"]}


@register_part_schema
class PeerFeatures(BaseEstimator):  # type: ignore[misc]
    """Key features of each client with their percentile among its peers.

    Peers are the organisations of the same value of `peer_by` (the size band by default) known
    at the fit's `as_of`; the percentile is the mid-rank of the client's value among theirs, so a
    client at 90 does more than 90% of its peers. The peers' distributions are learnt in `fit`
    (1 001 order statistics per feature and group) and kept: scoring reads no other organisation.

    Parameters
    ----------
    features : tuple of str, default KEY_FEATURES
        Feature columns (of ``build_features``) to show.
    peer_by : str, default "firmographics__size_band"
        Categorical feature defining the peer groups; None compares with every organisation.

    Attributes
    ----------
    as_of_ : pandas.Timestamp
        When it was fitted.
    grids_ : dict of str to dict of str to numpy.ndarray
        Per peer group (``"*"`` for all), per feature, the reference order statistics.
    group_sizes_ : dict of str to int
        Organisations per peer group at fit.

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> base = make_client_base(300, seed=1)
    >>> part = PeerFeatures(features=("purchasing__orders_365d",)).fit(base, "2025-01-01")
    >>> sorted(part.grids_)[:2]
    ['*', 'enterprise']
    """

    name: ClassVar[str] = "features"
    schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["peer_group", "peer_group_size", "features"],
        "additionalProperties": False,
        "properties": {
            "peer_group": {"type": ["string", "null"]},
            "peer_group_size": {"type": "integer", "minimum": 0},
            "features": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "value", "percentile"],
                    "additionalProperties": False,
                    "properties": {
                        "name": {"type": "string"},
                        "value": _NULLABLE_NUMBER,
                        "percentile": {"type": ["number", "null"], "minimum": 0, "maximum": 100},
                    },
                },
            },
        },
    }

    def __init__(
        self,
        *,
        features: tuple[str, ...] = KEY_FEATURES,
        peer_by: str | None = "firmographics__size_band",
    ) -> None:
        self.features = features
        self.peer_by = peer_by

    def fit(self, base: Any, as_of: Any, *, parts: Mapping[str, Any] | None = None) -> PeerFeatures:
        """Learn each peer group's distribution of every feature as of `as_of`.

        Parameters
        ----------
        base : ClientBase
            The client base.
        as_of : str or pandas.Timestamp
            Only rows before it are read.
        parts : mapping, optional
            Ignored (the protocol's parts fitted before this one).

        Returns
        -------
        PeerFeatures
            ``self``.

        Raises
        ------
        InvalidParameterError
            For a feature or `peer_by` that ``build_features`` does not write, or an `as_of`
            before every organisation.
        """
        t = to_timestamp(as_of, owner="PeerFeatures.fit")
        X = known_features(base, t, "PeerFeatures")
        wanted = list(self.features) + ([self.peer_by] if self.peer_by else [])
        missing = [c for c in wanted if c not in X.columns]
        if missing:
            raise InvalidParameterError(
                f"PeerFeatures reads features that the organisation-scope extractors do not "
                f"write: {missing}. Choose columns of build_features(base, as_of, "
                f"{list(ORGANISATION_EXTRACTORS)})."
            )
        grids: dict[str, dict[str, np.ndarray]] = {}
        sizes: dict[str, int] = {}
        groups = self._groups(X)
        for group in ["*", *sorted(set(groups.dropna()))]:
            rows = X if group == "*" else X[groups.to_numpy() == group]
            grids[group] = {c: reference_grid(rows[c]) for c in self.features}
            sizes[group] = len(rows)
        self.grids_ = grids
        self.group_sizes_ = sizes
        self.as_of_ = t
        return self

    def _groups(self, X: pd.DataFrame) -> pd.Series:
        if not self.peer_by:
            return pd.Series("*", index=X.index, dtype=object)
        return X[self.peer_by].astype(object)

    def section(self, batch: Batch) -> list[dict[str, Any] | None]:
        """Return each organisation's key features with their percentile among its peers."""
        fitted_as_of(self, "PeerFeatures")
        X = batch.features
        groups = self._groups(X).where(lambda g: g.isin(list(self.grids_)), None)
        names = list(self.features)
        values = {c: _floats(X[c]) for c in names}
        percentiles = {c: np.full(len(X), np.nan) for c in names}
        group_key = groups.fillna("*").to_numpy(dtype=object)
        for group in pd.unique(group_key):
            rows = group_key == group
            for c in names:
                percentiles[c][rows] = percentile_of(self.grids_[group][c], X[c].to_numpy()[rows])
        rounded = {c: _floats(np.round(percentiles[c], 1)) for c in names}
        per_feature = [
            [
                {"name": c, "value": v, "percentile": p}
                for v, p in zip(values[c], rounded[c], strict=True)
            ]
            for c in names
        ]
        rows = zip(*per_feature, strict=True) if names else iter([[]] * len(X))
        out: list[dict[str, Any] | None] = []
        for group, features in zip(group_key.tolist(), rows, strict=True):
            out.append(
                {
                    "peer_group": None if group == "*" else str(group),
                    "peer_group_size": int(self.group_sizes_[group]),
                    "features": list(features),
                }
            )
        return out


@register_part_schema
class ChurnRisk(BaseEstimator):  # type: ignore[misc]
    """Probability that a client churns within a horizon, with the drivers that raise it.

    Fitted as :mod:`b2bclient.churn` recommends: churn is a gap without purchases
    (``Inactivity(gap)``); the organisations at risk at the landmark ``as_of - gap`` are followed
    until `as_of` (censored there); their features at the landmark go through the shared
    preprocessor (:func:`b2bclient.features.preprocessor`) into a penalised Cox
    :class:`~b2bclient.churn.ChurnModel`. A portrait shows the probability of churning within
    `horizon` for clients at risk (a purchase within `gap` before the portrait's time) and the
    `n_drivers` model columns that raise this client's hazard most above the average client's
    (coefficient times the difference from the training mean, in log-hazard).

    Parameters
    ----------
    gap : str, default "365D"
        Inactivity that defines churn.
    horizon : str, default "180D"
        Horizon of the churn probability.
    features : tuple of str, default CHURN_FEATURES
        Feature columns the model reads.
    penalizer : float, default 0.1
        Penalty of the Cox model.
    n_drivers : int, default 3
        Drivers listed per client.

    Attributes
    ----------
    as_of_, landmark_ : pandas.Timestamp
        When it was fitted, and the landmark of its training frame.
    preprocessor_ : FeaturePreprocessor
        Fitted on the training features.
    model_ : ChurnModel
        The fitted Cox model on the preprocessed features.
    mean_ : pandas.Series
        Training mean of every model column (the reference of the drivers).
    n_at_risk_, n_events_ : int
        Size of the training frame and churn events in it.

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> base = make_client_base(400, seed=1)
    >>> part = ChurnRisk().fit(base, "2025-01-01")
    >>> part.n_events_ > 0
    True
    """

    name: ClassVar[str] = "churn"
    schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["at_risk", "horizon_days", "probability", "drivers"],
        "additionalProperties": False,
        "properties": {
            "at_risk": {"type": "boolean"},
            "horizon_days": {"type": "number", "exclusiveMinimum": 0},
            "probability": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
            "drivers": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["feature", "value", "effect"],
                    "additionalProperties": False,
                    "properties": {
                        "feature": {"type": "string"},
                        "value": _NULLABLE_NUMBER,
                        "effect": {"type": "number"},
                    },
                },
            },
        },
    }

    def __init__(
        self,
        *,
        gap: str = "365D",
        interactions: bool = True,
        horizon: str = "180D",
        features: tuple[str, ...] = CHURN_FEATURES,
        penalizer: float = 0.1,
        n_drivers: int = 3,
    ) -> None:
        self.gap = gap
        self.interactions = interactions
        self.horizon = horizon
        self.features = features
        self.penalizer = penalizer
        self.n_drivers = n_drivers

    def fit(self, base: Any, as_of: Any, *, parts: Mapping[str, Any] | None = None) -> ChurnRisk:
        """Fit the churn model on the clients at risk at ``as_of - gap``, followed to `as_of`.

        Parameters
        ----------
        base : ClientBase
            The client base.
        as_of : str or pandas.Timestamp
            Only rows before it are read.
        parts : mapping, optional
            Ignored.

        Returns
        -------
        ChurnRisk
            ``self``.

        Raises
        ------
        InvalidParameterError
            For a bad parameter, an `as_of` before the data, or too few clients or churn events
            to fit a model (fewer than 20 at risk or 5 events).
        """
        from b2bclient.churn import ChurnModel, Inactivity, Surv, survival_frame
        from b2bclient.features import preprocessor

        owner = "ChurnRisk.fit"
        t = to_timestamp(as_of, owner=owner)
        gap = to_duration(self.gap, name="gap", owner="ChurnRisk")
        horizon = to_duration(self.horizon, name="horizon", owner="ChurnRisk")
        if horizon > gap:
            raise InvalidParameterError(
                f"The 'horizon' of ChurnRisk ({self.horizon}) must not exceed its 'gap' "
                f"({self.gap}): the model is followed for one gap after its landmark."
            )
        if (
            isinstance(self.n_drivers, bool)
            or not isinstance(self.n_drivers, int)
            or self.n_drivers < 0
        ):
            raise InvalidParameterError(
                f"The 'n_drivers' parameter of ChurnRisk must be a non-negative integer such as "
                f"3. Got {self.n_drivers!r} instead."
            )
        landmark = t - gap
        require_known(base, t, "ChurnRisk")
        X = known_features(base, landmark, "ChurnRisk (at its landmark as_of - gap)")
        missing = [c for c in self.features if c not in X.columns]
        if missing:
            raise InvalidParameterError(
                f"ChurnRisk reads features that the organisation-scope extractors do not write: "
                f"{missing}."
            )
        outcomes = survival_frame(
            base,
            as_of=t,
            definition=Inactivity(self.gap, interactions=self.interactions),
            landmarks=[landmark],
            features=False,
        )
        frame = outcomes.join(X[list(self.features)], on="organisation_id")
        events = int(frame["event"].sum())
        if len(frame) < 20 or events < 5:
            raise InvalidParameterError(
                f"ChurnRisk needs at least 20 clients at risk at {landmark.date()} and 5 churn "
                f"events before {t.date()}; got {len(frame)} and {events}. Fit at a later as_of "
                "or with a shorter gap."
            )
        pre = preprocessor(categorical="drop")
        Z = pre.fit_transform(frame[list(self.features)])
        model = ChurnModel(kind="cox", penalizer=self.penalizer).fit(Z, Surv.from_frame(frame))
        self.preprocessor_ = pre
        self.model_ = model
        self.mean_ = Z.mean()
        self.landmark_ = landmark
        self.n_at_risk_ = len(frame)
        self.n_events_ = events
        self.as_of_ = t
        return self

    def probability(self, X: pd.DataFrame) -> np.ndarray:
        """Return P(churn within `horizon`) for every row of a feature frame."""
        fitted_as_of(self, "ChurnRisk")
        Z = self.preprocessor_.transform(X[list(self.features)])
        return np.asarray(
            self.model_.predict_churn_probability(Z, horizon=self.horizon), dtype=np.float64
        )

    def at_risk(self, X: pd.DataFrame) -> np.ndarray:
        """Return whether each organisation is a client at risk: a purchase within `gap`."""
        days = to_duration(self.gap).total_seconds() / 86_400.0
        recency = X["purchasing__recency_days"].to_numpy(dtype=np.float64)
        return np.asarray(np.nan_to_num(recency, nan=np.inf) < days)

    def section(self, batch: Batch) -> list[dict[str, Any] | None]:
        """Return each client's churn probability within `horizon` and its top drivers."""
        return churn_sections(self, batch)


@register_part_schema
class CustomerValue(BaseEstimator):  # type: ignore[misc]
    """P(alive), expected purchases and expected value of each buyer (BG/NBD and Gamma-Gamma).

    `fit` summarises the purchases before `as_of` (:func:`~b2bclient.btyd.rfm_summary`, weekly)
    and fits :class:`~b2bclient.btyd.BetaGeo` and, on repeat buyers, :class:`~b2bclient.btyd.
    GammaGamma`. When the BG/NBD fit is weakly identified (a ConvergenceWarning: dropout barely
    visible in the window) it is refitted with ``penalizer=fallback_penalizer`` and
    `penalized_` says so. A portrait reads the buyer's own summary as of its time.

    Parameters
    ----------
    horizon_weeks : int, default 52
        Horizon of the expected purchases.
    months : int, default 12
        Horizon of the discounted expected value.
    discount_rate : float, default 0.01
        Monthly discount rate of the expected value.
    fallback_penalizer : float, default 0.001
        Penalty of the refit when the unpenalised fit is weakly identified.

    Attributes
    ----------
    as_of_ : pandas.Timestamp
    beta_geo_ : BetaGeo
    gamma_gamma_ : GammaGamma
    penalized_ : bool
        Whether the BG/NBD fit needed the fallback penalty.

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> base = make_client_base(400, seed=1)
    >>> part = CustomerValue().fit(base, "2025-01-01")
    >>> sorted(part.beta_geo_.params_.index)
    ['a', 'alpha', 'b', 'r']
    """

    name: ClassVar[str] = "value"
    schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": [
            "buyer",
            "p_alive",
            "expected_purchases",
            "horizon_weeks",
            "expected_value",
            "horizon_months",
            "value_per_purchase",
        ],
        "additionalProperties": False,
        "properties": {
            "buyer": {"type": "boolean"},
            "p_alive": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
            "expected_purchases": {"type": ["number", "null"], "minimum": 0},
            "horizon_weeks": {"type": "number"},
            "expected_value": _NULLABLE_NUMBER,
            "horizon_months": {"type": "number"},
            "value_per_purchase": _NULLABLE_NUMBER,
        },
    }

    def __init__(
        self,
        *,
        horizon_weeks: int = 52,
        months: int = 12,
        discount_rate: float = 0.01,
        fallback_penalizer: float = 0.001,
    ) -> None:
        self.horizon_weeks = horizon_weeks
        self.months = months
        self.discount_rate = discount_rate
        self.fallback_penalizer = fallback_penalizer

    def fit(
        self, base: Any, as_of: Any, *, parts: Mapping[str, Any] | None = None
    ) -> CustomerValue:
        """Fit BG/NBD on every buyer and Gamma-Gamma on the repeat buyers, as of `as_of`.

        Parameters
        ----------
        base : ClientBase
            The client base.
        as_of : str or pandas.Timestamp
            Only purchases before it are read.
        parts : mapping, optional
            Ignored.

        Returns
        -------
        CustomerValue
            ``self``.

        Raises
        ------
        InvalidParameterError
            With fewer than 10 repeat buyers before `as_of`.
        """
        from sklearn.exceptions import ConvergenceWarning

        from b2bclient.btyd import BetaGeo, GammaGamma, rfm_summary

        t = to_timestamp(as_of, owner="CustomerValue.fit")
        require_known(base, t, "CustomerValue")
        summary = rfm_summary(base, t, freq="W")
        repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
        if len(repeat) < 10:
            raise InvalidParameterError(
                f"CustomerValue needs at least 10 repeat buyers before {t.date()} to fit BG/NBD "
                f"and Gamma-Gamma; got {len(repeat)}. Fit at a later as_of."
            )
        penalized = False
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            try:
                bg = BetaGeo().fit(summary)
            except ConvergenceWarning:
                penalized = True
        if penalized:
            bg = BetaGeo(penalizer=self.fallback_penalizer).fit(summary)
        self.beta_geo_ = bg
        self.gamma_gamma_ = GammaGamma().fit(repeat)
        self.penalized_ = penalized
        self.as_of_ = t
        return self

    def section(self, batch: Batch) -> list[dict[str, Any] | None]:
        """Return each organisation's P(alive), expected purchases and expected value."""
        return value_sections(self, batch)
