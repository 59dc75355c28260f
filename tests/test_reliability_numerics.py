"""Numerical robustness at extreme scales: no silent NaN or inf, failures as ConvergenceError.

Each case is a row of a table: amounts of 1e6 and 1e12, one deal in ten years, 100 000 deals on
one organisation, covariates of 1e12 and durations from minutes to decades. Features must keep the
NaN pattern of the ordinary scale (NaN means "does not exist", documented per column) and hold no
inf; money must scale exactly; models must give finite predictions equal to those at the
ordinary scale, warn (``ConvergenceWarning``) when the data barely identify a parameter, and raise
``ConvergenceError`` with a remedy when they cannot be fitted. No ``RuntimeWarning`` (overflow,
division by zero, invalid value) may escape from the library.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning

import b2bclient as bc
from b2bclient._exceptions import ConvergenceError
from b2bclient.btyd import BetaGeo, GammaGamma, ModifiedBetaGeo, ParetoNBD, rfm_summary
from b2bclient.btyd import _mle as mle
from b2bclient.churn import KINDS, ChurnModel, Surv
from b2bclient.datasets import make_client_base
from b2bclient.features import build_features, describe_features

AS_OF = "2024-01-01"
SCALES = [1e6, 1e12]
MONEY = {
    "deals": ["amount"],
    "deal_lines": ["amount"],
    "projects": ["expected_value"],
    "contracts": ["value"],
    "organisations": ["annual_revenue"],
}


@pytest.fixture(autouse=True)
def no_runtime_warning() -> Iterator[None]:
    """Turn every RuntimeWarning (overflow, invalid value, division by zero) into a failure."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        yield


def scaled(base: bc.ClientBase, factor: float) -> bc.ClientBase:
    tables = {name: frame.copy() for name, frame in base.tables.items()}
    for name, columns in MONEY.items():
        for column in columns:
            tables[name][column] = tables[name][column] * factor
    return bc.ClientBase(tables)


def one_org_base(deals_per_org: list[int], amounts: list[float]) -> bc.ClientBase:
    """Organisations created 2015-01-01, each with evenly spread won deals up to 2024-12-31."""
    orgs, deals = [], []
    for i, (n, amount) in enumerate(zip(deals_per_org, amounts, strict=True)):
        oid = f"O-{i}"
        orgs.append({"organisation_id": oid, "created_at": "2015-01-01"})
        times = pd.date_range("2015-01-01", "2024-12-31", periods=n) if n > 1 else ["2015-01-01"]
        deals.append(pd.DataFrame({"organisation_id": oid, "created_at": times, "amount": amount}))
    return bc.ClientBase.from_frames(pd.DataFrame(orgs), deals=pd.concat(deals, ignore_index=True))


@pytest.fixture(scope="module")
def base() -> bc.ClientBase:
    return make_client_base(n_organisations=300, seed=5)


@pytest.fixture(scope="module")
def reference(base: bc.ClientBase) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        summary = rfm_summary(base, as_of=AS_OF)
        return {
            "features": build_features(base, as_of=AS_OF),
            "summary": summary,
            "gamma_gamma": GammaGamma().fit(summary),
        }


# --------------------------------------------------------------------------------------------
# amounts of 1e6 and 1e12
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("factor", SCALES)
def test_features_at_huge_amounts(
    factor: float, base: bc.ClientBase, reference: dict[str, Any]
) -> None:
    expected = reference["features"]
    features = build_features(scaled(base, factor), as_of=AS_OF)
    numeric = features.select_dtypes("number")
    assert not np.isinf(numeric.to_numpy(dtype=float)).any()
    pd.testing.assert_frame_equal(features.isna(), expected.isna())
    # Every column is either money (scales with the amounts) or free of units (a count, a
    # share, a trend, a time): nothing may change in any other way.
    equivariant = []
    for column in numeric.columns:
        if "log" in column:
            continue
        new, old = features[column].to_numpy(float), expected[column].to_numpy(float)
        if np.allclose(new, old * factor, rtol=1e-9, equal_nan=True) and np.nanmax(old) > 0:
            equivariant.append(column)
        else:
            np.testing.assert_allclose(new, old, rtol=1e-9, err_msg=column)
    assert {"purchasing__revenue_total", "pipeline__open_value"} <= set(equivariant)


