"""Vectorised simulation of RFM summaries from the transaction models' generative processes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient.btyd._base import TransactionModel
from b2bclient.btyd._bgbb import BetaGeoBetaBinom
from b2bclient.btyd._mle import Theta
from b2bclient.btyd._validation import FloatArray, covariate_matrix

__all__ = ["simulate_monetary", "simulate_summary"]


def simulate_summary(
    model: type[TransactionModel] | TransactionModel | type[BetaGeoBetaBinom] | BetaGeoBetaBinom,
    T: Any,
    *,
    n_customers: int | None = None,
    params: Mapping[str, float] | pd.Series | None = None,
    covariates: Any = None,
    random_state: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Draw an RFM summary from the generative process of a transaction model.

    Each customer's latent rates are drawn from the model's mixing distributions, then the
    purchases in ``(0, T]`` after a first purchase at time 0, in continuous time. Every step is
    a vectorised draw, so a million customers take about a second. For
    :class:`BetaGeoBetaBinom` the purchases are drawn at ``T`` discrete opportunities, and the
    summary has ``n_periods`` instead of ``T``.

    Parameters
    ----------
    model : BetaGeo, ModifiedBetaGeo, ParetoNBD or BetaGeoBetaBinom (class or instance)
        The model whose process to simulate. A fitted instance supplies its ``params_``.
    T : float or array-like
        Observation length after the first purchase, one value for all customers or one per
        customer; for BetaGeoBetaBinom the number of opportunities (whole numbers).
    n_customers : int, optional
        Number of customers; required when `T` is a single number.
    params : mapping of str to float, optional
        Parameters by name (``r, alpha, a, b`` or ``r, alpha, s, beta``); for BetaGeo with
        covariates also ``gamma1[<name>]``, ``gamma2[<name>]``, ``gamma3[<name>]`` (missing
        coefficients are 0). Defaults to the fitted instance's ``params_``.
    covariates : pandas.DataFrame or array-like, optional
        Covariates of each customer (BetaGeo only); they are copied into the result.
    random_state : int or numpy.random.Generator, optional
        Seed or generator, for reproducible draws.

    Returns
    -------
    pandas.DataFrame
        ``frequency`` (int64), ``recency`` and ``T`` (float64), plus the covariate columns; for
        BetaGeoBetaBinom ``frequency``, ``recency`` and ``n_periods`` (int64).

    Raises
    ------
    InvalidParameterError
        If the model, the parameters, `T` or the covariates are invalid.

    Examples
    --------
    >>> import b2bclient.btyd as btyd
    >>> sample = btyd.simulate_summary(btyd.BetaGeo, T=52.0, n_customers=3,
    ...     params={"r": 0.5, "alpha": 5.0, "a": 1.0, "b": 4.0}, random_state=0)
    >>> list(sample.columns)
    ['frequency', 'recency', 'T']
    """
    owner = "simulate_summary"
    instance: Any = model() if isinstance(model, type) else model
    if not isinstance(instance, (TransactionModel, BetaGeoBetaBinom)):
        raise InvalidParameterError(
            f"The 'model' parameter of {owner} must be BetaGeo, ModifiedBetaGeo, ParetoNBD or "
            f"BetaGeoBetaBinom. Got {model!r} instead."
        )
    discrete = isinstance(instance, BetaGeoBetaBinom)
    if params is None:
        if not hasattr(instance, "params_"):
            raise InvalidParameterError(
                f"{owner} needs params= (for example {{'r': 0.25, 'alpha': 4.0, ...}}) or a "
                f"fitted model."
            )
        params = instance.params_
    values = dict(params)
    names = instance._names
    missing = [n for n in names if n not in values]
    if missing:
        raise InvalidParameterError(
            f"The params given to {owner} lack {missing}; {type(instance).__name__} needs "
            f"{list(names)}. Got {sorted(values)}."
        )
    given = {n: values[n] for n in names}
    try:
        base = [float(v) for v in given.values()]
    except (TypeError, ValueError):
        base = []
    if not base or not all(np.isfinite(v) and v > 0 for v in base):
        raise InvalidParameterError(
            f"The params given to {owner} must be positive numbers. Got {given}."
        )
    t_message = (
        f"The 'T' parameter of {owner} must be non-negative finite observation lengths. "
        f"Got {T!r} instead."
    )
    try:
        t_arr = np.asarray(T, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(t_message) from exc
    if n_customers is not None and (
        isinstance(n_customers, bool)
        or not isinstance(n_customers, (int, np.integer))
        or n_customers < 1
    ):
        raise InvalidParameterError(
            f"The 'n_customers' parameter of {owner} must be a positive integer. Got "
            f"{n_customers!r} instead."
        )
    if t_arr.ndim == 0:
        if n_customers is None:
            raise InvalidParameterError(
                f"{owner} needs n_customers (a positive integer) when T is a single number."
            )
        t_arr = np.full(int(n_customers), float(t_arr))
    elif n_customers is not None and n_customers != t_arr.shape[0]:
        raise InvalidParameterError(
            f"{owner} got {t_arr.shape[0]} values of T but n_customers={n_customers}."
        )
    if t_arr.ndim != 1 or not np.all(np.isfinite(t_arr)) or np.any(t_arr < 0):
        raise InvalidParameterError(t_message)
    if discrete:
        if np.any(t_arr != np.round(t_arr)):
            raise InvalidParameterError(
                f"For BetaGeoBetaBinom the 'T' parameter of {owner} is the number of purchase "
                f"opportunities and must be whole numbers. Got {T!r} instead."
            )
        if covariates is not None:
            raise InvalidParameterError(
                "BetaGeoBetaBinom does not take covariates; simulate BetaGeo instead."
            )
        x, tx = instance._simulate(list(base), t_arr, np.random.default_rng(random_state))
        return pd.DataFrame(
            {
                "frequency": x.astype(np.int64),
                "recency": tx.astype(np.int64),
                "n_periods": t_arr.astype(np.int64),
            }
        )
    theta: Theta = list(base)
    extra: pd.DataFrame | None = None
    if covariates is not None:
        links = instance._active_links()
        if not links:
            raise InvalidParameterError(
                f"{type(instance).__name__} does not take covariates; simulate BetaGeo instead."
            )
        matrix, cov_names = covariate_matrix(covariates, None, t_arr.shape[0], None, owner=owner)
        for param, block, sign in links:
            gamma = np.array([float(values.get(f"{block}[{c}]", 0.0)) for c in cov_names])
            i = names.index(param)
            theta[i] = base[i] * np.exp(sign * (matrix @ gamma))
        extra = pd.DataFrame(matrix, columns=cov_names)
    rng = np.random.default_rng(random_state)
    x, tx = instance._simulate(theta, t_arr, rng)
    out = pd.DataFrame({"frequency": x.astype(np.int64), "recency": tx, "T": t_arr})
    if extra is not None:
        out = pd.concat([out, extra], axis=1)
    return out


def simulate_monetary(
    params: Mapping[str, float] | pd.Series,
    frequency: Any,
    *,
    random_state: int | np.random.Generator | None = None,
) -> FloatArray:
    """Draw each customer's average spend over `frequency` transactions under Gamma-Gamma.

    Returns 0 for customers with no transactions.
    """
    p, q, v = (float(params[k]) for k in ("p", "q", "v"))
    x = np.asarray(frequency, dtype=np.float64)
    rng = np.random.default_rng(random_state)
    nu = rng.gamma(q, 1.0 / v, size=x.shape)
    has = x > 0
    total = rng.gamma(np.where(has, p * x, 1.0), 1.0 / nu)
    out: FloatArray = np.where(has, total / np.where(has, x, 1.0), 0.0)
    return out
