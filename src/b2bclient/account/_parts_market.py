"""Portrait parts on who the client is and what it could buy: segment, cross-sell, partners, wallet.

Each wraps a model of another subpackage (:class:`~b2bclient.segment.Segmenter`,
:class:`~b2bclient.recommend.CrossSell`, :class:`~b2bclient.recommend.PartnerMatcher`,
:class:`~b2bclient.potential.WalletModel`) in the part protocol of
:mod:`b2bclient.account._protocol`: ``fit(base, as_of, *, parts)`` fits a clone of the model
given as parameter (a default instance when None), ``section(batch)`` reads the batch only.

The recommenders score from the snapshot of the client base they were fitted on (products
bought, projects, relationships as of the bundle's ``as_of``); their sections say so
(``as_of``) and leave out the products an organisation bought since. The bodies of the
suggestion sections live in :mod:`b2bclient.account._suggestions`, that of the wallet section in
:mod:`b2bclient.account._sections`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from b2bclient._exceptions import InvalidParameterError
from b2bclient._time import to_timestamp
from b2bclient.account._core import _floats
from b2bclient.account._part_checks import check_k, check_model, fitted_as_of
from b2bclient.account._part_features import known_features, require_known
from b2bclient.account._protocol import Batch, register_part_schema
from b2bclient.account._sections import wallet_sections
from b2bclient.account._suggestions import (
    cross_sell_sections,
    partner_sections,
    suggestions_schema,
)

__all__ = ["CrossSellSuggestions", "PartnerSuggestions", "SegmentMembership", "WalletShare"]

_NULLABLE_NUMBER = {"type": ["number", "null"]}
_PROBABILITY = {"type": ["number", "null"], "minimum": 0, "maximum": 1}


@register_part_schema
class SegmentMembership(BaseEstimator):  # type: ignore[misc]
    """The client's segment: its number, the segment's plain-word label and how firmly it belongs.

    `fit` segments the organisations known at `as_of` on their organisation-scope features with a
    :class:`~b2bclient.segment.Segmenter` and keeps each segment's label from
    :meth:`~b2bclient.segment.Segmenter.profile`; a portrait places the client with
    ``predict`` on its features at the portrait's time. ``probability`` is the membership
    probability of the segment (method ``"gmm"``), ``distance`` the distance to the segment's
    centre (the other methods); the other is null.

    Parameters
    ----------
    model : Segmenter, optional
        The segmenter to fit (cloned); by default ``Segmenter(random_state=0)``.

    Attributes
    ----------
    as_of_ : pandas.Timestamp
        When it was fitted.
    model_ : Segmenter
        The fitted segmenter.
    labels_ : dict of int to str
        Label of each segment.
    sizes_ : dict of int to int
        Organisations of each segment at fit.

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> from b2bclient.segment import Segmenter
    >>> base = make_client_base(400, seed=1)
    >>> part = SegmentMembership(model=Segmenter(n_segments=3, random_state=0))
    >>> part = part.fit(base, "2025-01-01")
    >>> sorted(part.labels_)
    [0, 1, 2]
    """

    name: ClassVar[str] = "segment"
    schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["segment", "label", "probability", "distance", "segment_size"],
        "additionalProperties": False,
        "properties": {
            "segment": {"type": "integer", "minimum": -1},
            "label": {"type": ["string", "null"]},
            "probability": _PROBABILITY,
            "distance": {"type": ["number", "null"], "minimum": 0},
            "segment_size": {"type": "integer", "minimum": 0},
        },
    }

    def __init__(self, *, model: Any = None) -> None:
        self.model = model

    def fit(
        self, base: Any, as_of: Any, *, parts: Mapping[str, Any] | None = None
    ) -> SegmentMembership:
        """Segment the organisations known at `as_of` and label the segments.

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
        SegmentMembership
            ``self``.

        Raises
        ------
        InvalidParameterError
            For a `model` that is not a Segmenter, an `as_of` before the data, or too few
            organisations to segment.
        """
        from b2bclient.segment import Segmenter

        t = to_timestamp(as_of, owner="SegmentMembership.fit")
        segmenter = check_model(self.model, Segmenter, "SegmentMembership")
        if self.model is None:
            segmenter.set_params(random_state=0)
        X = known_features(base, t, "SegmentMembership")
        return self._adopt(segmenter.fit(X), base, t, X)

    def _adopt(
        self, segmenter: Any, base: Any, t: pd.Timestamp, X: pd.DataFrame | None = None
    ) -> SegmentMembership:
        """Take a fitted segmenter: label its segments on the organisations known at `t`."""
        from b2bclient.account._ranks import ORGANISATION_EXTRACTORS

        X = known_features(base, t, "SegmentMembership") if X is None else X
        columns = list(getattr(segmenter, "feature_names_in_", []))
        outside = [c for c in columns if c not in X.columns]
        if not columns or outside:
            raise InvalidParameterError(
                "SegmentMembership places each client from its organisation-scope features "
                f"(extractors {list(ORGANISATION_EXTRACTORS)}); this Segmenter was fitted on "
                f"other columns: {outside[:5] or 'no named columns'}. Fit it on "
                "build_features(base, as_of, extractors=list(ORGANISATION_EXTRACTORS))."
            )
        table = segmenter.profile(X[columns])
        self.model_ = segmenter
        self.labels_ = {int(s): str(v) for s, v in table["label"].items()}
        self.sizes_ = {int(s): int(v) for s, v in table["organisations"].items()}
        self.as_of_ = t
        return self

    def section(self, batch: Batch) -> list[dict[str, Any] | None]:
        """Return each organisation's segment, label and membership strength."""
        fitted_as_of(self, "SegmentMembership")
        X = batch.features[list(self.model_.feature_names_in_)]
        segment = np.asarray(self.model_.predict(X), dtype=np.int64)
        n = len(segment)
        probability = np.full(n, np.nan)
        distance = np.full(n, np.nan)
        if self.model_.n_segments_ > 0 and n:
            weights = np.asarray(self.model_.transform(X), dtype=np.float64)
            rows = np.arange(n)
            pick = np.clip(segment, 0, weights.shape[1] - 1)
            value = np.where(segment >= 0, weights[rows, pick], np.nan)
            if self.model_.method == "gmm":
                probability = np.round(value, 4)
            else:
                distance = np.round(value, 4)
        probabilities, distances = _floats(probability), _floats(distance)
        return [
            {
                "segment": int(s),
                "label": self.labels_.get(int(s)),
                "probability": probabilities[i],
                "distance": distances[i],
                "segment_size": int(self.sizes_.get(int(s), 0)),
            }
            for i, s in enumerate(segment.tolist())
        ]