@pytest.mark.parametrize("factor", SCALES)
def test_rfm_and_spend_models_at_huge_amounts(
    factor: float, base: bc.ClientBase, reference: dict[str, Any]
) -> None:
    summary = rfm_summary(scaled(base, factor), as_of=AS_OF)
    expected = reference["summary"]
    pd.testing.assert_frame_equal(
        summary.drop(columns="monetary_value"), expected.drop(columns="monetary_value")
    )
    np.testing.assert_allclose(summary["monetary_value"], expected["monetary_value"] * factor)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # the ordinary scale fits cleanly
        gg = GammaGamma().fit(summary)
    ref = reference["gamma_gamma"]
    np.testing.assert_allclose(gg.params_[["p", "q"]], ref.params_[["p", "q"]], rtol=1e-4)
    np.testing.assert_allclose(gg.params_["v"], ref.params_["v"] * factor, rtol=1e-4)
    profit = gg.conditional_expected_average_profit(summary)
    assert np.isfinite(profit).all()
    np.testing.assert_allclose(
        profit, ref.conditional_expected_average_profit(expected) * factor, rtol=1e-4
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        bg = BetaGeo(penalizer=0.01).fit(summary)
    clv = gg.customer_lifetime_value(bg, summary, time=12)
    assert np.isfinite(clv).all() and (clv >= 0).all()
    assert clv.max() > factor  # the values are in the units of the amounts


# --------------------------------------------------------------------------------------------
# one deal in ten years; many deals on one organisation
# --------------------------------------------------------------------------------------------
SPARSE = {"deals": [1, 1, 1, 2, 1, 3, 1, 1], "amounts": [1e12, 5.0, 0.0, 1e3, 7.0, 2.0, 1.0, 9.0]}
DENSE = {"deals": [100_000, 3, 5, 1, 12], "amounts": [1e12, 1.0, 5e11, 0.0, 3e12]}


@pytest.fixture(scope="module")
def sparse() -> bc.ClientBase:
    return one_org_base(SPARSE["deals"], SPARSE["amounts"])


@pytest.fixture(scope="module")
def dense() -> bc.ClientBase:
    return one_org_base(DENSE["deals"], DENSE["amounts"])


@pytest.mark.parametrize("case", ["sparse", "dense"])
def test_features_of_one_deal_in_ten_years_and_of_100000_deals(
    case: str, request: pytest.FixtureRequest
) -> None:
    spec = SPARSE if case == "sparse" else DENSE
    base = request.getfixturevalue(case)
    features = build_features(base, as_of="2025-01-01")
    numeric = features.select_dtypes("number")
    assert not np.isinf(numeric.to_numpy(dtype=float)).any()
    np.testing.assert_array_equal(features["purchasing__orders_total"], spec["deals"])
    np.testing.assert_allclose(
        features["purchasing__revenue_total"],
        np.multiply(spec["deals"], spec["amounts"]),
        rtol=1e-12,
    )
    # NaN only where the column's description says when it is NaN (a gap between purchases
    # does not exist with one purchase; firmographics that the base lacks).
    described = describe_features().set_index("column")["description"]
    nan_columns = numeric.columns[numeric.isna().any()]
    assert len(nan_columns) > 0
    undocumented = [c for c in nan_columns if "NaN" not in described[c]]
    assert undocumented == []
    first = features["purchasing__first_purchase_days"]
    assert (first == (pd.Timestamp("2025-01-01") - pd.Timestamp("2015-01-01")).days).all()


@pytest.mark.parametrize("model", [BetaGeo, ModifiedBetaGeo, ParetoNBD])
@pytest.mark.parametrize("case", ["sparse", "dense"])
def test_transaction_models_at_the_extremes(
    case: str, model: type, request: pytest.FixtureRequest
) -> None:
    base = request.getfixturevalue(case)
    summary = rfm_summary(base, as_of="2025-01-01", freq="D")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        fitted = model().fit(summary)
    assert np.isfinite(fitted.params_).all()
    alive = fitted.p_alive(summary)
    assert alive.between(0.0, 1.0).all()
    expected = fitted.conditional_expected_purchases(30, summary)
    assert np.isfinite(expected).all() and (expected >= 0).all()
    if fitted.weakly_identified_:
        # Weak identification is never silent: it is warned about, naming the parameters.
        messages = " ".join(str(w.message) for w in caught)
        assert all(name in messages for name in fitted.weakly_identified_)


# --------------------------------------------------------------------------------------------
# churn: covariates of 1e12, durations from minutes to decades
# --------------------------------------------------------------------------------------------
# The kinds that predict churn within a fixed horizon (a classifier of "churned within it").
TREES = ("gbm", "hgb")


def churn_data(n: int = 200) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.poisson(3, n).astype(float)})
    t = rng.exponential(100 * np.exp(-0.5 * X["a"]))
    c = rng.uniform(20, 300, n)
    return X, Surv.from_arrays(np.minimum(t, c), t <= c)


