"""WalletModel: each organisation's attainable yearly spend, its share of wallet and its whitespace."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator

from b2bclient._exceptions import (
    InvalidParameterError,
    InvalidTablesError,
    NotFittedError,
    UnknownIdError,
)
from b2bclient._time import to_timestamp
from b2bclient.base import ClientBase

__all__ = ["DEFAULT_INPUTS", "WalletModel"]

Floats = npt.NDArray[np.float64]
_OWNER = "WalletModel"


def _count(k: Any, method: str) -> int:
    """Return `k` as an int, or raise naming `method` for anything but a positive integer."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or int(k) < 1:
        raise InvalidParameterError(
            f"The 'k' parameter of {_OWNER}.{method} must be a positive integer such as 5. "
            f"Got {k!r} instead."
        )
    return int(k)


_SPEND = "purchasing__revenue_365d"
_TOTAL = "purchasing__revenue_total"
_AGE = "firmographics__age_days"
_BASES = ("history", "last_year")
_YEAR = pd.Timedelta(days=365.25)

#: The peer inputs of a WalletModel by default: size, industry and region. How much the
#: organisation already buys is the target, not an input: with the buying history as inputs the
#: upper quantile follows the organisation's own spend and the whitespace lands on the biggest
#: buyers instead of on those that buy a small share of their need (see docs/pipeline.md).
DEFAULT_INPUTS: tuple[str, ...] = (
    "firmographics__log_employees",
    "firmographics__industry",
    "firmographics__region",
)


