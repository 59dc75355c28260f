"""CrossSell: the products and services an organisation is likely to buy next, with a reason."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression

from b2bclient._exceptions import InvalidParameterError
from b2bclient._time import to_duration, to_timestamp
from b2bclient.base import PartitionedClientBase
from b2bclient.features._build import prepare
from b2bclient.features._context import FeatureTables
from b2bclient.recommend._common import (
    check_k,
    check_positive_int,
    csr_from_state,
    csr_to_state,
    require_fitted,
    resolve_engine,
    resolve_ids,
    top_k,
)
from b2bclient.recommend._context import (
    CONTEXT_SIGNALS,
    SIGNALS,
    Snapshot,
    build_snapshot,
    features,
)
from b2bclient.recommend._crosssell_reasons import explain
from b2bclient.recommend._itemknn import ITEM_MODELS
from b2bclient.recommend._logs import Firmographics, PurchaseLog, StageLog, categorical_codes

__all__ = ["RECOMMENDATION_COLUMNS", "CrossSell"]

#: Columns of :meth:`CrossSell.recommend`.
RECOMMENDATION_COLUMNS = ("organisation_id", "rank", "product_id", "score", "reason")
_OWNER = "CrossSell"
_CHUNK = 4_096
# Fixed blend used when there is too little history to learn one (see CrossSell's Notes).
_DEFAULT_WEIGHTS = {
    "similar": 1.0,
    "popular": 0.5,
    "industry": 1.0,
    "segment": 0.5,
    "stage": 1.0,
    "attached": 1.0,
}
_MIN_POSITIVES = 30

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class CrossSell(BaseEstimator):  # type: ignore[misc]
    """Recommend the products and services an organisation is likely to need next.

    Learns from the lines of won deals closed before `as_of`. An item model on the sparse
    organisation x product matrix (item-kNN with BM25 or cosine weighting, or EASE) is blended
    with context: how popular a product is with the organisation's industry and segment peers,
    the stage of its open projects (a project entering procurement or delivery makes logistics,
    lifting, installation, insurance and credit relevant) and the services commonly attached to
    the goods it buys. The blend is a logistic regression learnt on the last `horizon` before
    `as_of`: the signals computed as of ``as_of - horizon`` against the new products bought
    since. Every recommendation carries the reason that contributed most to its score.

    Parameters
    ----------
    item_model : {"bm25", "cosine", "ease"}, default="bm25"
        Item-kNN with BM25 weights, item-kNN on binary columns, or EASE's closed-form item model.
    n_neighbours : int, default=50
        Neighbours kept per product by item-kNN.
    l2 : float, default=200.0
        Ridge penalty of EASE.
    context : bool, default=True
        Blend in industry and segment peers, project stages and attached services; False gives
        the item model with overall popularity only (for cold start and ties).
    horizon : str, int or pandas.Timedelta, default="180D"
        How far ahead the blend and the stage effects look (numbers are days).
    n_windows : int, default=4
        Earlier windows of length `horizon` on which the effect of project stages is counted.
    max_train_organisations : int, default=5000
        Organisations sampled to learn the blend.
    random_state : int, default=0
        Seed of that sample.

    Attributes
    ----------
    as_of_ : pandas.Timestamp
        The cut-off of the fit.
    organisation_ids_ : pandas.Index
        Organisations known before `as_of_`, sorted; only these can be recommended to.
    product_ids_, product_names_ : numpy.ndarray
        The catalogue: the products bought at least once before `as_of_` (nothing is known
        of the others, so they are never recommended).
    signals_ : tuple of str
        Signals blended (``similar``, ``popular``, then with context ``industry``, ``segment``
        when segments were given, ``stage``, ``attached``).
    coef_ : numpy.ndarray of shape (2, n_signals)
        Weight of each standardised signal in the blend, for goods (row 0) and services (row 1).
    intercept_ : numpy.ndarray of shape (2,)
        Intercepts of the two blends.
    blend_ : {"learnt", "default"}
        Whether the blend was learnt or the fixed default was used.
    n_train_positives_ : int
        New purchases in the last `horizon` the blend was learnt on.

    Notes
    -----
    **Point in time.** Nothing at or after `as_of` is read: the result is the same on ``base`` and
    on ``base`` with any rows added at or after `as_of`.

    **Cold start.** An organisation without purchases gets the products bought by its industry
    (and segment) peers; without context, the most popular ones.

    **Fallback blend.** When the last `horizon` before `as_of` holds fewer than 30 new purchases
    (a short history), the signals are blended with fixed weights (``blend_ == "default"``).

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> base = make_client_base(400, seed=1)
    >>> model = CrossSell().fit(base, as_of="2024-07-01")
    >>> recs = model.recommend(["O-000007"], k=3)
    >>> recs.columns.tolist()
    ['organisation_id', 'rank', 'product_id', 'score', 'reason']
    >>> recs["rank"].tolist()
    [1, 2, 3]
    """

    def __init__(
        self,
        *,
        item_model: str = "bm25",
        n_neighbours: int = 50,
        l2: float = 200.0,
        context: bool = True,
        horizon: Any = "180D",
        n_windows: int = 4,
        max_train_organisations: int = 5_000,
        random_state: int = 0,
    ) -> None:
        self.item_model = item_model
        self.n_neighbours = n_neighbours
        self.l2 = l2
        self.context = context
        self.horizon = horizon
        self.n_windows = n_windows
        self.max_train_organisations = max_train_organisations
        self.random_state = random_state

    # ------------------------------------------------------------------------------------ fit

    def _check_params(self) -> int:
        if self.item_model not in ITEM_MODELS:
            raise InvalidParameterError(
                f"The 'item_model' parameter of {_OWNER} must be one of {list(ITEM_MODELS)}. "
                f"Got {self.item_model!r} instead."
            )
        check_positive_int(self.n_neighbours, "n_neighbours", _OWNER, example="50")
        check_positive_int(self.n_windows, "n_windows", _OWNER, example="4")
        check_positive_int(
            self.max_train_organisations, "max_train_organisations", _OWNER, example="5000"
        )
        if isinstance(self.l2, bool) or not isinstance(self.l2, (int, float)) or not self.l2 > 0:
            raise InvalidParameterError(
                f"The 'l2' parameter of {_OWNER} must be a positive number such as 200.0. "
                f"Got {self.l2!r} instead."
            )
        if not isinstance(self.context, (bool, np.bool_)):
            raise InvalidParameterError(
                f"The 'context' parameter of {_OWNER} must be True or False. "
                f"Got {self.context!r} instead."
            )
        return int(to_duration(self.horizon, name="horizon", owner=_OWNER).value)

    def fit(self, base: Any, as_of: Any, segments: pd.Series | None = None) -> CrossSell:
        """Learn from the won deal lines before `as_of`.

        Parameters
        ----------
        base : ClientBase
            The client base; rows at or after `as_of` are ignored.
        as_of : str or pandas.Timestamp
            The cut-off; required.
        segments : pandas.Series, optional
            A segment label per ``organisation_id`` (for example ``Segmenter().labels_``), used for
            segment peers. Organisations without a label use overall popularity instead;
            labels of organisations not known before `as_of` are not used.

        Returns
        -------
        CrossSell
            The fitted model.

        Raises
        ------
        InvalidParameterError
            For an invalid parameter, a `segments` that is not a Series indexed by
            organisation id, or a base with no won deal line before `as_of`.
        """
        horizon = self._check_params()
        t = to_timestamp(as_of, name="as_of", owner=f"{_OWNER}.fit")
        ctx = prepare(base, t, f"{_OWNER}.fit")
        purchases = PurchaseLog.from_tables(ctx)
        if len(purchases) == 0:
            n_deals = len(ctx["deals"])
            raise InvalidParameterError(
                f"{_OWNER} learns from the lines of won deals closed before as_of, and the base "
                f"has none before {t} ({n_deals} deals known then, none won with a line of a "
                "known product). Choose a later as_of, or load the deals and deal_lines tables."
            )
        # The catalogue is what was bought before as_of: nothing is known of other products.
        catalogue = np.unique(purchases.product)
        purchases = attrs.evolve(purchases, product=np.searchsorted(catalogue, purchases.product))
        firms = Firmographics.from_tables(ctx)
        segment, segment_names = self._segment_codes(segments, ctx)
        stages = StageLog.from_tables(ctx)
        service = ctx.product_categories()[1][catalogue]
        signals = tuple(
            s
            for s in SIGNALS
            if (self.context or s not in CONTEXT_SIGNALS)
            and (s != "segment" or segments is not None)
        )
        settings: dict[str, Any] = {
            "created": firms.created,
            "industry": firms.industry,
            "n_industries": int(firms.industry_names.shape[0]),
            "segment": segment,
            "n_segments": int(segment_names.shape[0]),
            "is_service": np.asarray(service, dtype=bool),
            "item_model": self.item_model,
            "n_neighbours": int(self.n_neighbours),
            "l2": float(self.l2),
            "horizon": horizon,
            "n_windows": int(self.n_windows),
        }
        self._learn_blend(purchases, stages, settings, signals, t.value, horizon, firms, segment)
        snap = build_snapshot(purchases, stages, t=int(t.value), **settings)
        products = ctx["products"]
        projects = ctx["projects"]
        self.as_of_ = t
        self.horizon_ = pd.Timedelta(horizon, unit="ns")
        self.organisation_ids_ = pd.Index(ctx.org_ids, name="organisation_id")
        self.product_ids_ = products["product_id"].to_numpy(dtype=object)[catalogue]
        self.product_names_ = products["name"].astype(object).to_numpy(dtype=object)[catalogue]
        self.signals_ = signals
        self.industry_ = firms.industry
        self.industry_names_ = firms.industry_names
        self.segment_ = segment
        self.segment_names_ = segment_names
        used = np.unique(snap.stage_project)
        self.project_ids_ = projects["project_id"].to_numpy(dtype=object)[used]
        self.project_names_ = projects["name"].astype(object).to_numpy(dtype=object)[used]
        self._snapshot = attrs_evolve_projects(snap, used)
        return self

    def _segment_codes(
        self, segments: pd.Series | None, ctx: FeatureTables
    ) -> tuple[IntArray, npt.NDArray[np.object_]]:
        n = ctx.n_orgs
        if segments is None:
            return np.full(n, -1, dtype=np.int64), np.zeros(0, dtype=object)
        if not isinstance(segments, pd.Series):
            raise InvalidParameterError(
                f"The 'segments' parameter of {_OWNER}.fit must be a pandas Series of segment "
                f"labels indexed by organisation_id, such as Segmenter().labels_. Got "
                f"{type(segments).__name__} instead."
            )
        labels = segments.reindex(ctx.org_ids)
        if len(segments) and labels.isna().all() and segments.notna().any():
            raise InvalidParameterError(
                f"The 'segments' parameter of {_OWNER}.fit names no organisation known before "
                f"as_of: its index holds {segments.index[:5].tolist()}"
                f"{' ...' if len(segments) > 5 else ''}; pass labels indexed by organisation_id."
            )
        labels = labels.astype(object).where(labels.notna(), None)
        codes, names = categorical_codes(labels.map(lambda v: None if v is None else str(v)))
        return codes, names

    def _learn_blend(
        self,
        purchases: PurchaseLog,
        stages: StageLog,
        settings: dict[str, Any],
        signals: tuple[str, ...],
        t: int,
        horizon: int,
        firms: Firmographics,
        segment: IntArray,
    ) -> None:
        t0 = t - horizon
        n_items = settings["is_service"].shape[0]
        positives = 0
        x_rows: FloatArray | None = None
        y_rows: npt.NDArray[np.bool_] | None = None
        kind_rows: IntArray | None = None
        if len(purchases.before(t0)):
            snap0 = build_snapshot(purchases, stages, t=t0, **settings)
            orgs = np.flatnonzero(snap0.known).astype(np.int64)
            rng = np.random.default_rng(self.random_state)
            if orgs.shape[0] > self.max_train_organisations:
                orgs = np.sort(rng.choice(orgs, self.max_train_organisations, replace=False))
            window = purchases.between(t0, t)
            bought_next = np.zeros((firms.created.shape[0], n_items), dtype=bool)
            bought_next[window.org, window.product] = True
            x = features(snap0, orgs, industry=firms.industry, segment=segment, signals=signals)
            owned = snap0.owned[orgs].toarray() > 0
            label = bought_next[orgs] & ~owned
            keep = ~owned
            kind = np.broadcast_to(settings["is_service"].astype(np.int64), keep.shape)
            x_rows = x[keep]
            y_rows = label[keep]
            kind_rows = kind[keep]
            positives = int(y_rows.sum())
        self.n_train_positives_ = positives
        n_signals = len(signals)
        self.coef_ = np.tile([_DEFAULT_WEIGHTS[s] for s in signals], (2, 1)).astype(np.float64)
        self.intercept_ = np.zeros(2)
        self.feature_mean_ = np.zeros((2, n_signals))
        self.feature_scale_ = np.ones((2, n_signals))
        self.blend_ = "default"
        if positives < _MIN_POSITIVES or x_rows is None or y_rows is None or kind_rows is None:
            return
        # Goods and services follow different paths (industry habits vs project stages and
        # attachment to goods): one logistic regression each, both estimating P(buy next).
        for k in (0, 1):
            rows = kind_rows == k
            y_k = y_rows[rows]
            if y_k.sum() < _MIN_POSITIVES // 3 or y_k.all():
                continue
            mean = x_rows[rows].mean(axis=0)
            scale = x_rows[rows].std(axis=0)
            scale = np.where(scale > 0, scale, 1.0)
            lr = LogisticRegression(C=1.0, max_iter=1_000)
            lr.fit((x_rows[rows] - mean) / scale, y_k)
            self.coef_[k] = lr.coef_[0]
            self.intercept_[k] = lr.intercept_[0]
            self.feature_mean_[k] = mean
            self.feature_scale_[k] = scale
            self.blend_ = "learnt"

    # ------------------------------------------------------------------------------ recommend

    def recommend(
        self,
        organisation_ids: Any = None,
        k: int = 10,
        *,
        exclude_owned: bool = True,
        unknown: str = "raise",
        engine: Any = "pandas",
        npartitions: int | None = None,
    ) -> Any:
        """Return the `k` best products for each organisation, with the reason of each.

        Parameters
        ----------
        organisation_ids : str, list of str, PartitionedClientBase or None
            Organisations known before `as_of_`; None means every one of them. A partitioned
            base (``ClientBase.open_parquet``) means its organisations created before `as_of_`,
            scored partition by partition, each read where it is scored (`npartitions` unused).
        k : int, default=10
            Recommendations per organisation.
        exclude_owned : bool, default=True
            Leave out the products an organisation already bought before `as_of_`.
        unknown : {"raise", "skip"}, default="raise"
            What to do with ids not known before `as_of_`: raise :class:`UnknownIdError`, or leave
            them out with an :class:`UnknownIdWarning` and list them in
            ``result.attrs["unknown_ids"]``.
        engine : {"pandas", "dask"} or distributed.Client, default="pandas"
            Score on this machine or on a Dask cluster (same result). With a partitioned base
            and Dask, the result is a lazy Dask DataFrame (each partition ordered by
            organisation, then rank).
        npartitions : int, optional
            Partitions of the organisations for the Dask engine.

        Returns
        -------
        pandas.DataFrame or dask.dataframe.DataFrame
            Columns ``organisation_id``, ``rank`` (1 = best), ``product_id``, ``score`` (the
            blend, higher is better), ``reason`` (plain words); ordered by organisation as
            requested, then rank. ``attrs["unknown_ids"]`` lists the ids left out.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        InvalidParameterError
            For `k` < 1 or another invalid parameter.
        UnknownIdError
            For ids not known before `as_of_` (with ``unknown="raise"``).
        """
        require_fitted(self, "as_of_")
        k = check_k(k, f"{_OWNER}.recommend")
        if not isinstance(exclude_owned, (bool, np.bool_)):
            raise InvalidParameterError(
                f"The 'exclude_owned' parameter of {_OWNER}.recommend must be True or False. "
                f"Got {exclude_owned!r} instead."
            )
        if isinstance(organisation_ids, PartitionedClientBase):
            from b2bclient.recommend._dask import partitioned

            return partitioned(
                self,
                "recommend",
                organisation_ids,
                k,
                {"exclude_owned": bool(exclude_owned), "unknown": unknown},
                engine,
            )
        codes, unknown_ids = resolve_ids(
            organisation_ids,
            self.organisation_ids_,
            owner=f"{_OWNER}.recommend",
            unknown=unknown,
            as_of=self.as_of_,
        )
        kind, client = resolve_engine(engine, f"{_OWNER}.recommend")
        if npartitions is not None:
            check_positive_int(npartitions, "npartitions", f"{_OWNER}.recommend", example="8")
        if kind == "pandas":
            out = self.recommend_codes(codes, k, bool(exclude_owned))
        else:
            from b2bclient.recommend._dask import map_partitions

            out = map_partitions(
                self, "recommend_codes", codes, (k, bool(exclude_owned)), client, npartitions
            )
        out.attrs["unknown_ids"] = unknown_ids
        return out

    def recommend_codes(self, codes: IntArray, k: int, exclude_owned: bool) -> pd.DataFrame:
        """Return the recommendations of the organisations at positions `codes` (no checks)."""
        parts = [
            self._recommend_chunk(codes[i : i + _CHUNK], k, exclude_owned)
            for i in range(0, max(codes.shape[0], 1), _CHUNK)
        ]
        return pd.concat(parts, ignore_index=True)

    def score_codes(self, codes: IntArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Return the blended scores, the signals and their contributions for organisations `codes`.

        Shapes are (organisations, products) for the scores and (organisations, products,
        signals) for the other two.
        """
        snap = self._snapshot
        x = features(
            snap, codes, industry=self.industry_, segment=self.segment_, signals=self.signals_
        )
        kind = self._snapshot_kind()
        contrib = (x - self.feature_mean_[kind]) / self.feature_scale_[kind] * self.coef_[kind]
        return contrib.sum(axis=2) + self.intercept_[kind], x, contrib

    def _snapshot_kind(self) -> IntArray:
        """Return per product 1 for a service, 0 for a good."""
        kind = np.zeros(self.product_ids_.shape[0], dtype=np.int64)
        kind[self._snapshot.services] = 1
        return kind

    def _recommend_chunk(self, codes: IntArray, k: int, exclude_owned: bool) -> pd.DataFrame:
        snap = self._snapshot
        n = codes.shape[0]
        if n == 0:
            return pd.DataFrame(
                {
                    "organisation_id": pd.Series([], dtype=object),
                    "rank": pd.Series([], dtype=np.int64),
                    "product_id": pd.Series([], dtype=object),
                    "score": pd.Series([], dtype=np.float64),
                    "reason": pd.Series([], dtype=object),
                }
            )
        score, x, contrib = self.score_codes(codes)
        allowed = np.ones(score.shape, dtype=bool)
        if exclude_owned:
            allowed &= snap.owned[codes].toarray() == 0
        items, values = top_k(score, k, allowed)
        row, col = np.nonzero(items >= 0)
        item = items[row, col]
        reasons = explain(self, codes, row, item, x, contrib)
        return pd.DataFrame(
            {
                "organisation_id": self.organisation_ids_.to_numpy(dtype=object)[codes[row]],
                "rank": (col + 1).astype(np.int64),
                "product_id": self.product_ids_[item],
                "score": values[row, col],
                "reason": reasons,
            }
        )

    # ---------------------------------------------------------------------------- persistence

    def _b2b_get_state(self) -> dict[str, Any]:
        """Return the fitted state as arrays and plain values (sparse matrices as their arrays)."""
        if not hasattr(self, "as_of_"):  # not fitted: parameters only
            return {}
        state: dict[str, Any] = {
            name: getattr(self, name)
            for name in vars(self)
            if name.endswith("_") and not name.startswith("_")
        }
        snap = self._snapshot
        snapshot: dict[str, Any] = {}
        for field in attrs_fields(snap):
            value = getattr(snap, field)
            if field in ("owned",) or (field == "item_model" and not isinstance(value, np.ndarray)):
                snapshot[field] = {"csr": csr_to_state(value)}
            else:
                snapshot[field] = value
        state["snapshot"] = snapshot
        return state

    def _b2b_set_state(self, state: dict[str, Any]) -> None:
        """Rebuild the fitted model from :meth:`_b2b_get_state`."""
        state = dict(state)
        if not state:  # saved before fit
            return
        snapshot = dict(state.pop("snapshot"))
        for key, value in snapshot.items():
            if isinstance(value, dict) and set(value) == {"csr"}:
                snapshot[key] = csr_from_state(value["csr"])
        self._snapshot = Snapshot(**snapshot)
        for name, value in state.items():
            setattr(self, name, value)


def attrs_fields(snap: Snapshot) -> list[str]:
    """Return the field names of a snapshot."""
    return [f.name for f in attrs.fields(type(snap))]


def attrs_evolve_projects(snap: Snapshot, used: IntArray) -> Snapshot:
    """Return `snap` with its open-stage projects numbered into `used` (the projects kept)."""
    return attrs.evolve(snap, stage_project=np.searchsorted(used, snap.stage_project))