@register_part_schema
class CrossSellSuggestions(BaseEstimator):  # type: ignore[misc]
    """The `k` products and services the client is most likely to need next, with a reason each.

    `fit` fits a :class:`~b2bclient.recommend.CrossSell` on the won deal lines before `as_of`
    (with the segments of the bundle's ``segment`` part as segment peers when that part was
    fitted before this one and `use_segments` is True). A portrait lists its recommendations,
    scored from the fitted snapshot, leaving out the products the client has bought since.

    Parameters
    ----------
    model : CrossSell, optional
        The recommender to fit (cloned); by default ``CrossSell()``.
    k : int, default 5
        Suggestions per organisation.
    use_segments : bool, default True
        Read the ``segment`` part, when present, for segment peers.

    Attributes
    ----------
    as_of_ : pandas.Timestamp
    model_ : CrossSell
        The fitted recommender.

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> base = make_client_base(400, seed=1)
    >>> part = CrossSellSuggestions(k=3).fit(base, "2025-01-01")
    >>> part.model_.blend_ in ("learnt", "default")
    True
    """

    name: ClassVar[str] = "cross_sell"
    schema: ClassVar[dict[str, Any]] = suggestions_schema(
        {
            "product_id": {"type": "string"},
            "product": {"type": ["string", "null"]},
            "score": {"type": "number"},
            "reason": {"type": "string"},
        }
    )

    def __init__(self, *, model: Any = None, k: int = 5, use_segments: bool = True) -> None:
        self.model = model
        self.k = k
        self.use_segments = use_segments

    def fit(
        self, base: Any, as_of: Any, *, parts: Mapping[str, Any] | None = None
    ) -> CrossSellSuggestions:
        """Fit the recommender on the won deal lines before `as_of`.

        Parameters
        ----------
        base : ClientBase
            The client base.
        as_of : str or pandas.Timestamp
            Only rows before it are read.
        parts : mapping, optional
            The parts fitted before this one; a ``segment`` part gives the segment peers.

        Returns
        -------
        CrossSellSuggestions
            ``self``.

        Raises
        ------
        InvalidParameterError
            For a bad parameter or an `as_of` before the data.
        """
        from b2bclient.recommend import CrossSell

        t = to_timestamp(as_of, owner="CrossSellSuggestions.fit")
        check_k(self.k, "CrossSellSuggestions")
        model = check_model(self.model, CrossSell, "CrossSellSuggestions")
        segments = None
        segment_part = (parts or {}).get("segment")
        if self.use_segments and segment_part is not None:
            X = known_features(base, t, "CrossSellSuggestions")
            seg = segment_part.model_
            segments = pd.Series(
                np.asarray(seg.predict(X[list(seg.feature_names_in_)])), index=X.index
            )
        else:
            require_known(base, t, "CrossSellSuggestions")
        return self._adopt(model.fit(base, t, segments=segments), base, t)

    def _adopt(self, model: Any, base: Any, t: pd.Timestamp) -> CrossSellSuggestions:
        """Take a fitted recommender (fitted at or before `t`)."""
        products = base.products.set_index("product_id")["name"].astype(object)
        self.model_ = model
        self.product_names_ = {
            str(p): str(products.get(p)) if pd.notna(products.get(p)) else None
            for p in np.asarray(model.product_ids_).tolist()
        }
        self.as_of_ = t
        return self

    def section(self, batch: Batch) -> list[dict[str, Any] | None]:
        """Return each organisation's top `k` suggestions, leaving out what it bought since."""
        return cross_sell_sections(self, batch)


