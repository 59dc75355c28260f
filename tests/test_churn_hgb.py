"""ChurnModel(kind="hgb"): histogram boosting with the IPCW weights of "gbm", native NaN and categories."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from b2bclient._exceptions import InvalidParameterError
from b2bclient.churn import ChurnModel, Surv
from b2bclient.churn._boosting import ipcw
from b2bclient.persist import assert_same_state, roundtrip


@pytest.fixture(autouse=True, scope="module")
def one_openmp_thread() -> Iterator[None]:
    """Fit HistGradientBoosting on one OpenMP thread.

    Its threads wait for each other at every histogram; on a busy machine two threads are slower
    than one by an order of magnitude, so the tests stay fast with one.
    """
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


def make_data(n: int = 1500, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Churn driven by tickets, orders and the industry, with missing values in both kinds."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "tickets": rng.poisson(2.0, n).astype(float),
            "orders": rng.normal(5.0, 2.0, n),
            "industry": pd.Categorical(rng.choice(["build", "pharma", "trade"], n)),
            "region": rng.choice(["north", "south"], n).astype(object),
            "portal": rng.random(n) < 0.4,
        }
    )
    lp = (
        0.3 * X["tickets"]
        - 0.2 * X["orders"]
        + 0.8 * (X["industry"] == "trade")
        - 0.7 * X["portal"]
    )
    t = rng.weibull(1.3, n) * 150.0 * np.exp(-lp / 1.3)
    c = rng.uniform(50.0, 400.0, n)
    X.loc[rng.random(n) < 0.2, "orders"] = np.nan  # no order value before the first order
    X.loc[rng.random(n) < 0.1, "industry"] = np.nan
    X.loc[rng.random(n) < 0.1, "region"] = None
    return X, Surv.from_arrays(np.minimum(t, c).round(1) + 0.5, t <= c)


X, Y = make_data()


def test_hgb_fits_the_ipcw_classifier_of_gbm_on_native_columns() -> None:
    model = ChurnModel(kind="hgb", horizon=120, random_state=0).fit(X, Y)
    # The same censoring weights as "gbm", on the columns as they are: NaN kept, categories coded.
    keep, label, weight = ipcw(Y["duration"], Y["event"], 120.0)
    codes = {
        c: pd.Categorical(
            X[c].astype(object), categories=sorted(X[c].dropna().astype(str).unique())
        )
        for c in ["industry", "region"]
    }
    design = np.column_stack(
        [
            X["tickets"],
            X["orders"],
            np.where(X["industry"].isna(), np.nan, codes["industry"].codes),
            np.where(X["region"].isna(), np.nan, codes["region"].codes),
            X["portal"].astype(float),
        ]
    )
    reference = HistGradientBoostingClassifier(
        random_state=0,
        categorical_features=[False, False, True, True, True],
        max_depth=3,
        max_leaf_nodes=None,
    ).fit(design[keep], label, sample_weight=weight)
    expected = reference.predict_proba(design)[:, 1]
    np.testing.assert_array_equal(model.predict_churn_probability(X).to_numpy(), expected)
    assert list(model.feature_names_out_) == list(X.columns)
    assert model.classifier_.is_categorical_.tolist() == [False, False, True, True, True]


def test_hgb_ranks_as_well_as_gbm_on_imputed_data() -> None:
    train, test = np.arange(1000), np.arange(1000, len(X))
    hgb = ChurnModel(kind="hgb", horizon=120, random_state=0).fit(X.iloc[train], Y[train])
    imputed = X.assign(
        orders=X["orders"].fillna(X["orders"].median()),
        industry=X["industry"].cat.add_categories("unknown").fillna("unknown"),
        region=X["region"].fillna("unknown"),
    )
    gbm = ChurnModel(kind="gbm", horizon=120, random_state=0).fit(imputed.iloc[train], Y[train])
    c_hgb = hgb.score(X.iloc[test], Y[test])
    c_gbm = gbm.score(imputed.iloc[test], Y[test])
    assert c_hgb > 0.6 and c_hgb >= c_gbm - 0.02


def test_missing_values_are_refused_by_the_other_kinds_with_hgb_as_a_remedy() -> None:
    with pytest.raises(InvalidParameterError, match=r"'orders'.*kind='hgb'"):
        ChurnModel(kind="gbm", horizon=120).fit(X, Y)
    with pytest.raises(InvalidParameterError, match=r"'industry'.*kind='hgb'"):
        ChurnModel().fit(X.assign(orders=X["orders"].fillna(0.0)), Y)


def test_hgb_refuses_infinite_values_and_unseen_levels() -> None:
    model = ChurnModel(kind="hgb", horizon=120, random_state=0)
    with pytest.raises(InvalidParameterError, match=r"infinite values \(inf\).*\['orders'\]"):
        model.fit(X.assign(orders=X["orders"].replace(np.nan, np.inf)), Y)
    model.fit(X, Y)
    new = X.iloc[:2].assign(region=["east", None])
    with pytest.raises(InvalidParameterError, match=r"'region'.*\['east'\]"):
        model.predict(new)
    arrays = ChurnModel(kind="hgb", horizon=120, random_state=0)
    z = X[["tickets", "orders"]].to_numpy()
    assert np.isnan(z).any()
    assert np.isfinite(arrays.fit(z, Y).predict(z)).all()


def test_hgb_parameters() -> None:
    with pytest.raises(InvalidParameterError, match="must not set 'categorical_features'"):
        ChurnModel(kind="hgb", horizon=120, gbm_params={"categorical_features": [0]}).fit(X, Y)
    with pytest.raises(InvalidParameterError, match="HistGradientBoostingClassifier does not take"):
        ChurnModel(kind="hgb", horizon=120, gbm_params={"n_estimators": 10}).fit(X, Y)
    with pytest.raises(InvalidParameterError, match="invalid for HistGradientBoostingClassifier"):
        ChurnModel(kind="hgb", horizon=120, gbm_params={"max_iter": -1}).fit(X, Y)
    with pytest.raises(InvalidParameterError, match=r"required for kind='hgb'"):
        ChurnModel(kind="hgb").fit(X, Y)
    many = X.assign(region=[f"r{i % 300}" for i in range(len(X))])
    with pytest.raises(InvalidParameterError, match=r"at most max_bins=255 levels.*'region': 300"):
        ChurnModel(kind="hgb", horizon=120).fit(many, Y)
    model = ChurnModel(kind="hgb", horizon=120, gbm_params={"max_iter": 7}, random_state=0)
    classifier = model.fit(X, Y).classifier_
    assert classifier.n_iter_ == 7
    assert (classifier.max_depth, classifier.max_leaf_nodes) == (3, None)
    shape = {"max_leaf_nodes": 31}
    classifier = model.set_params(gbm_params=shape).fit(X, Y).classifier_
    assert (classifier.max_depth, classifier.max_leaf_nodes) == (None, 31)


@pytest.mark.parametrize("archive", [False, True], ids=["directory", "zip"])
def test_hgb_round_trips_bit_exactly(archive: bool) -> None:
    model = ChurnModel(kind="hgb", horizon=120, random_state=0).fit(X, Y)
    copy = roundtrip(model, archive=archive)
    assert_same_state(model, copy)
    for method in ("predict", "predict_churn_probability", "predict_median_lifetime"):
        a, b = getattr(model, method)(X), getattr(copy, method)(X)
        assert a.to_numpy().tobytes() == b.to_numpy().tobytes(), method
    a, b = model.predict_survival(X, [10, 60, 120]), copy.predict_survival(X, [10, 60, 120])
    assert a.to_numpy().tobytes() == b.to_numpy().tobytes()
