"""WinModel, forecast and backtest: accuracy against the planted truth, point in time, bad input."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.utils.estimator_checks import parametrize_with_checks

import b2bclient as bc
from b2bclient import B2BClientError, InvalidParameterError, InvalidTablesError, UnknownIdError
from b2bclient.pipeline import (
    WinModel,
    _repeat,
    backtest,
    calibration_table,
    forecast,
    plot_backtest,
    plot_calibration,
)
from b2bclient.pipeline._close import fit_close_time, p_close_between
from b2bclient.pipeline._frame import window_count
from b2bclient.pipeline._rates import WonRevenue, ratio_spread, seasonal_index
from b2bclient.pipeline._score import linear_scores
from b2bclient.testing import with_future_rows

AS_OF = pd.Timestamp("2024-07-01")
LANDMARK = pd.Timestamp("2024-01-01")
SETTINGS = settings(derandomize=True, deadline=None, max_examples=3, database=None)


@pytest.fixture(scope="module")
def synthetic() -> tuple[Any, Any]:
    return bc.datasets.make_client_base(1200, seed=5, return_truth=True)


@pytest.fixture(scope="module")
def small() -> Any:
    return bc.datasets.make_client_base(150, seed=2)


@pytest.fixture(scope="module")
def fitted(synthetic: tuple[Any, Any]) -> WinModel:
    base, _ = synthetic
    return WinModel().fit(base, as_of=LANDMARK)


@pytest.fixture(scope="module")
def small_model(small: Any) -> WinModel:
    return WinModel(cv=3).fit(small, as_of=AS_OF)


# ------------------------------------------------------------------------------ accuracy


def test_win_model_close_to_the_planted_probabilities(
    synthetic: tuple[Any, Any], fitted: WinModel
) -> None:
    """The Done-when figures at a smaller size: held-out deals, each seen at its creation."""
    base, truth = synthetic
    rows = fitted.training_frame(base, "2025-01-01")
    held = rows[(rows["deal__age_days"] == 0) & (rows["at"] >= LANDMARK)]
    y = held["won"].to_numpy()
    p = fitted.predict_proba(held[list(fitted.feature_names_in_)])[:, 1]
    p_true = truth.win_probability.reindex(held["deal_id"]).to_numpy()
    closed = base.as_of(LANDMARK).deals
    closed = closed[closed["status"] != "open"]
    rate = (closed["status"] == "won").groupby(closed["channel"].astype(object)).mean()
    p_channel = held["deal__channel"].astype(object).map(rate).to_numpy(float)
    assert len(held) > 1500
    brier, brier_true = brier_score_loss(y, p), brier_score_loss(y, p_true)
    auc, auc_true = roc_auc_score(y, p), roc_auc_score(y, p_true)
    assert brier <= 1.12 * brier_true
    assert auc >= 0.94 * auc_true
    assert brier < brier_score_loss(y, p_channel)
    assert auc > roc_auc_score(y, p_channel)
    # The deciles of a 2 000-deal sample carry about 3 points of noise each.
    assert calibration_table(y, p)["gap"].abs().max() < 0.07


def test_training_rows_are_seen_before_they_close(
    synthetic: tuple[Any, Any], fitted: WinModel
) -> None:
    base, _ = synthetic
    rows = fitted.training_frame(base, LANDMARK)
    deals = base.deals.set_index("deal_id")
    closed = deals["closed_at"].reindex(rows["deal_id"]).to_numpy()
    created = deals["created_at"].reindex(rows["deal_id"]).to_numpy()
    assert (rows["at"].to_numpy() <= closed).all()
    assert (rows["at"].to_numpy() > created).all()
    assert (closed < LANDMARK.to_datetime64()).all()
    won = deals["status"].reindex(rows["deal_id"]).astype(object).eq("won").to_numpy()
    np.testing.assert_array_equal(rows["won"].to_numpy(), won)
    assert fitted.training_rows_ == len(rows)


# --------------------------------------------------------------------------- point in time


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n_rows=st.integers(1, 30), extreme=st.booleans())
def test_future_rows_change_no_prediction(seed: int, n_rows: int, extreme: bool) -> None:
    base = bc.datasets.make_client_base(150, seed=2)
    model = WinModel(cv=3).fit(base, as_of=AS_OF)
    tables = with_future_rows(base.tables, AS_OF, seed=seed, n_rows=n_rows, extreme=extreme)
    future = bc.ClientBase(tables, validate=False)
    pd.testing.assert_series_equal(
        model.predict_proba(future, AS_OF), model.predict_proba(base, AS_OF), check_exact=True
    )
    refit = WinModel(cv=3).fit(future, as_of=AS_OF)
    pd.testing.assert_frame_equal(
        refit.training_frame(future, AS_OF), model.training_frame(base, AS_OF), check_exact=True
    )
    np.testing.assert_array_equal(
        refit.model_.predict_proba(
            model.training_frame(base, AS_OF)[list(model.feature_names_in_)]
        ),
        model.model_.predict_proba(
            model.training_frame(base, AS_OF)[list(model.feature_names_in_)]
        ),
    )
    a = forecast(base, AS_OF, "60D", win_model=model, n_simulations=100)
    b = forecast(future, AS_OF, "60D", win_model=model, n_simulations=100)
    assert a.expected == b.expected
    np.testing.assert_array_equal(a.simulations, b.simulations)


def test_open_deals_are_those_open_at_as_of(small: Any, small_model: WinModel) -> None:
    p = small_model.predict_proba(small, AS_OF)
    cut = small.as_of(AS_OF).deals
    expected = set(cut.loc[cut["status"] == "open", "deal_id"])
    assert set(p.index) == expected
    assert p.between(0, 1).all()


# ----------------------------------------------------------------------------- behaviour


def test_p_close_within_grows_with_the_horizon(small: Any, small_model: WinModel) -> None:
    short = small_model.p_close_within(small, AS_OF, "7D")
    long = small_model.p_close_within(small, AS_OF, "365D")
    assert (short["p_close"] <= long["p_close"] + 1e-12).all()
    assert (long["p_won"] <= long["p_win"] + 1e-12).all()
    np.testing.assert_allclose(long["expected_won"], long["amount"] * long["p_won"])


def test_close_time_recovers_a_censored_lognormal() -> None:
    rng = np.random.default_rng(0)
    days = np.exp(rng.normal(np.log(40.0), 0.5, 5000))
    cut = rng.uniform(0, 200, 5000)
    fit = fit_close_time(pd.Series(["tender"] * 5000), np.minimum(days, cut), days < cut)
    assert np.exp(fit.loc["tender", "mu"]) == pytest.approx(40.0, rel=0.05)
    assert fit.loc["tender", "sigma"] == pytest.approx(0.5, rel=0.05)
    # Conditional on surviving its age, a stale deal closes with a finite probability.
    p = p_close_between(np.array([0.0]), np.array([1.0]), np.array([1e6]), 30.0)
    assert np.isfinite(p).all() and (p >= 0).all()


def test_window_count_is_half_open() -> None:
    key = np.array([0, 0, 0, 1])
    t = np.array([1, 2, 3, 2])
    count, total = window_count(
        key,
        t,
        np.array([1.0, 10.0, 100.0, 5.0]),
        np.array([0, 1]),
        np.array([2, 0]),
        np.array([3, 2]),
    )
    assert count.tolist() == [1.0, 0.0]
    assert total.tolist() == [10.0, 0.0]


def test_drivers_name_matrix_columns(small: Any, small_model: WinModel) -> None:
    d = small_model.drivers(small, AS_OF, k=2)
    assert len(d) == 2 * len(small_model.predict_proba(small, AS_OF))
    assert (
        d["feature"]
        .isin(small_model.model_.calibrated_classifiers_[0].estimator[0].get_feature_names_out())
        .all()
    )


def test_fast_scores_equal_the_pipeline(synthetic: tuple[Any, Any], fitted: WinModel) -> None:
    """Scoring column by column gives the calibrated pipeline's probabilities."""
    base, _ = synthetic
    rows = fitted.training_frame(base, "2025-01-01")
    X = rows[list(fitted.feature_names_in_)]
    np.testing.assert_allclose(
        fitted.predict_proba(X), fitted.model_.predict_proba(X), rtol=0, atol=1e-12
    )
    pipe = fitted.model_.calibrated_classifiers_[0].estimator
    lr = pipe[-1]
    fast = linear_scores(pipe[0], lr.coef_[0], float(lr.intercept_[0]), X)
    assert fast is not None
    np.testing.assert_allclose(fast, pipe.decision_function(X), rtol=0, atol=1e-9)
    # A column of numbers held as objects takes the general path.
    odd = X.assign(deal__log_amount=X["deal__log_amount"].astype(object))
    assert linear_scores(pipe[0], lr.coef_[0], 0.0, odd) is None