class WalletModel(BaseEstimator):  # type: ignore[misc]
    """Estimate each organisation's attainable yearly spend (its wallet) from comparable peers.

    A linear quantile regression of log yearly spend on the peer inputs (by default size,
    industry and region, :data:`DEFAULT_INPUTS`; any feature columns, behaviour included, can be
    given), through the shared :func:`~b2bclient.features.preprocessor`. Its
    upper quantile (`quantile`, 0.7 by default) is what organisations like this one spend when
    they buy much of their need from us: the attainable wallet, as in share-of-wallet practice.

    The yearly spend regressed is the organisation's *typical* yearly spend: with
    ``spend_basis="history"`` (the default) the revenue won over its whole history divided by
    its age in years (at least one), which measures what it buys far better than a single
    year; with ``"last_year"`` the revenue of the 365 days before ``as_of``. The potential is
    never below the typical spend nor below last year's: ``potential = max(q, typical, spend)``,
    ``share_of_wallet = spend / potential``, ``whitespace = potential - spend``, where
    ``spend`` is always last year's revenue. The organisations known for at least `min_tenure`
    before ``as_of`` that bought in its last year are learnt from.

    Parameters
    ----------
    quantile : float, default 0.7
        The upper quantile taken as the attainable wallet, in (0.5, 1).
    inputs : sequence of str, default DEFAULT_INPUTS
        Feature columns of ``build_features`` describing the peers.
    alpha : float, default 1e-3
        L1 penalty of the quantile regression.
    spend_basis : {"history", "last_year"}, default "history"
        The typical yearly spend regressed on the peers: over the organisation's history, or
        the last year only.
    min_tenure : str or pandas.Timedelta, default "365D"
        Minimum age of an organisation at ``as_of`` to be learnt from.
    max_rows : int, default 20000
        The regression is fitted on a random sample of at most this many organisations (a
        linear program: its cost grows faster than the rows).
    random_state : int or None, default 0
        Seed of that sample.

    Attributes
    ----------
    as_of_ : pandas.Timestamp
        The cut-off of the fit.
    spend_, potential_, share_of_wallet_, whitespace_ : pandas.Series
        Per organisation known at ``as_of``, indexed by ``organisation_id``.
    typical_spend_ : pandas.Series
        The yearly spend the regression was fitted on (see `spend_basis`), per organisation.
    coefficients_ : pandas.Series
        The regression's coefficients on the model matrix (log spend per unit).
    preprocessor_ : FeaturePreprocessor
        The fitted preprocessor.
    regressor_ : sklearn.linear_model.QuantileRegressor
        The fitted regression.
    matrix_ : pandas.DataFrame
        The model matrix of every organisation (for :meth:`peers` and :meth:`drivers`).

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> base = make_client_base(150, seed=2)
    >>> m = WalletModel().fit(base, as_of="2025-01-01")
    >>> bool((m.potential_ >= m.spend_).all())
    True
    >>> m.ranking(5).columns.tolist()
    ['spend', 'potential', 'share_of_wallet', 'whitespace']
    """

    def __init__(
        self,
        *,
        quantile: float = 0.7,
        inputs: Sequence[str] = DEFAULT_INPUTS,
        alpha: float = 1e-3,
        spend_basis: str = "history",
        min_tenure: Any = "365D",
        max_rows: int = 20_000,
        random_state: int | None = 0,
    ) -> None:
        self.quantile = quantile
        self.inputs = inputs
        self.alpha = alpha
        self.spend_basis = spend_basis
        self.min_tenure = min_tenure
        self.max_rows = max_rows
        self.random_state = random_state

    def _check_params(self) -> list[str]:
        q = self.quantile
        if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0.5 < q < 1:
            raise InvalidParameterError(
                f"The 'quantile' parameter of {_OWNER} must be a number in (0.5, 1) such as 0.9. "
                f"Got {q!r} instead."
            )
        a = self.alpha
        if isinstance(a, bool) or not isinstance(a, (int, float)) or not a >= 0:
            raise InvalidParameterError(
                f"The 'alpha' parameter of {_OWNER} must be a non-negative number. Got {a!r}."
            )
        if isinstance(self.inputs, str) or not len(self.inputs):
            raise InvalidParameterError(
                f"The 'inputs' parameter of {_OWNER} must be a non-empty sequence of feature "
                f"names such as {list(DEFAULT_INPUTS[:3])}. Got {self.inputs!r} instead."
            )
        if self.spend_basis not in _BASES:
            raise InvalidParameterError(
                f"The 'spend_basis' parameter of {_OWNER} must be one of {list(_BASES)}. "
                f"Got {self.spend_basis!r} instead."
            )
        m = self.max_rows
        if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 10:
            raise InvalidParameterError(
                f"The 'max_rows' parameter of {_OWNER} must be an integer of at least 10. "
                f"Got {m!r} instead."
            )
        return list(self.inputs)

    def fit(self, base: ClientBase, as_of: Any = None) -> WalletModel:
        """Fit on the organisations of `base` as known before `as_of`.

        Parameters
        ----------
        base : ClientBase
            The client base.
        as_of : str or pandas.Timestamp
            The cut-off; required.

        Returns
        -------
        WalletModel
            self.

        Raises
        ------
        InvalidParameterError
            For a parameter outside its domain, or inputs that are not feature columns.
        InvalidTablesError
            When fewer than 10 organisations known for `min_tenure` bought in the last year.
        """
        from sklearn.linear_model import QuantileRegressor

        from b2bclient._time import to_duration
        from b2bclient.features import build_features, preprocessor

        inputs = self._check_params()
        if not isinstance(base, ClientBase):
            raise InvalidParameterError(
                f"{_OWNER}.fit needs a ClientBase. Got {type(base).__name__} instead."
            )
        as_of = to_timestamp(as_of, owner=_OWNER)
        tenure = to_duration(self.min_tenure, name="min_tenure", owner=_OWNER, allow_zero=True)
        from b2bclient._exceptions import RegistryError

        prefixes = sorted({c.split("__")[0] for c in [*inputs, _SPEND, "firmographics__"]})
        try:
            X = build_features(base, as_of=as_of, extractors=prefixes)
        except RegistryError as exc:
            raise InvalidParameterError(
                f"The 'inputs' parameter of {_OWNER} names columns of no registered extractor "
                f"({exc}); give columns of build_features such as {list(DEFAULT_INPUTS)}."
            ) from exc
        unknown = [c for c in inputs if c not in X.columns]
        if unknown:
            raise InvalidParameterError(
                f"The 'inputs' parameter of {_OWNER} names columns that build_features does not "
                f"produce: {unknown}."
            )
        spend = X[_SPEND].astype(np.float64)
        age = X[_AGE].astype(np.float64)
        typical = self._typical(X)
        eligible = (age >= tenure / pd.Timedelta(days=1)) & (spend > 0) & (typical > 0)
        if int(eligible.sum()) < 10:
            raise InvalidTablesError(
                f"'deals': {_OWNER} learns from organisations known for {tenure} that bought in "
                f"the year before as_of={as_of}; got {int(eligible.sum())}, at least 10 are "
                "needed. Choose a later as_of."
            )
        pre = preprocessor(kinds={c: "log" for c in inputs if c.endswith(("_total", "_365d"))})
        Z = pre.fit_transform(X[inputs])
        train = np.flatnonzero(eligible.to_numpy())
        if len(train) > self.max_rows:
            rng = np.random.default_rng(self.random_state)
            train = np.sort(rng.choice(train, size=int(self.max_rows), replace=False))
        reg = QuantileRegressor(
            quantile=float(self.quantile), alpha=float(self.alpha), solver="highs"
        )
        reg.fit(Z.iloc[train], np.log(typical.iloc[train].to_numpy()))
        q = np.exp(reg.predict(Z))
        potential = np.maximum(np.maximum(q, typical.to_numpy()), spend.fillna(0.0).to_numpy())
        index = X.index
        self.as_of_ = as_of
        self.preprocessor_ = pre
        self.regressor_ = reg
        self.matrix_ = Z
        self.coefficients_ = pd.Series(reg.coef_, index=Z.columns, name="coefficient")
        self.spend_ = pd.Series(spend.to_numpy(), index=index, name="spend")
        self.typical_spend_ = pd.Series(typical.to_numpy(), index=index, name="typical_spend")
        self.potential_ = pd.Series(potential, index=index, name="potential")
        self.share_of_wallet_ = pd.Series(
            np.divide(spend.to_numpy(), potential, out=np.zeros(len(index)), where=potential > 0),
            index=index,
            name="share_of_wallet",
        )
        self.whitespace_ = pd.Series(potential - spend.to_numpy(), index=index, name="whitespace")
        return self

    def _typical(self, X: pd.DataFrame) -> pd.Series:
        """Return the typical yearly spend of the rows of the feature frame `X`."""
        if self.spend_basis == "last_year":
            return X[_SPEND].astype(np.float64).fillna(0.0)
        # The mean yearly revenue over the organisation's life: a year of orders is a noisy
        # draw of what it buys, its whole history a much better one.
        years = np.maximum(X[_AGE].astype(np.float64).fillna(0.0).to_numpy(), 365.25) / 365.25
        return X[_TOTAL].astype(np.float64).fillna(0.0) / years

    def predict(self, X: pd.DataFrame) -> pd.Series:
        """Return the potential of the organisations described by the rows of `X`.

        ``max(q, typical, spend)`` as at fit, from the feature columns of ``build_features``
        (the inputs, ``purchasing__revenue_365d``, and with ``spend_basis="history"``
        ``purchasing__revenue_total`` and ``firmographics__age_days``) at any time: a portrait
        at a later date reads the organisation's features then.

        Parameters
        ----------
        X : pandas.DataFrame
            Feature rows, one per organisation.

        Returns
        -------
        pandas.Series
            The potential, indexed like `X`.

        Raises
        ------
        NotFittedError
            Before fit.
        InvalidParameterError
            When `X` lacks a column the potential reads.

        Examples
        --------
        >>> from b2bclient.datasets import make_client_base
        >>> from b2bclient.features import build_features
        >>> base = make_client_base(150, seed=2)
        >>> m = WalletModel().fit(base, as_of="2025-01-01")
        >>> X = build_features(base, "2025-01-01", extractors=["firmographics", "purchasing"])
        >>> bool((m.predict(X) == m.potential_.reindex(X.index)).all())
        True
        """
        self._check()
        needed = [*self.inputs, _SPEND]
        if self.spend_basis == "history":
            needed += [_TOTAL, _AGE]
        missing = [c for c in dict.fromkeys(needed) if c not in X.columns]
        if missing:
            raise InvalidParameterError(
                f"X passed to {_OWNER}.predict lacks the feature columns {missing}."
            )
        q = np.exp(
            np.asarray(
                self.regressor_.predict(self.preprocessor_.transform(X[list(self.inputs)])),
                dtype=np.float64,
            )
        )
        spend = X[_SPEND].astype(np.float64).fillna(0.0).to_numpy()
        potential = np.maximum(np.maximum(q, self._typical(X).to_numpy()), spend)
        return pd.Series(potential, index=X.index, name="potential")

    def _check(self) -> None:
        if not hasattr(self, "potential_"):
            raise NotFittedError(
                f"This {_OWNER} is not fitted yet: call fit(base, as_of=...) first."
            )

    def _ids(self, ids: Any, owner: str) -> pd.Index:
        values = pd.Index([ids] if isinstance(ids, str) else list(ids), dtype=object)
        unknown = values[~values.isin(self.potential_.index)]
        if len(unknown):
            raise UnknownIdError(
                f"{owner}: {len(unknown)} organisation_id(s) unknown to this model (fitted as of "
                f"{self.as_of_}): {unknown[:5].tolist()}."
            )
        return values

    def ranking(self, k: int | None = None, *, segments: pd.Series | None = None) -> pd.DataFrame:
        """Return the organisations by whitespace, largest first.

        Parameters
        ----------
        k : int, optional
            How many; all by default.
        segments : pandas.Series, optional
            Segment labels indexed by ``organisation_id``, added as a column.

        Returns
        -------
        pandas.DataFrame
            ``spend``, ``potential``, ``share_of_wallet``, ``whitespace`` (and ``segment``),
            indexed by ``organisation_id``.
        """
        self._check()
        frame = pd.concat(
            [self.spend_, self.potential_, self.share_of_wallet_, self.whitespace_], axis=1
        )
        if segments is not None:
            frame["segment"] = segments.reindex(frame.index)
        frame = frame.sort_values("whitespace", ascending=False, kind="stable")
        return frame if k is None else frame.head(_count(k, "ranking"))

    def drivers(self, ids: Any, *, k: int = 3) -> pd.DataFrame:
        """Return the `k` inputs that move each organisation's wallet most against the average.

        The effect is the coefficient times the organisation's value minus the mean over all
        organisations, on the model matrix, in log spend: +0.69 doubles the wallet.

        Returns
        -------
        pandas.DataFrame
            Long format: ``organisation_id``, ``rank``, ``feature``, ``effect``.
        """
        self._check()
        k = _count(k, "drivers")
        values = self._ids(ids, f"{_OWNER}.drivers")
        Z = self.matrix_.loc[values]
        effect = (Z - self.matrix_.mean()).to_numpy() * self.coefficients_.to_numpy()
        k = int(min(k, effect.shape[1]))
        top = np.argsort(-np.abs(effect), axis=1, kind="stable")[:, :k]
        rows = np.repeat(np.arange(len(values)), k)
        return pd.DataFrame(
            {
                "organisation_id": values.to_numpy()[rows],
                "rank": np.tile(np.arange(1, k + 1), len(values)),
                "feature": np.asarray(Z.columns, dtype=object)[top.ravel()],
                "effect": effect[rows, top.ravel()],
            }
        )

    def peers(self, organisation_id: str, *, k: int = 5) -> pd.DataFrame:
        """Return the `k` organisations closest to `organisation_id` on the peer inputs.

        Distance is Euclidean on the model matrix (standardised inputs, one-hot industry and
        region), so peers share size, industry, region and buying pattern as far as possible.

        Returns
        -------
        pandas.DataFrame
            ``distance``, ``spend``, ``potential``, ``share_of_wallet``, indexed by
            ``organisation_id``, nearest first.
        """
        self._check()
        k = _count(k, "peers")
        self._ids([organisation_id], f"{_OWNER}.peers")
        Z = self.matrix_.to_numpy(np.float64)
        me = self.matrix_.loc[organisation_id].to_numpy(np.float64)
        d = np.sqrt(((Z - me) ** 2).sum(axis=1))
        d[self.matrix_.index.get_loc(organisation_id)] = np.inf
        order = np.argsort(d, kind="stable")[: int(k)]
        ids = self.matrix_.index[order]
        return pd.DataFrame(
            {
                "distance": d[order],
                "spend": self.spend_.loc[ids].to_numpy(),
                "potential": self.potential_.loc[ids].to_numpy(),
                "share_of_wallet": self.share_of_wallet_.loc[ids].to_numpy(),
            },
            index=pd.Index(ids, name="organisation_id"),
        )
