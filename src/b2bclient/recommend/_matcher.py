"""PartnerMatcher: client organisations that could do business with each other, with reasons.

The training of its pair model lives in :mod:`b2bclient.recommend._matcher_fit`, the ranking of
a chunk of organisations' candidates in :mod:`b2bclient.recommend._matcher_rank`, the reasons in
:mod:`b2bclient.recommend._matcher_reasons`.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.ensemble import GradientBoostingClassifier

from b2bclient._exceptions import InvalidParameterError
from b2bclient._time import to_timestamp
from b2bclient.base import PartitionedClientBase
from b2bclient.features._build import prepare
from b2bclient.recommend._common import (
    check_k,
    check_positive_int,
    require_fitted,
    resolve_engine,
    resolve_ids,
)
from b2bclient.recommend._matcher_fit import LOG_COLUMNS, fit_classifier
from b2bclient.recommend._matcher_rank import match_chunk
from b2bclient.recommend._pairdata import PairData, pair_key
from b2bclient.recommend._pairs import (
    FEATURES,
    Copresence,
    Knowledge,
    Scores,
    block_tables,
    copresence,
    learn_knowledge,
    orient,
    pair_features,
    purchase_surprise,
)

__all__ = ["MATCH_COLUMNS", "MODELS", "PartnerMatcher", "rule_score"]

#: Columns of :meth:`PartnerMatcher.match`.
MATCH_COLUMNS = ("organisation_id", "rank", "partner_id", "score", "role", "reasons")
#: The pair models PartnerMatcher accepts.
MODELS = ("auto", "gbm", "rule")
_OWNER = "PartnerMatcher"
_CHUNK = 25_000

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def rule_score(x: FloatArray, complementary: npt.NDArray[np.bool_]) -> FloatArray:
    """Return the transparent rule: same region + 2 x same-site projects + 3 x same-day visits.

    Plus 1 when the industries are learnt complementary (`complementary` per pair).
    """
    f = {name: i for i, name in enumerate(FEATURES)}
    return np.asarray(
        x[:, f["same_region"]]
        + 2.0 * x[:, f["same_site_projects"]]
        + 3.0 * x[:, f["same_day_visits"]]
        + complementary.astype(np.float64),
        dtype=np.float64,
    )


class PartnerMatcher(BaseEstimator):  # type: ignore[misc]
    """Propose client organisations that could do business with each other directly.

    A pair is proposed when one could supply what the other buys (industry complementarity
    learnt from known ``supplier`` relationships, and the goods categories the buyer is known to
    buy), when both take part in related projects (same site, opened at close dates), when they
    hold site visits on the same days, and by region and size. Candidates come from sparse joins
    (same site, same day, complementary industries in the same region), never from all n x n
    pairs; pairs already linked by any relationship and pairs within one holding are left out.
    They are scored by a gradient-boosting pair model trained on a time split of the known
    supplier links, or by a transparent rule when there are too few of them.

    Parameters
    ----------
    model : {"auto", "gbm", "rule"}, default="auto"
        ``"gbm"`` learns the pair model (and raises without enough known links); ``"rule"``
        scores *same region + 2 x same-site projects + 3 x same-day site visits + 1 if the
        industries are learnt complementary*; ``"auto"`` learns when it can and falls back to the
        rule otherwise.
    window_days : float, default=45
        Projects opened at most this many days apart count as related.
    block_size : int, default=50
        Organisations offered from each complementary industry in the same region.
    min_links : int, default=30
        Known supplier links needed after the time split to learn the pair model.
    split : float, default=0.5
        Share of the known supplier links, the most recent, that the pair model is trained to
        find; the earlier ones teach it complementarity.
    negatives : int, default=30
        Look-alike candidates sampled as negatives per positive.
    shortlist : int, default=40
        Candidates per organisation, the best by a logistic regression on the same features,
        that the gradient-boosting model rescores (a cascade that keeps scoring fast).
    min_industry_links : int, default=3
        Known links an industry pair needs to count as complementary.
    min_lift : float, default=2.0
        How many times more links than chance an industry pair needs to count as complementary.
    gbm_params : dict, optional
        Keyword arguments of :class:`~sklearn.ensemble.GradientBoostingClassifier`.
    random_state : int, default=0
        Seed of the negative sampling and the classifier.

    Attributes
    ----------
    as_of_ : pandas.Timestamp
        The cut-off of the fit.
    organisation_ids_ : pandas.Index
        Organisations known before `as_of_`, sorted.
    model_ : {"gbm", "rule"}
        The pair model in use.
    classifier_ : GradientBoostingClassifier or None
        The learnt pair model (None for the rule).
    n_links_ : int
        Known supplier links between known organisations with an industry.
    n_train_links_ : int
        Links the pair model was trained to find (0 for the rule).
    complementary_ : pandas.DataFrame
        Industries x industries: True where the row industry is a learnt supplier of the column
        industry.

    Notes
    -----
    **Roles.** ``role`` is what the partner would be for the organisation: ``"supplier"`` when
    the partner's industry is a learnt supplier of the organisation's, ``"buyer"`` in the other
    direction, ``"co-participant"`` otherwise (related projects without a learnt supply
    relation).

    **Fallback.** With ``model="auto"`` and fewer than `min_links` supplier links after the
    split (for instance none at all), the rule scores the pairs (``model_ == "rule"``).

    **Point in time.** Nothing at or after `as_of` is read.

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> base = make_client_base(600, seed=2)
    >>> matcher = PartnerMatcher().fit(base, as_of="2025-01-01")
    >>> matches = matcher.match(["O-000010"], k=3)
    >>> matches.columns.tolist()
    ['organisation_id', 'rank', 'partner_id', 'score', 'role', 'reasons']
    """

    def __init__(
        self,
        *,
        model: str = "auto",
        window_days: float = 45.0,
        block_size: int = 50,
        min_links: int = 30,
        split: float = 0.5,
        negatives: int = 30,
        shortlist: int = 40,
        min_industry_links: int = 3,
        min_lift: float = 2.0,
        gbm_params: dict[str, Any] | None = None,
        random_state: int = 0,
    ) -> None:
        self.model = model
        self.window_days = window_days
        self.block_size = block_size
        self.min_links = min_links
        self.split = split
        self.negatives = negatives
        self.shortlist = shortlist
        self.min_industry_links = min_industry_links
        self.min_lift = min_lift
        self.gbm_params = gbm_params
        self.random_state = random_state

    # ------------------------------------------------------------------------------------ fit

    def _check_params(self) -> None:
        if self.model not in MODELS:
            raise InvalidParameterError(
                f"The 'model' parameter of {_OWNER} must be one of {list(MODELS)}. "
                f"Got {self.model!r} instead."
            )
        for name, example in (
            ("block_size", "50"),
            ("min_links", "30"),
            ("negatives", "30"),
            ("shortlist", "40"),
            ("min_industry_links", "3"),
        ):
            check_positive_int(getattr(self, name), name, _OWNER, example=example)
        for name, lo, hi, example in (
            ("window_days", 0.0, np.inf, "45"),
            ("split", 0.0, 1.0, "0.5"),
            ("min_lift", 0.0, np.inf, "2.0"),
        ):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not lo < float(value) < hi
            ):
                raise InvalidParameterError(
                    f"The {name!r} parameter of {_OWNER} must be a number in ({lo}, {hi}) such "
                    f"as {example}. Got {value!r} instead."
                )
        if self.gbm_params is not None and not isinstance(self.gbm_params, dict):
            raise InvalidParameterError(
                f"The 'gbm_params' parameter of {_OWNER} must be a dict of "
                f"GradientBoostingClassifier arguments or None. Got {self.gbm_params!r} "
                "instead."
            )

    def fit(self, base: Any, as_of: Any) -> PartnerMatcher:
        """Learn from the tables before `as_of`.

        Parameters
        ----------
        base : ClientBase
            The client base; rows at or after `as_of` are ignored.
        as_of : str or pandas.Timestamp
            The cut-off; required.

        Returns
        -------
        PartnerMatcher
            The fitted matcher.

        Raises
        ------
        InvalidParameterError
            For an invalid parameter, or ``model="gbm"`` with fewer than `min_links` known
            supplier links to train on.
        """
        self._check_params()
        t = to_timestamp(as_of, name="as_of", owner=f"{_OWNER}.fit")
        ctx = prepare(base, t, f"{_OWNER}.fit")
        if ctx.n_orgs == 0:
            raise InvalidParameterError(
                f"{_OWNER}.fit: no organisation was created before as_of={t}, so there is "
                "nobody to match; choose a later as_of."
            )
        data = PairData.from_tables(ctx)
        surprise = purchase_surprise(data)
        co = copresence(data, float(self.window_days))
        usable = (data.industry[data.supplier_source] >= 0) & (
            data.industry[data.supplier_target] >= 0
        )
        self.n_links_ = int(usable.sum())
        self.classifier_: GradientBoostingClassifier | None = None
        self.n_train_links_ = 0
        self.model_ = "rule"
        self.prescore_coef_ = np.zeros(len(FEATURES))
        self.prescore_mean_ = np.zeros(len(FEATURES))
        self.prescore_scale_ = np.ones(len(FEATURES))
        if self.model != "rule":
            fit_classifier(self, data, surprise, co, usable)
        knowledge = learn_knowledge(data, surprise, usable)
        scores = Scores.compute(data, knowledge, surprise, usable)
        groups, members = self._blocks(data, knowledge, scores)
        names = [str(x) for x in data.industry_names]
        self.as_of_ = t
        self.organisation_ids_ = pd.Index(ctx.org_ids, name="organisation_id")
        self.complementary_ = pd.DataFrame(
            knowledge.complementary(int(self.min_industry_links), float(self.min_lift)),
            index=pd.Index(names, name="supplier"),
            columns=pd.Index(names, name="buyer"),
        )
        self._data = data
        self._surprise = surprise
        self._co = co
        self._knowledge = knowledge
        self._scores = scores
        self._block_groups = groups
        self._block_members = members
        return self

    def _blocks(
        self, data: PairData, knowledge: Knowledge, scores: Scores
    ) -> tuple[IntArray, IntArray]:
        return block_tables(
            data,
            knowledge,
            scores,
            size=int(self.block_size),
            min_links=int(self.min_industry_links),
            min_lift=float(self.min_lift),
        )

    # ---------------------------------------------------------------------------------- match

    def match(
        self,
        organisation_ids: Any = None,
        k: int = 10,
        *,
        unknown: str = "raise",
        engine: Any = "pandas",
        npartitions: int | None = None,
    ) -> Any:
        """Return the `k` best partners of each organisation, with their role and reasons.

        Parameters
        ----------
        organisation_ids : str, list of str, PartitionedClientBase or None
            Organisations known before `as_of_`; None means every one of them. A partitioned
            base (``ClientBase.open_parquet``) means its organisations created before `as_of_`,
            scored partition by partition, each read where it is scored (`npartitions` unused).
        k : int, default=10
            Partners per organisation.
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
            Columns ``organisation_id``, ``rank`` (1 = best), ``partner_id``, ``score`` (higher is
            better), ``role`` (what the partner would be: ``supplier``, ``buyer`` or
            ``co-participant``) and ``reasons`` (plain words, separated by ``"; "``). An
            organisation with fewer than `k` candidates gets fewer rows.

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
        k = check_k(k, f"{_OWNER}.match")
        if isinstance(organisation_ids, PartitionedClientBase):
            from b2bclient.recommend._dask import partitioned

            return partitioned(self, "match", organisation_ids, k, {"unknown": unknown}, engine)
        codes, unknown_ids = resolve_ids(
            organisation_ids,
            self.organisation_ids_,
            owner=f"{_OWNER}.match",
            unknown=unknown,
            as_of=self.as_of_,
        )
        kind, client = resolve_engine(engine, f"{_OWNER}.match")
        if npartitions is not None:
            check_positive_int(npartitions, "npartitions", f"{_OWNER}.match", example="8")
        if kind == "pandas":
            out = self.match_codes(codes, k)
        else:
            from b2bclient.recommend._dask import map_partitions

            out = map_partitions(self, "match_codes", codes, (k,), client, npartitions)
        out.attrs["unknown_ids"] = unknown_ids
        return out

    def match_codes(self, codes: IntArray, k: int) -> pd.DataFrame:
        """Return the matches of the organisations at positions `codes` (no checks)."""
        parts = [
            match_chunk(self, codes[i : i + _CHUNK], k)
            for i in range(0, max(codes.shape[0], 1), _CHUNK)
        ]
        return pd.concat(parts, ignore_index=True)

    def _features(
        self, keys: IntArray, *, close: bool = True
    ) -> tuple[IntArray, IntArray, FloatArray]:
        data = self._data
        s, b = orient(self._knowledge, data, keys // data.n, keys % data.n)
        x = pair_features(
            data,
            self._knowledge,
            self._co,
            self._scores,
            s,
            b,
            window_days=float(self.window_days),
            close=close,
        )
        return s, b, x

    def _rule(self, s: IntArray, b: IntArray, x: FloatArray) -> FloatArray:
        comp = self.complementary_.to_numpy()
        i_s, i_b = self._data.industry[s], self._data.industry[b]
        ok = (i_s >= 0) & (i_b >= 0)
        return rule_score(x, ok & comp[np.maximum(i_s, 0), np.maximum(i_b, 0)])

    def score_pairs(self, a: IntArray, b: IntArray) -> FloatArray:
        """Return the final score of the pairs (a, b) of organisation codes (order-free).

        Examples
        --------
        >>> from b2bclient.datasets import make_client_base
        >>> m = PartnerMatcher(model="rule").fit(make_client_base(300, seed=0), "2025-01-01")
        >>> m.score_pairs(np.array([0]), np.array([1])).shape
        (1,)
        """
        require_fitted(self, "as_of_")
        keys = pair_key(np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64), self._data.n)
        s, bb, x = self._features(keys)
        if self.classifier_ is None:
            return self._rule(s, bb, x)
        return np.asarray(self.classifier_.predict_proba(x)[:, 1], dtype=np.float64)

    def _prescore(self, x: FloatArray) -> FloatArray:
        """Return the linear shortlist score of feature rows `x`."""
        z = np.zeros(x.shape[0])
        logged = set(LOG_COLUMNS)
        for j in range(x.shape[1]):
            coef = self.prescore_coef_[j] / self.prescore_scale_[j]
            if coef == 0:
                continue
            col = np.log1p(np.maximum(x[:, j], 0.0)) if j in logged else x[:, j]
            z += coef * (col - self.prescore_mean_[j])
        return z

    # ---------------------------------------------------------------------------- persistence

    def _b2b_get_state(self) -> dict[str, Any]:
        """Return the fitted state as arrays, frames and the nested classifier."""
        if not hasattr(self, "as_of_"):  # not fitted: parameters only
            return {}
        state: dict[str, Any] = {
            name: getattr(self, name)
            for name in vars(self)
            if name.endswith("_") and not name.startswith("_")
        }
        state["data"] = self._data.to_state()
        for name, record in (
            ("co", self._co),
            ("knowledge", self._knowledge),
            ("scores", self._scores),
        ):
            state[name] = {f.name: getattr(record, f.name) for f in attrs.fields(type(record))}
        state["surprise"] = self._surprise
        state["block_groups"] = self._block_groups
        state["block_members"] = self._block_members
        return state

    def _b2b_set_state(self, state: dict[str, Any]) -> None:
        """Rebuild the fitted matcher from :meth:`_b2b_get_state`."""
        state = dict(state)
        if not state:  # saved before fit
            return
        self._data = PairData(**state.pop("data"))
        self._co = Copresence(**state.pop("co"))
        self._knowledge = Knowledge(**state.pop("knowledge"))
        self._scores = Scores(**state.pop("scores"))
        for name in ("surprise", "block_groups", "block_members"):
            setattr(self, f"_{name}", state.pop(name))
        for name, value in state.items():
            setattr(self, name, value)