def test_each_deal_weighs_the_same(synthetic: tuple[Any, Any], fitted: WinModel) -> None:
    """A deal seen at many snapshots counts once: weighted, every deal's rows sum to 1 unit."""
    base, _ = synthetic
    rows = fitted.training_frame(base, LANDMARK)
    per_deal = rows.groupby("deal_id").size()
    assert per_deal.max() > 1
    # The deal's own attributes are those of its creation at every snapshot.
    own = ["deal__channel", "deal__stage", "deal__relative_amount", "deal__touchpoints_90d"]
    assert (rows.groupby("deal_id")[own].nunique() <= 1).all().all()
    # Refit without the deal weights: the weighted model differs (the weights reach the model).
    unweighted = WinModel()
    unweighted._fit_matrix(rows[list(fitted.feature_names_in_)], rows["won"].to_numpy(bool))
    coef = fitted.model_.calibrated_classifiers_[0].estimator[-1].coef_
    assert not np.allclose(unweighted.model_.calibrated_classifiers_[0].estimator[-1].coef_, coef)


def test_seasonal_index_and_ratio_spread() -> None:
    days = pd.date_range("2020-01-01", "2023-12-31", freq="D")
    spring = np.where(days.month.isin([4, 5, 6]), 2.0, 1.0)
    deals = pd.DataFrame({"status": "won", "closed_at": days, "amount": spring, "created_at": days})
    assert seasonal_index(deals, pd.Timestamp("2024-04-01"), pd.Timedelta("91D")) > 1.5
    assert seasonal_index(deals, pd.Timestamp("2023-10-01"), pd.Timedelta("91D")) < 0.9
    # Nothing at or after as_of is read.
    late = pd.concat([deals, deals.assign(closed_at=deals["closed_at"] + pd.Timedelta("1500D"))])
    at = pd.Timestamp("2023-04-01")
    assert seasonal_index(late, at, pd.Timedelta("91D")) == seasonal_index(
        deals, at, pd.Timedelta("91D")
    )
    # No past year of data: no season.
    assert seasonal_index(deals, pd.Timestamp("2020-06-01"), pd.Timedelta("91D")) == 1.0
    # One index of the whole frame gives every cut-off's index exactly.
    won = WonRevenue.of(late)
    for at in pd.date_range("2020-02-01", "2024-06-01", freq="77D"):
        for span in (pd.Timedelta("30D"), pd.Timedelta("91D")):
            assert seasonal_index(won, at, span) == seasonal_index(late, at, span)
    bias, sd = ratio_spread(np.array([9.0, 11.0, 10.0]), np.array([10.0, 10.0, 10.0]))
    assert bias == pytest.approx(1.0) and 0 < sd < 0.2
    assert ratio_spread(np.array([5.0]), np.array([10.0])) == (0.5, 0.0)