@pytest.mark.parametrize("kind", KINDS)
def test_churn_models_at_covariate_scale_1e12(kind: str) -> None:
    X, y = churn_data()
    params = {"horizon": "90D"} if kind in TREES else {}
    ordinary = ChurnModel(kind=kind, **params).fit(X, y).predict_churn_probability(X, horizon=90)
    huge = X * 1e12
    model = ChurnModel(kind=kind, **params).fit(huge, y)
    probability = model.predict_churn_probability(huge, horizon=90)
    assert np.isfinite(probability).all()
    assert ((probability >= 0) & (probability <= 1)).all()
    if kind == "gbm":
        # Not scale-free: scikit-learn's trees work in float32, and at 1e12 the fitted trees
        # differ (probabilities move by up to 0.1 on 200 rows). Finite and in [0, 1] is what
        # holds; the parametric kinds standardise their inputs and agree exactly.
        return
    np.testing.assert_allclose(probability, ordinary, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("kind", [k for k in KINDS if k not in TREES])
@pytest.mark.parametrize("factor", [1e-3, 30.0])
def test_churn_models_at_extreme_durations(kind: str, factor: float) -> None:
    X, y = churn_data()
    stretched = Surv.from_arrays(y["duration"] * factor, y["event"])
    model = ChurnModel(kind=kind).fit(X, stretched)
    horizon = float(np.median(stretched["duration"]))
    probability = model.predict_churn_probability(X, horizon=horizon)
    assert np.isfinite(probability).all()
    assert ((probability >= 0) & (probability <= 1)).all()
    assert 0.05 < float(np.mean(probability)) < 0.95


# --------------------------------------------------------------------------------------------
# failures to converge
# --------------------------------------------------------------------------------------------
def test_collinear_churn_covariates_raise_convergence_error_with_a_remedy() -> None:
    X, y = churn_data()
    twin = X.assign(double=2.0 * X["a"] + 1.0)
    with pytest.raises(ConvergenceError, match=r"did not converge.*raise the penalizer"):
        ChurnModel(penalizer=0.0).fit(twin, y)


@pytest.mark.parametrize("model", [BetaGeo, ModifiedBetaGeo, ParetoNBD, GammaGamma])
def test_a_likelihood_without_finite_maximum_raises_convergence_error(
    model: type, sparse: bc.ClientBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the optimiser finds no finite value, the error names the model and two remedies."""
    summary = rfm_summary(sparse, as_of="2025-01-01", freq="W")
    minimize = mle.optimize.minimize

    def diverging(fun: Any, x0: Any, **kwargs: Any) -> Any:
        result = minimize(fun, x0, **kwargs)
        result.fun = np.inf
        return result

    monkeypatch.setattr(mle.optimize, "minimize", diverging)
    with pytest.raises(ConvergenceError, match=rf"{model.__name__} did not converge") as info:
        model().fit(summary)
    assert "time unit" in str(info.value) and "penalizer=" in str(info.value)