@register_part_schema
class PartnerSuggestions(BaseEstimator):  # type: ignore[misc]
    """Other clients this one could do business with directly, with the role and the reasons.

    `fit` fits a :class:`~b2bclient.recommend.PartnerMatcher` on the tables before `as_of`; a
    portrait lists the client's `k` best partners from the fitted snapshot (organisation ids
    only: the partner's portrait tells who it is).

    Parameters
    ----------
    model : PartnerMatcher, optional
        The matcher to fit (cloned); by default ``PartnerMatcher()``.
    k : int, default 5
        Partners per organisation.

    Attributes
    ----------
    as_of_ : pandas.Timestamp
    model_ : PartnerMatcher
        The fitted matcher.

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> base = make_client_base(400, seed=1)
    >>> part = PartnerSuggestions(k=3).fit(base, "2025-01-01")
    >>> part.model_.model_ in ("gbm", "rule")
    True
    """

    name: ClassVar[str] = "partners"
    schema: ClassVar[dict[str, Any]] = suggestions_schema(
        {
            "partner_id": {"type": "string"},
            "score": {"type": "number"},
            "role": {"enum": ["supplier", "buyer", "co-participant"]},
            "reasons": {"type": "array", "items": {"type": "string"}},
        }
    )

    def __init__(self, *, model: Any = None, k: int = 5) -> None:
        self.model = model
        self.k = k

    def fit(
        self, base: Any, as_of: Any, *, parts: Mapping[str, Any] | None = None
    ) -> PartnerSuggestions:
        """Fit the matcher on the tables before `as_of`.

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
        PartnerSuggestions
            ``self``.

        Raises
        ------
        InvalidParameterError
            For a bad parameter or an `as_of` before the data.
        """
        from b2bclient.recommend import PartnerMatcher

        t = to_timestamp(as_of, owner="PartnerSuggestions.fit")
        check_k(self.k, "PartnerSuggestions")
        model = check_model(self.model, PartnerMatcher, "PartnerSuggestions")
        require_known(base, t, "PartnerSuggestions")
        return self._adopt(model.fit(base, t), base, t)

    def _adopt(self, model: Any, base: Any, t: pd.Timestamp) -> PartnerSuggestions:
        """Take a fitted matcher (fitted at or before `t`)."""
        self.model_ = model
        self.as_of_ = t
        return self

    def section(self, batch: Batch) -> list[dict[str, Any] | None]:
        """Return each organisation's `k` best partners with their role and reasons."""
        return partner_sections(self, batch)