def test_repeat_summary_equals_rfm_summary(small: Any) -> None:
    """The forecast's weekly summaries from one transaction log equal those of cut bases."""
    from b2bclient.btyd import rfm_summary
    from b2bclient.btyd._rfm import summary_from_transactions

    cut = small.as_of(AS_OF)
    log = _repeat._transactions(cut.deals)
    for at in (AS_OF, AS_OF - pd.Timedelta("90D"), AS_OF - pd.Timedelta("270D")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            expected = rfm_summary(cut, as_of=at, freq="W")
        got = summary_from_transactions(log, at, freq="W")
        pd.testing.assert_frame_equal(got, expected)


def test_repeat_simulation_of_many_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past `_EXACT_CLIENTS` the small clients' sum is one moment-matched draw: same spread."""
    rng = np.random.default_rng(3)
    lam = rng.gamma(0.5, 1.0, 2000)
    value = rng.lognormal(7.0, 1.0, 2000)
    factor = rng.lognormal(-0.005, 0.1, 2000)
    exact = _repeat._simulate_repeat(np.random.default_rng(0), lam, value, 2.0, factor)
    monkeypatch.setattr(_repeat, "_EXACT_CLIENTS", 200)
    pooled = _repeat._simulate_repeat(np.random.default_rng(1), lam, value, 2.0, factor)
    mean = float((lam * value).sum() * factor.mean())
    se = exact.std() / np.sqrt(len(factor))  # of a mean of the simulations
    assert abs(exact.mean() - mean) < 4 * se
    assert abs(pooled.mean() - mean) < 4 * se
    assert pooled.std() == pytest.approx(exact.std(), rel=0.1)
    for q in (0.1, 0.9):  # a 10% quantile's standard error is about 1.7 se
        assert abs(np.quantile(pooled, q) - np.quantile(exact, q)) < 8 * se


def test_forecast_adds_up(small: Any, small_model: WinModel) -> None:
    segments = pd.Series("a", index=small.organisations["organisation_id"])
    f = forecast(small, AS_OF, "90D", win_model=small_model, segments=segments, n_simulations=300)
    assert f.expected == pytest.approx(f.components["expected"].sum())
    for frame in (f.by_organisation, f.by_region, f.by_channel, f.by_segment):
        assert frame is not None
        assert frame["expected"].sum() == pytest.approx(f.expected, rel=1e-9)
    assert f.lower <= f.upper
    assert np.mean((f.simulations >= f.lower) & (f.simulations <= f.upper)) >= 0.78
    assert f.summary().loc["total", "expected"] == f.expected
    assert set(f.adjustments) == {
        "season",
        "repeat_bias",
        "repeat_sd",
        "new_business_bias",
        "new_business_sd",
        "calibration_windows",
    }
    # Without the calibration on past windows the repeat business is the models' own.
    plain = forecast(small, AS_OF, "90D", win_model=small_model, calibration_windows=0)
    assert plain.adjustments["repeat_bias"] == 1.0 and plain.adjustments["repeat_sd"] == 0.0


def test_backtest_compares_with_the_actual(small: Any) -> None:
    bt = backtest(small, ["2024-04-01"], "90D", n_simulations=200)
    won = small.deals[(small.deals["status"] == "won")]
    window = (won["closed_at"] >= "2024-04-01") & (won["closed_at"] < pd.Timestamp("2024-06-30"))
    assert bt["actual"].iloc[0] == pytest.approx(won.loc[window, "amount"].sum())
    assert {"naive", "naive_ape", "inside", "ape"} <= set(bt.columns)


def test_plots_draw() -> None:
    import matplotlib

    matplotlib.use("Agg")
    ax = plot_calibration(
        [0, 1, 1, 0, 1, 1], [0.2, 0.7, 0.9, 0.3, 0.6, 0.8], n_bins=2, baseline=[0.5] * 6
    )
    assert len(ax.lines) == 3
    bt = pd.DataFrame(
        {"forecast": [1.0, 2.0], "lower": [0.5, 1.0], "upper": [2.0, 3.0], "actual": [1.2, 2.5]},
        index=pd.to_datetime(["2024-01-01", "2024-04-01"]),
    )
    assert plot_backtest(bt).get_xlabel() == "cut-off"


# ------------------------------------------------------------------------------ bad input


def test_horizon_must_be_positive(small: Any, small_model: WinModel) -> None:
    for horizon in ("0D", "-3D"):
        with pytest.raises(InvalidParameterError, match="horizon"):
            forecast(small, AS_OF, horizon, win_model=small_model)
        with pytest.raises(InvalidParameterError, match="horizon"):
            small_model.p_close_within(small, AS_OF, horizon)


def test_no_closed_deals_before_as_of(small: Any) -> None:
    first = small.deals["closed_at"].min()
    with pytest.raises(InvalidTablesError, match="closed before as_of"):
        WinModel().fit(small, as_of=first)


def test_unknown_ids(small: Any, small_model: WinModel) -> None:
    with pytest.raises(UnknownIdError, match="O-NOPE"):
        forecast(small, AS_OF, win_model=small_model, organisations=["O-NOPE"])
    with pytest.raises(UnknownIdError, match="O-NOPE"):
        forecast(small, AS_OF, win_model=small_model, segments=pd.Series({"O-NOPE": "a"}))


def test_deals_without_amounts(small: Any) -> None:
    tables = dict(small.tables)
    deals = tables["deals"].copy()
    deals["amount"] = 0.0
    tables["deals"] = deals
    with pytest.raises(InvalidTablesError, match="amount"):
        forecast(bc.ClientBase(tables, validate=False), AS_OF)
    deals["amount"] = np.nan
    with pytest.raises(InvalidTablesError, match="amount"):
        bc.ClientBase.from_frames(**{**tables, "deals": deals})


def test_other_bad_input(small: Any, small_model: WinModel) -> None:
    with pytest.raises(B2BClientError):
        WinModel().fit(small)
    with pytest.raises(B2BClientError):
        WinModel(method="nope").fit(small, as_of=AS_OF)
    with pytest.raises(B2BClientError):
        forecast(small, AS_OF, level=1.5, win_model=small_model)
    with pytest.raises(InvalidParameterError, match="calibration_windows"):
        forecast(small, AS_OF, win_model=small_model, calibration_windows=-1)
    with pytest.raises(InvalidParameterError, match="new_business_windows"):
        forecast(small, AS_OF, win_model=small_model, new_business_windows=0)
    with pytest.raises(B2BClientError, match="after"):
        forecast(small, "2024-01-01", win_model=small_model)
    with pytest.raises(B2BClientError, match="passes the last event"):
        backtest(small, ["2024-12-01"], "90D")
    with pytest.raises(bc.NotFittedError):
        WinModel().predict_proba(small, AS_OF)


# ----------------------------------------------------------------- scikit-learn, persistence


@parametrize_with_checks([WinModel(cv=2)])
def test_sklearn_compatible(estimator: Any, check: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)


def test_save_and_load(tmp_path: Any, small: Any, small_model: WinModel) -> None:
    bc.save(small_model, tmp_path / "win")
    again = bc.load(tmp_path / "win")
    pd.testing.assert_series_equal(
        again.predict_proba(small, AS_OF), small_model.predict_proba(small, AS_OF)
    )
    pd.testing.assert_frame_equal(
        again.p_close_within(small, AS_OF), small_model.p_close_within(small, AS_OF)
    )


def test_outcome_group_folds_keep_deals_whole_and_outcomes_balanced():
    from b2bclient.pipeline._calibrated import outcome_group_folds

    rng = np.random.default_rng(0)
    n_groups = 3_000
    size = rng.integers(1, 12, size=n_groups)
    codes = np.repeat(np.arange(n_groups), size)
    won = rng.random(n_groups) < 0.2
    y = won[codes]
    folds = outcome_group_folds(y, codes, 5, 0)
    assert folds is not None and len(folds) == 5
    tests = [test for _, test in folds]
    # every row in exactly one test fold, and its train fold is the rest
    np.testing.assert_array_equal(np.sort(np.concatenate(tests)), np.arange(len(y)))
    for train, test in folds:
        assert len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == len(y)
        # no deal is split between train and test
        assert len(np.intersect1d(codes[train], codes[test])) == 0
        # each fold holds about a fifth of each outcome's rows
        for value in (True, False):
            share = (y[test] == value).sum() / (y == value).sum()
            assert abs(share - 0.2) < 0.02
    again = outcome_group_folds(y, codes, 5, 0)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again, strict=True))
    other = outcome_group_folds(y, codes, 5, 1)
    assert not np.array_equal(folds[0][1], other[0][1])
    # an outcome that changes within a deal: no shortcut, the caller uses the general split
    y_mixed = y.copy()
    y_mixed[np.flatnonzero(size[codes] > 1)[0]] ^= True
    assert outcome_group_folds(y_mixed, codes, 5, 0) is None
