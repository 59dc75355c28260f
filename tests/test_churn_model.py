"""ChurnModel: agreement with lifelines, encoding, the gbm kind, errors, explain, persistence."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import lifelines
import numpy as np
import pandas as pd
import pytest
from lifelines.statistics import proportional_hazard_test
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.model_selection import cross_val_score
from threadpoolctl import threadpool_limits

from b2bclient._exceptions import ConvergenceError, InvalidParameterError, NotFittedError
from b2bclient.churn import KINDS, ChurnModel, Surv
from b2bclient.persist import assert_same_state, roundtrip


@pytest.fixture(autouse=True, scope="module")
def one_openmp_thread() -> Iterator[None]:
    """Fit HistGradientBoosting on one OpenMP thread.

    Its threads wait for each other at every histogram; on a busy machine two threads are slower
    than one by an order of magnitude, so the tests stay fast with one.
    """
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


def make_data(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
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
        + 0.5 * (X["industry"] == "trade")
        - 0.7 * X["portal"]
    )
    t = rng.weibull(1.3, n) * 150.0 * np.exp(-lp / 1.3)
    c = rng.uniform(50.0, 400.0, n)
    return X, Surv.from_arrays(np.minimum(t, c).round(1) + 0.5, t <= c)


X, Y = make_data()
NAMES = ["tickets", "orders", "industry_pharma", "industry_trade", "region_south", "portal_True"]


def lifelines_frame(model: ChurnModel, X: pd.DataFrame, y: np.ndarray) -> pd.DataFrame:
    # ChurnModel one-hot encodes bool columns too (False is the reference level).
    spelled = X.assign(portal=X["portal"].map({True: "True", False: "False"}))
    design = pd.get_dummies(spelled, drop_first=True, dtype=float)[list(model.feature_names_out_)]
    return design.assign(T=y["duration"], E=y["event"])


def test_cox_matches_lifelines() -> None:
    model = ChurnModel(kind="cox", penalizer=0.05).fit(X, Y)
    df = lifelines_frame(model, X, Y)
    ref = lifelines.CoxPHFitter(penalizer=0.05).fit(df, "T", "E")
    assert list(model.feature_names_out_) == NAMES
    np.testing.assert_allclose(model.coef_, ref.params_.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(model.coef_se_, ref.standard_errors_.to_numpy(), rtol=1e-10)
    times = ref.baseline_cumulative_hazard_.index.to_numpy()[[3, 40, 200]]
    expected = ref.predict_survival_function(df.iloc[:20, :6], times=times).T.to_numpy()
    got = model.predict_survival(X.iloc[:20], times).to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    np.testing.assert_allclose(
        model.predict(X), ref.predict_log_partial_hazard(df.iloc[:, :6]).to_numpy(), rtol=1e-10
    )
    np.testing.assert_allclose(
        model.predict_median_lifetime(X.iloc[:50]), ref.predict_median(df.iloc[:50, :6])
    )
    summary = ref.summary
    table = model.explain()
    np.testing.assert_allclose(table["hazard_ratio"], summary["exp(coef)"], rtol=1e-10)
    np.testing.assert_allclose(
        table["hazard_ratio_lower"], summary["exp(coef) lower 95%"], rtol=1e-10
    )
    np.testing.assert_allclose(table["p_value"], summary["p"], rtol=1e-8)


@pytest.mark.parametrize(
    ("kind", "fitter"),
    [
        ("weibull_aft", lifelines.WeibullAFTFitter),
        ("lognormal_aft", lifelines.LogNormalAFTFitter),
        ("loglogistic_aft", lifelines.LogLogisticAFTFitter),
    ],
)
def test_aft_kinds_match_lifelines(kind: str, fitter: type) -> None:
    model = ChurnModel(kind=kind, penalizer=0.01).fit(X, Y)
    df = lifelines_frame(model, X, Y)
    ref = fitter(penalizer=0.01).fit(df, "T", "E")
    times = np.array([10.0, 60.0, 200.0])
    expected = ref.predict_survival_function(df.iloc[:15, :6], times=times).T.to_numpy()
    np.testing.assert_allclose(model.predict_survival(X.iloc[:15], times), expected, rtol=1e-9)
    np.testing.assert_allclose(
        model.predict_median_lifetime(X.iloc[:15]), ref.predict_median(df.iloc[:15, :6]), rtol=1e-9
    )
    table = model.explain()
    assert list(table.columns[:5]) == [
        "coef",
        "se",
        "time_ratio",
        "time_ratio_lower",
        "time_ratio_upper",
    ]
    # A higher risk score means a shorter expected lifetime.
    order = np.argsort(model.predict(X))
    assert np.all(np.diff(model.predict_median_lifetime(X)[order]) <= 1e-9)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_predicts_consistently(kind: str) -> None:
    model = ChurnModel(kind=kind, horizon="120D", random_state=0).fit(X, Y)
    p = model.predict_churn_probability(X)
    surv = model.predict_survival(X, [0, 30, "60D", 120])
    assert surv.shape == (len(X), 4)
    assert surv.index.equals(X.index)
    np.testing.assert_allclose(surv[120.0], 1.0 - p, rtol=1e-12)
    np.testing.assert_allclose(surv[0.0], 1.0)
    assert (np.diff(surv.to_numpy(), axis=1) <= 1e-12).all()
    assert model.score(X, Y) > 0.6


def test_score_is_harrells_concordance() -> None:
    model = ChurnModel().fit(X, Y)
    expected = lifelines.utils.concordance_index(Y["duration"], -model.predict(X), Y["event"])
    assert model.score(X, Y) == pytest.approx(expected)


def test_scikit_learn_input_checks_raise_our_error() -> None:
    model = ChurnModel().fit(X[["tickets", "orders"]].to_numpy(), Y)
    with pytest.raises(InvalidParameterError, match="X has 3 features, but ChurnModel is"):
        model.predict(np.ones((4, 3)))
    with pytest.raises(InvalidParameterError, match=r"X passed to ChurnModel\.fit"):
        ChurnModel().fit(np.array([["a", "b"]] * len(Y)), Y)


def test_score_without_a_comparable_pair_raises() -> None:
    model = ChurnModel().fit(X, Y)
    censored = Surv.from_arrays(Y["duration"][:3], [False, False, False])
    with pytest.raises(InvalidParameterError, match="every row is censored"):
        model.score(X.iloc[:3], censored)
    # The only churn comes last, so no row outlasts it.
    late = Surv.from_arrays([10.0, 20.0, 30.0], [False, False, True])
    with pytest.raises(InvalidParameterError, match="no comparable pair"):
        model.score(X.iloc[:3], late)


def test_cross_validation_splits_the_surv_target() -> None:
    scores = cross_val_score(ChurnModel(), X, Y, cv=3)
    assert scores.shape == (3,) and (scores > 0.6).all()


def test_gbm_uses_ipcw_and_refuses_other_horizons() -> None:
    model = ChurnModel(kind="gbm", horizon=100, random_state=0).fit(X, Y)
    dur, ev = Y["duration"], Y["event"]
    # Rows censored before the horizon have an unknown label and are left out.
    n_unknown = int(((~ev) & (dur <= 100)).sum())
    assert n_unknown > 0
    assert model.classifier_.n_features_in_ == len(NAMES)
    km = lifelines.KaplanMeierFitter().fit(dur, ev)
    observed = 1.0 - float(km.survival_function_at_times(100.0).iloc[0])
    assert model.predict_churn_probability(X).mean() == pytest.approx(observed, abs=0.05)
    with pytest.raises(InvalidParameterError, match=r"must be 100 days.*Refit"):
        model.predict_churn_probability(X, horizon="180D")
    with pytest.raises(InvalidParameterError, match="must not exceed the horizon"):
        model.predict_survival(X, [50, 150])
    with pytest.raises(InvalidParameterError, match=r"no coefficients.*permutation_importance"):
        model.explain()
    median = model.predict_median_lifetime(X)
    assert np.isinf(median).any() and (median[np.isfinite(median)] <= 100).all()


def test_gbm_needs_a_horizon() -> None:
    with pytest.raises(
        InvalidParameterError, match=r"'horizon' parameter.*required for kind='gbm'"
    ):
        ChurnModel(kind="gbm").fit(X, Y)


def test_numpy_input_and_feature_names() -> None:
    model = ChurnModel().fit(X[["tickets", "orders"]].to_numpy(), Y)
    assert list(model.feature_names_out_) == ["x0", "x1"]
    assert not hasattr(model, "feature_names_in_")
    framed = ChurnModel().fit(X, Y)
    assert list(framed.feature_names_in_) == list(X.columns)
    with pytest.raises(InvalidParameterError, match=r"needs a DataFrame.*categorical columns"):
        framed.predict(X[["tickets", "orders"]].to_numpy())


def test_unseen_levels_and_missing_values_are_named() -> None:
    model = ChurnModel().fit(X, Y)
    new = X.iloc[:3].copy()
    new["region"] = ["north", "east", "west"]
    with pytest.raises(InvalidParameterError, match=r"'region'.*\['east', 'west'\]"):
        model.predict(new)
    holes = X.copy()
    holes.loc[[1, 5], "orders"] = np.nan
    with pytest.raises(InvalidParameterError, match=r"'orders' \(2 rows\).*SimpleImputer"):
        ChurnModel().fit(holes, Y)
    arr = X[["tickets", "orders"]].to_numpy()
    arr[0, 1] = np.inf
    with pytest.raises(
        InvalidParameterError, match=r"infinite values \(inf\) in the columns \['x1'\]"
    ):
        ChurnModel().fit(arr, Y)


@pytest.mark.parametrize(
    ("model", "y", "match"),
    [
        (
            ChurnModel(),
            Surv.from_arrays(Y["duration"], np.zeros(len(Y), bool)),
            "All 400 rows of y are censored",
        ),
        (
            ChurnModel(kind="weibull_aft"),
            Surv.from_arrays(np.r_[0.0, Y["duration"][1:]], Y["event"]),
            "strictly positive durations",
        ),
        (ChurnModel(kind="gbm", horizon="5000D"), Y, "beyond the longest duration"),
        (ChurnModel(kind="magic"), Y, "'kind' parameter of ChurnModel must be one of"),
        (ChurnModel(penalizer=-1), Y, "'penalizer' parameter.*Got -1"),
        (ChurnModel(l1_ratio=2), Y, "'l1_ratio' parameter"),
        (ChurnModel(alpha=1.5), Y, "'alpha' parameter"),
        (
            ChurnModel(horizon="-3D"),
            Y,
            "'horizon' parameter of ChurnModel must be a positive duration",
        ),
        (ChurnModel(kind="gbm", horizon=100, gbm_params={"depth": 3}), Y, "'gbm_params'"),
        (ChurnModel(kind="gbm", horizon=100, gbm_params={"n_estimators": -1}), Y, "'gbm_params'"),
        (ChurnModel(), Y[:10], "different lengths: 400 and 10"),
        (ChurnModel(), None, "requires y to be passed"),
    ],
)
def test_bad_input_raises_with_a_remedy(model: ChurnModel, y: object, match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        model.fit(X, y)


def test_negative_durations_are_refused() -> None:
    bad = np.array([[5.0, 1.0], [-2.0, 1.0]] * 10)
    with pytest.raises(InvalidParameterError, match=r"non-negative.*positions \[1, 3, 5"):
        ChurnModel().fit(np.arange(20.0)[:, None], bad)


def test_horizon_beyond_the_data_is_refused() -> None:
    model = ChurnModel().fit(X, Y)
    with pytest.raises(InvalidParameterError, match=r"longest observed duration is .* days"):
        model.predict_churn_probability(X, horizon="2000D")
    with pytest.raises(InvalidParameterError, match=r"'horizon' parameter .* is required"):
        model.predict_churn_probability(X)
    with pytest.raises(InvalidParameterError, match="'times' parameter"):
        model.predict_survival(X, [-1.0])


def test_constant_and_collinear_columns() -> None:
    const = X[["tickets", "orders"]].assign(one=1.0)
    with pytest.raises(
        InvalidParameterError, match=r"constant columns \['one'\].*VarianceThreshold"
    ):
        ChurnModel().fit(const, Y)
    twin = X[["tickets", "orders"]].assign(double=lambda d: 2.0 * d["orders"] + 1.0)
    with pytest.raises(
        ConvergenceError, match=r"did not converge.*\['double'\].*raise the penalizer"
    ):
        ChurnModel(penalizer=0.0).fit(twin, Y)
    # The default penalizer makes the same data fit.
    assert ChurnModel().fit(twin, Y).coef_.shape == (3,)


def test_not_fitted_error_is_ours_and_scikit_learns() -> None:
    with pytest.raises(NotFittedError) as info:
        ChurnModel().predict(X)
    assert isinstance(info.value, SklearnNotFittedError)


def test_explain_reports_in_user_units() -> None:
    model = ChurnModel(penalizer=0.0).fit(X, Y)
    scaled = X.assign(orders=X["orders"] * 1000.0)
    model_scaled = ChurnModel(penalizer=0.0).fit(scaled, Y)
    a, b = model.explain(), model_scaled.explain()
    assert b.loc["orders", "coef"] == pytest.approx(a.loc["orders", "coef"] / 1000.0, rel=1e-6)
    assert a.attrs["confidence_level"] == 0.95
    assert list(a.index) == NAMES


def test_check_assumptions_matches_lifelines_and_advises() -> None:
    model = ChurnModel(penalizer=0.0).fit(X, Y)
    df = lifelines_frame(model, X, Y)
    ref = lifelines.CoxPHFitter(penalizer=0.0).fit(df, "T", "E")
    expected = proportional_hazard_test(ref, df, time_transform="rank").summary.loc[NAMES]
    report = model.check_assumptions(X, Y)
    # lifelines uses Efron's ties, ChurnModel Breslow risk sets: close, not identical.
    np.testing.assert_allclose(
        report["test_statistic"], expected["test_statistic"].to_numpy(), rtol=0.05, atol=0.05
    )
    # A covariate whose effect fades over time breaks proportional hazards.
    rng = np.random.default_rng(3)
    n = 1500
    x = rng.integers(0, 2, n).astype(float)
    early = rng.exponential(20.0, n)
    late = rng.exponential(100.0, n)
    # Key accounts churn five times faster in their first 30 days, then like everybody else.
    t = np.where(x == 1, np.where(early < 30.0, early, 30.0 + late), late)
    y = Surv.from_arrays(np.minimum(t, 300.0), t < 300.0)
    frame = pd.DataFrame({"key_account": x})
    bad = ChurnModel(penalizer=0.0).fit(frame, y).check_assumptions(frame, y)
    assert not bad.loc["key_account", "proportional"]
    assert "changes over time" in bad.loc["key_account", "advice"]
    with pytest.raises(InvalidParameterError, match="only kind='cox'"):
        ChurnModel(kind="weibull_aft").fit(X, Y).check_assumptions(X, Y)


@pytest.mark.parametrize("kind", KINDS)
def test_save_load_round_trip_is_bit_exact(kind: str) -> None:
    model = ChurnModel(kind=kind, horizon="120D", random_state=0).fit(X, Y)
    copy = roundtrip(model, archive=kind == "cox")
    assert_same_state(model, copy)
    assert copy.fitter_ is None
    for method in ("predict", "predict_churn_probability", "predict_median_lifetime"):
        a, b = getattr(model, method)(X), getattr(copy, method)(X)
        assert a.to_numpy().tobytes() == b.to_numpy().tobytes(), method
        assert a.index.equals(b.index), method
    a, b = model.predict_survival(X, [5, 60, 120]), copy.predict_survival(X, [5, 60, 120])
    assert a.to_numpy().tobytes() == b.to_numpy().tobytes()
    if kind not in ("gbm", "hgb"):
        pd.testing.assert_frame_equal(model.explain(), copy.explain(), check_exact=True)
    if kind == "cox":
        pd.testing.assert_frame_equal(
            model.check_assumptions(X, Y), copy.check_assumptions(X, Y), check_exact=True
        )


def test_lifelines_warnings_do_not_leak() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ChurnModel().fit(X, Y)


def test_internal_column_names_are_refused() -> None:
    clash = X[["tickets"]].rename(columns={"tickets": "__b2b_duration__"})
    with pytest.raises(InvalidParameterError, match="uses internally"):
        ChurnModel().fit(clash, Y)


# --------------------------------------------------------------------------- output containers

METHODS = {
    "predict": "risk",
    "predict_churn_probability": "churn_probability",
    "predict_median_lifetime": "median_lifetime",
}


def indexed() -> pd.DataFrame:
    return X.set_index(pd.Index([f"O-{i:04d}" for i in range(len(X))], name="organisation_id"))


@pytest.mark.parametrize("kind", ["cox", "gbm"])
def test_an_indexed_frame_gives_series_aligned_with_it(kind: str) -> None:
    model = ChurnModel(kind=kind, horizon="120D", random_state=0).fit(X, Y)
    frame = indexed()
    for method, name in METHODS.items():
        out = getattr(model, method)(frame)
        assert isinstance(out, pd.Series), method
        assert out.index.equals(frame.index) and out.name == name, method
        plain = getattr(model, method)(frame.reset_index(drop=True))
        np.testing.assert_array_equal(out.to_numpy(), plain.to_numpy())
    assert model.predict_survival(frame, [30]).index.equals(frame.index)


def test_arrays_give_arrays_unless_pandas_output_is_configured() -> None:
    z = X[["tickets", "orders"]].to_numpy()
    model = ChurnModel(kind="weibull_aft", horizon="120D").fit(z, Y)
    for method in METHODS:
        assert type(getattr(model, method)(z)) is np.ndarray
    assert model.set_output(transform="pandas") is model
    for method, name in METHODS.items():
        out = getattr(model, method)(z)
        assert isinstance(out, pd.Series) and out.name == name
        assert out.index.equals(pd.RangeIndex(len(z)))
    model.set_output(transform=None)  # leaves the configuration as it is
    assert isinstance(model.predict(z), pd.Series)
    model.set_output(transform="default")  # back to following X
    assert type(model.predict(z)) is np.ndarray


def test_the_global_configuration_of_scikit_learn_is_followed() -> None:
    import sklearn
    from sklearn.base import clone

    z = X[["tickets"]].to_numpy()
    model = ChurnModel(penalizer=0.0).fit(z, Y)
    with sklearn.config_context(transform_output="pandas"):
        assert isinstance(model.predict(z), pd.Series)
        # A model's own setting wins over the global one.
        assert type(model.set_output(transform="default").predict(z)) is np.ndarray
    # The setting is cloned and saved with the model.
    model.set_output(transform="pandas")
    assert isinstance(clone(model).fit(z, Y).predict(z), pd.Series)
    assert isinstance(roundtrip(model).predict(z), pd.Series)


def test_set_output_refuses_unknown_containers() -> None:
    with pytest.raises(InvalidParameterError, match="'transform' parameter of ChurnModel"):
        ChurnModel().set_output(transform="polars")


def test_an_unfitted_model_saves_and_loads() -> None:
    model = ChurnModel(kind="gbm", horizon="90D").set_output(transform="pandas")
    copy = roundtrip(model)
    assert copy.get_params() == model.get_params()
    with pytest.raises(NotFittedError):
        copy.predict(X)
    numeric = X[["tickets", "orders"]].to_numpy()
    assert isinstance(copy.fit(numeric, Y).predict(numeric), pd.Series)


def test_a_saved_state_of_another_kind_is_refused(tmp_path: object) -> None:
    import json
    from pathlib import Path

    from b2bclient._exceptions import FormatError
    from b2bclient.persist import load, save
    from b2bclient.persist._archive import manifest_digest

    path = save(ChurnModel(kind="weibull_aft").fit(X, Y), Path(str(tmp_path)) / "m")
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["model"]["params"]["kind"] = "cox"  # the AFT arrays would be read as Cox ones
    manifest["manifest_sha256"] = manifest_digest(manifest)
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(FormatError, match=r"ChurnModel\(kind='cox'\) holds the state"):
        load(path)