def _organisation_inputs(model: Any) -> None:
    from b2bclient.account._ranks import ORGANISATION_EXTRACTORS

    outside = [c for c in model.inputs if c.split("__")[0] not in ORGANISATION_EXTRACTORS]
    if outside:
        raise InvalidParameterError(
            f"WalletShare reads the wallet inputs from the portrait's organisation-scope "
            f"features ({list(ORGANISATION_EXTRACTORS)}); these inputs are of other "
            f"extractors: {outside}."
        )


@register_part_schema
class WalletShare(BaseEstimator):  # type: ignore[misc]
    """The client's attainable yearly spend (wallet), its share of it and the whitespace.

    `fit` fits a :class:`~b2bclient.potential.WalletModel` as of `as_of` (an upper quantile of
    log yearly spend among comparable peers). A portrait applies the fitted regression to the
    client's inputs at the portrait's time: ``spend`` is the revenue won in the 365 days before
    it, ``potential`` is :meth:`WalletModel.predict <b2bclient.potential.WalletModel.predict>`
    (the wallet quantile, never below the typical nor last year's spend),
    ``share_of_wallet = spend / potential`` and
    ``whitespace = potential - spend``; ``drivers`` are the `n_drivers` model inputs that move
    the wallet most against the average organisation (in log spend: +0.69 doubles it).

    Parameters
    ----------
    model : WalletModel, optional
        The wallet model to fit (cloned); by default ``WalletModel()``.
    n_drivers : int, default 3
        Drivers listed per client.

    Attributes
    ----------
    as_of_ : pandas.Timestamp
    model_ : WalletModel
        The fitted model.
    matrix_mean_ : pandas.Series
        Mean of the model matrix at fit (the reference of the drivers).

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> base = make_client_base(400, seed=1)
    >>> part = WalletShare().fit(base, "2025-01-01")
    >>> bool(part.model_.coefficients_.notna().all())
    True
    """

    name: ClassVar[str] = "wallet"
    schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["spend_365d", "potential", "share_of_wallet", "whitespace", "drivers"],
        "additionalProperties": False,
        "properties": {
            "spend_365d": {"type": "number", "minimum": 0},
            "potential": {"type": "number", "minimum": 0},
            "share_of_wallet": {"type": "number", "minimum": 0, "maximum": 1},
            "whitespace": {"type": "number", "minimum": 0},
            "drivers": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["feature", "effect"],
                    "additionalProperties": False,
                    "properties": {"feature": {"type": "string"}, "effect": {"type": "number"}},
                },
            },
        },
    }

    def __init__(self, *, model: Any = None, n_drivers: int = 3) -> None:
        self.model = model
        self.n_drivers = n_drivers

    def fit(self, base: Any, as_of: Any, *, parts: Mapping[str, Any] | None = None) -> WalletShare:
        """Fit the wallet model as of `as_of`.

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
        WalletShare
            ``self``.

        Raises
        ------
        InvalidParameterError
            For a bad parameter, inputs that are not organisation-scope features, or an
            `as_of` before the data.
        InvalidTablesError
            With fewer than 10 established buyers to learn from.
        """
        from b2bclient.potential import WalletModel

        t = to_timestamp(as_of, owner="WalletShare.fit")
        n = self.n_drivers
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise InvalidParameterError(
                f"The 'n_drivers' parameter of WalletShare must be a non-negative integer such "
                f"as 3. Got {n!r} instead."
            )
        model = check_model(self.model, WalletModel, "WalletShare")
        _organisation_inputs(model)
        require_known(base, t, "WalletShare")
        return self._adopt(model.fit(base, t), base, t)

    def _adopt(self, model: Any, base: Any, t: pd.Timestamp) -> WalletShare:
        """Take a fitted wallet model (fitted at or before `t`)."""
        _organisation_inputs(model)
        self.model_ = model
        self.matrix_mean_ = model.matrix_.mean()
        self.as_of_ = t
        return self

    def section(self, batch: Batch) -> list[dict[str, Any] | None]:
        """Return each organisation's spend, wallet, share of wallet, whitespace and drivers."""
        return wallet_sections(self, batch)
