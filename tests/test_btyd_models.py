"""Buy-till-you-die models: likelihood gradients, special functions, parameter recovery, stability,
input validation and persistence."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning

import b2bclient.btyd as btyd
from b2bclient import InvalidParameterError, NotFittedError
from b2bclient.btyd._bg_expectation import bg_expectation
from b2bclient.btyd._gamma_gamma import _gg_loglik
from b2bclient.btyd._mle import Design, _objective, group_rows
from b2bclient.btyd._simulate import simulate_monetary
from b2bclient.btyd._special import gauss_series

BG_TRUTH = {"r": 0.5, "alpha": 6.0, "a": 0.8, "b": 2.5}
PARETO_TRUTH = {"r": 0.55, "alpha": 10.6, "s": 0.6, "beta": 11.7}


def test_public_names() -> None:
    assert sorted(btyd.__all__) == sorted(
        [
            "BetaGeo",
            "BetaGeoBetaBinom",
            "GammaGamma",
            "ModifiedBetaGeo",
            "ParetoNBD",
            "calibration_holdout",
            "discrete_summary",
            "lifetime_value",
            "plot_calibration_holdout",
            "plot_p_alive_matrix",
            "rfm_summary",
            "simulate_summary",
        ]
    )
    for name in btyd.__all__:
        assert getattr(btyd, name).__module__.startswith("b2bclient.btyd._")


@pytest.fixture(scope="module")
def small_sample() -> pd.DataFrame:
    frame = btyd.simulate_summary(
        btyd.BetaGeo,
        T=np.random.default_rng(1).uniform(5.0, 60.0, 600),
        params=BG_TRUTH,
        random_state=2,
    )
    frame.loc[0, ["frequency", "recency", "T"]] = [40, 55.0, 60.0]
    return frame


def _numeric_gradient(fun: Any, v: np.ndarray, step: float = 1e-6) -> np.ndarray:
    return np.array([(fun(v + e)[0] - fun(v - e)[0]) / (2 * step) for e in np.eye(v.size) * step])


@pytest.mark.parametrize("model", [btyd.BetaGeo(), btyd.ModifiedBetaGeo()])
@pytest.mark.parametrize("log_params", [np.log([0.3, 4.0, 0.8, 2.4]), np.log([2.0, 0.5, 3.0, 0.4])])
@pytest.mark.parametrize("summed", [False, True])
def test_bg_family_gradient_matches_finite_differences(
    model: Any, log_params: np.ndarray, summed: bool, small_sample: pd.DataFrame
) -> None:
    rows = group_rows(
        {
            "x": small_sample["frequency"].to_numpy(float),
            "tx": small_sample["recency"].to_numpy(),
            "T": small_sample["T"].to_numpy(),
        }
    )
    fun = _objective(
        model._loglik,
        Design(model._names),
        rows,
        0.0,
        float(len(small_sample)),
        model._summed_loglik() if summed else None,
    )
    value, grad = fun(log_params)
    assert np.isfinite(value)
    np.testing.assert_allclose(grad, _numeric_gradient(fun, log_params), rtol=1e-5, atol=1e-8)


def test_bg_summed_path_equals_per_row_path(small_sample: pd.DataFrame) -> None:
    rows = group_rows(
        {
            "x": small_sample["frequency"].to_numpy(float),
            "tx": small_sample["recency"].to_numpy(),
            "T": small_sample["T"].to_numpy(),
        }
    )
    for model in (btyd.BetaGeo(), btyd.ModifiedBetaGeo()):
        theta = [0.4, 5.0, 0.7, 2.0]
        ll, grad_rows = model._loglik(theta, rows, True)
        total, grad = model._summed_loglik()(theta, rows)
        assert total == pytest.approx(float(rows.weights @ ll), rel=1e-12)
        np.testing.assert_allclose(grad, rows.weights @ grad_rows, rtol=1e-10)


@pytest.mark.parametrize(
    "params",
    [
        [0.55, 10.6, 0.6, 11.7],  # alpha < beta
        [0.55, 30.0, 0.6, 2.0],  # alpha > beta
        [2.0, 3.0, 1.5, 3.0],  # alpha == beta
        [0.8, 200.0, 1.2, 0.5],  # series near its radius of convergence
    ],
)
def test_pareto_gradient_matches_finite_differences(
    params: list[float], small_sample: pd.DataFrame
) -> None:
    model = btyd.ParetoNBD()
    rows = group_rows(
        {
            "x": small_sample["frequency"].to_numpy(float),
            "tx": small_sample["recency"].to_numpy(),
            "T": small_sample["T"].to_numpy(),
        }
    )
    fun = _objective(model._loglik, Design(model._names), rows, 0.0, float(len(small_sample)))
    v = np.log(params)
    value, grad = fun(v)
    assert np.isfinite(value)
    np.testing.assert_allclose(grad, _numeric_gradient(fun, v), rtol=1e-5, atol=1e-8)


def test_gamma_gamma_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(1, 30, 300).astype(float)
    m = simulate_monetary({"p": 6.0, "q": 3.7, "v": 15.0}, x, random_state=4)
    rows = group_rows({"x": x, "m": m})
    fun = _objective(_gg_loglik, Design(("p", "q", "v")), rows, 0.0, 300.0)
    v = np.log([5.0, 3.0, 12.0])
    np.testing.assert_allclose(fun(v)[1], _numeric_gradient(fun, v), rtol=1e-5, atol=1e-8)


def test_covariate_gradient_matches_finite_differences(small_sample: pd.DataFrame) -> None:
    model = btyd.BetaGeo()
    covariates = np.random.default_rng(5).normal(size=(len(small_sample), 2))
    rows = group_rows(
        {
            "x": small_sample["frequency"].to_numpy(float),
            "tx": small_sample["recency"].to_numpy(),
            "T": small_sample["T"].to_numpy(),
        },
        covariates,
    )
    design = Design(model._names, model._links, ["c1", "c2"])
    fun = _objective(model._loglik, design, rows, 0.01, float(len(small_sample)))
    v = np.concatenate([np.log([0.4, 5.0, 0.8, 2.0]), [0.3, -0.2, 0.1, 0.2, -0.1, 0.05]])
    np.testing.assert_allclose(fun(v)[1], _numeric_gradient(fun, v), rtol=1e-5, atol=1e-8)


def test_gauss_series_against_closed_forms() -> None:
    z = np.array([0.0, 1e-8, 0.3, 0.9, 0.99, 0.999])
    ones = np.ones_like(z)
    # 2F1(1, b; b; z) = 1 / (1 - z)
    s, _, _, s_z = gauss_series(2.5 * ones, 2.5 * ones, z)
    np.testing.assert_allclose(s, 1.0 / (1.0 - z), rtol=1e-12)
    np.testing.assert_allclose(s_z, 1.0 / (1.0 - z) ** 2, rtol=1e-10)
    # 2F1(1, 1; 2; z) = -log(1 - z) / z
    s, _, _, _ = gauss_series(ones[1:], 2.0 * ones[1:], z[1:])
    np.testing.assert_allclose(s, -np.log1p(-z[1:]) / z[1:], rtol=1e-12)


def test_gauss_series_parameter_derivatives() -> None:
    rng = np.random.default_rng(6)
    b = rng.uniform(0.2, 30.0, 50)
    c = b + rng.uniform(0.1, 5.0, 50)
    z = rng.uniform(0.0, 0.97, 50)
    _, s_b, s_c, s_z = gauss_series(b, c, z)
    h = 1e-6
    for derivative, (db, dc, dz) in ((s_b, (h, 0, 0)), (s_c, (0, h, 0)), (s_z, (0, 0, h))):
        up = gauss_series(b + db, c + dc, z + dz, derivatives=False)[0]
        down = gauss_series(b - db, c - dc, z - dz, derivatives=False)[0]
        np.testing.assert_allclose(derivative, (up - down) / (2 * h), rtol=1e-6, atol=1e-9)


def test_bg_expectation_is_continuous_at_a_equal_one() -> None:
    # The closed form divides by a - 1; the expectation itself is smooth there.
    u = np.array([1.25, 12.5, 1e4])
    at_one = bg_expectation(1.0, 2.0, 0.5, u)
    below = bg_expectation(1.0 - 1e-7, 2.0, 0.5, u)
    above = bg_expectation(1.0 + 1e-7, 2.0, 0.5, u)
    assert np.all(np.isfinite(at_one))
    np.testing.assert_allclose(at_one, below, rtol=1e-6)
    np.testing.assert_allclose(at_one, above, rtol=1e-6)


def _within(model: Any, truth: dict[str, float], n_se: float = 4.0) -> None:
    for name, value in truth.items():
        error = abs(model.params_[name] - value)
        assert error < n_se * model.standard_errors_[name], (name, model.params_[name], value)


@pytest.mark.parametrize(
    ("cls", "truth"),
    [
        (btyd.BetaGeo, BG_TRUTH),
        (btyd.ModifiedBetaGeo, {"r": 0.5, "alpha": 6.0, "a": 0.9, "b": 1.6}),
        (btyd.ParetoNBD, PARETO_TRUTH),
    ],
)
def test_parameter_recovery(cls: Any, truth: dict[str, float]) -> None:
    t_obs = np.random.default_rng(7).uniform(26.0, 78.0, 8000)
    sample = btyd.simulate_summary(cls, T=t_obs, params=truth, random_state=8)
    model = cls().fit(sample)
    _within(model, truth)
    assert model.n_customers_ == 8000
    assert model.log_likelihood_ < 0


def test_gamma_gamma_recovery() -> None:
    truth = {"p": 6.0, "q": 4.0, "v": 15.0}
    frequency = np.random.default_rng(9).integers(0, 12, 6000)
    summary = pd.DataFrame(
        {
            "frequency": frequency,
            "monetary_value": simulate_monetary(truth, frequency, random_state=10),
        }
    )
    gg = btyd.GammaGamma().fit(summary)
    _within(gg, truth)
    profit = gg.conditional_expected_average_profit(summary)
    population_mean = gg.params_["p"] * gg.params_["v"] / (gg.params_["q"] - 1)
    assert np.allclose(profit[summary["frequency"] == 0], population_mean)


def test_bg_covariates_recover_planted_effects() -> None:
    rng = np.random.default_rng(11)
    n = 20_000
    covariates = pd.DataFrame({"size": rng.normal(size=n), "portal": rng.binomial(1, 0.5, n) - 0.5})
    truth = {
        **BG_TRUTH,
        "gamma1[size]": 0.5,
        "gamma1[portal]": -0.4,
        "gamma2[size]": -0.3,
        "gamma2[portal]": 0.0,
        "gamma3[size]": 0.0,
        "gamma3[portal]": 0.5,
    }
    sample = btyd.simulate_summary(
        btyd.BetaGeo,
        T=rng.uniform(26.0, 104.0, n),
        params=truth,
        covariates=covariates,
        random_state=12,
    )
    assert list(sample.columns) == ["frequency", "recency", "T", "size", "portal"]
    bg = btyd.BetaGeo().fit(sample, covariates=["size", "portal"])
    assert list(bg.params_.index) == list(truth)
    assert bg.covariate_names_ == ["size", "portal"]
    _within(bg, truth)
    assert abs(bg.params_["gamma1[size]"] - 0.5) < 0.1
    assert abs(bg.params_["gamma1[portal]"] + 0.4) < 0.1
    # Covariates are read from the summary's columns, or passed explicitly.
    from_columns = bg.p_alive(sample)
    explicit = bg.p_alive(sample[["frequency", "recency", "T"]], covariates=covariates)
    np.testing.assert_array_equal(from_columns.to_numpy(), explicit.to_numpy())
    # A customer with a higher purchase-rate covariate is expected to buy more.
    e = bg.expected_purchases(10.0, covariates=pd.DataFrame({"size": [-1.0, 1.0], "portal": 0.0}))
    assert e.shape == (2,)
    assert e[1] > e[0]


def test_covariates_as_frame_and_restricted_links() -> None:
    rng = np.random.default_rng(13)
    n = 3000
    covariates = pd.DataFrame({"size": rng.normal(size=n)}, index=pd.RangeIndex(n))
    sample = btyd.simulate_summary(
        btyd.BetaGeo,
        T=40.0,
        n_customers=n,
        params={**BG_TRUTH, "gamma1[size]": 0.4},
        covariates=covariates,
        random_state=14,
    )[["frequency", "recency", "T"]]
    bg = btyd.BetaGeo(covariates_on=("alpha",)).fit(sample, covariates=covariates)
    assert list(bg.params_.index) == ["r", "alpha", "a", "b", "gamma1[size]"]
    with pytest.raises(InvalidParameterError, match="fitted with covariates"):
        bg.p_alive(frequency=[1], recency=[1.0], T=[2.0])


def test_extreme_histories_stay_finite() -> None:
    summary = pd.DataFrame(
        {
            "frequency": [300, 300, 0, 1, 300],
            "recency": [9999.0, 1.0, 0.0, 1e-9, 5000.0],
            "T": [1e4, 1e4, 1e4, 1e4, 5000.0],
        }
    )
    sample = btyd.simulate_summary(
        btyd.BetaGeo, T=40.0, n_customers=2000, params=BG_TRUTH, random_state=15
    )
    for cls in (btyd.BetaGeo, btyd.ModifiedBetaGeo, btyd.ParetoNBD):
        model = cls().fit(sample)
        p = model.p_alive(summary)
        assert np.all(np.isfinite(p)) and np.all((p >= 0) & (p <= 1)), cls.__name__
        assert p.iloc[1] < 1e-6  # 300 purchases, then silence for 10 000 periods
        for t in (1.0, 52.0, 1e4):
            e = model.conditional_expected_purchases(t, summary)
            assert np.all(np.isfinite(e)) and np.all(e >= 0), (cls.__name__, t)
        assert np.all(np.isfinite(model.expected_purchases([0.0, 1.0, 1e4, 1e6])))
        # The extreme rows are fittable too.
        refit = cls(penalizer=0.001).fit(pd.concat([sample, summary], ignore_index=True))
        assert np.isfinite(refit.log_likelihood_)


def test_predictions_accept_frames_and_arrays(small_sample: pd.DataFrame) -> None:
    bg = btyd.BetaGeo().fit(small_sample)
    series = bg.p_alive(small_sample)
    assert isinstance(series, pd.Series)
    assert series.name == "p_alive"
    assert series.index.equals(small_sample.index)
    array = bg.p_alive(
        frequency=small_sample["frequency"].to_numpy(),
        recency=small_sample["recency"].to_numpy(),
        T=small_sample["T"].to_numpy(),
    )
    assert isinstance(array, np.ndarray)
    np.testing.assert_array_equal(series.to_numpy(), array)
    per_customer = bg.conditional_expected_purchases(small_sample["T"].to_numpy(), small_sample)
    assert per_customer.shape == (len(small_sample),)
    assert bg.expected_purchases(0.0)[()] == 0.0
    assert bg.conditional_expected_purchases(0.0, small_sample).eq(0).all()


def test_penalizer_shrinks_log_parameters(small_sample: pd.DataFrame) -> None:
    free = btyd.BetaGeo().fit(small_sample)
    shrunk = btyd.BetaGeo(penalizer=1.0).fit(small_sample)
    assert np.sum(np.log(shrunk.params_) ** 2) < np.sum(np.log(free.params_) ** 2)
    assert shrunk.log_likelihood_ < free.log_likelihood_


def test_unidentified_fit_warns_and_returns_the_limiting_model() -> None:
    rng = np.random.default_rng(16)
    t_obs = rng.uniform(20.0, 40.0, 300)
    # Everybody bought at the very end: no sign of dropout at all.
    summary = pd.DataFrame({"frequency": rng.integers(5, 15, 300), "recency": t_obs, "T": t_obs})
    with pytest.warns(ConvergenceWarning, match=r"barely identify .*penalizer=0\.01"):
        bg = btyd.BetaGeo().fit(summary)
    assert "a" in bg.weakly_identified_
    assert not {"r", "alpha"} & set(bg.weakly_identified_)
    # The dropout parameters are not estimated: infinite standard errors, intervals (0, inf).
    assert np.isinf(bg.standard_errors_["a"])
    assert bg.summary_.loc["a", "lower 95% bound"] == 0.0
    assert np.isinf(bg.summary_.loc["a", "upper 95% bound"])
    assert np.all(np.isfinite(bg.standard_errors_[["r", "alpha"]]))
    # Predictions are those of the limit (nobody drops out) and finite.
    p = bg.p_alive(summary)
    assert np.all(p > 0.999)
    assert np.all(np.isfinite(bg.conditional_expected_purchases(52.0, summary)))
    assert np.all(np.isfinite(bg.expected_purchases([1.0, 52.0, 1e4])))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fitted = btyd.BetaGeo(penalizer=0.01).fit(summary)
    assert fitted.weakly_identified_ == []
    assert np.all(np.isfinite(fitted.standard_errors_))


def test_well_identified_fit_does_not_warn(small_sample: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bg = btyd.BetaGeo().fit(small_sample)
    assert bg.weakly_identified_ == []


def test_homogeneous_dropout_runs_a_and_b_to_infinity() -> None:
    # Everybody drops out with the same probability 0.2: Beta(a, b) collapses, a, b -> inf.
    rng = np.random.default_rng(3)
    n = 4000
    lam = rng.gamma(0.5, 1.0 / 5.0, n)
    t_obs = rng.uniform(20.0, 60.0, n)
    arrivals = rng.poisson(lam * t_obs)
    x = np.minimum(rng.geometric(0.2, n), arrivals)
    frac = rng.beta(np.maximum(x, 1), np.maximum(arrivals - x + 1, 1))
    summary = pd.DataFrame(
        {"frequency": x, "recency": np.where(x > 0, t_obs * frac, 0.0), "T": t_obs}
    )
    with pytest.warns(ConvergenceWarning, match=r"barely identify \['a', 'b'\]"):
        bg = btyd.BetaGeo().fit(summary)
    assert bg.weakly_identified_ == ["a", "b"]
    # Only the ratio is determined: the mean dropout probability a / (a + b).
    p = bg.params_["a"] / (bg.params_["a"] + bg.params_["b"])
    assert p == pytest.approx(0.2, rel=0.1)
    assert bg.params_["r"] / bg.params_["alpha"] == pytest.approx(0.1, rel=0.1)
    values = bg.conditional_expected_purchases(26.0, summary)
    assert np.all(np.isfinite(values)) and np.all(values >= 0)


GOOD = {"frequency": [0, 2, 1], "recency": [0.0, 5.0, 3.0], "T": [10.0, 10.0, 4.0]}


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"frequency": [-1, 2, 1]}, "non-negative"),
        ({"frequency": [np.nan, 2, 1]}, "missing or infinite"),
        ({"frequency": [0, 2.5, 1]}, "whole numbers"),
        ({"recency": [0.0, 11.0, 3.0]}, "cannot exceed 'T'"),
        ({"recency": [0.0, 0.0, 3.0]}, "recency > 0"),
        ({"recency": [1.0, 5.0, 3.0]}, "must have recency 0"),
        ({"T": [10.0, np.inf, 4.0]}, "missing or infinite"),
    ],
)
def test_bad_summaries_raise_clear_errors(change: dict[str, Any], match: str) -> None:
    frame = pd.DataFrame({**GOOD, **change}, index=["O-1", "O-2", "O-3"])
    with pytest.raises(InvalidParameterError, match=match) as info:
        btyd.BetaGeo().fit(frame)
    assert "O-" in str(info.value)


def test_missing_columns_and_wrong_types() -> None:
    with pytest.raises(InvalidParameterError, match=r"lacks the column\(s\) \['T'\]"):
        btyd.ParetoNBD().fit(pd.DataFrame({"frequency": [1], "recency": [1.0]}))
    with pytest.raises(InvalidParameterError, match="DataFrame"):
        btyd.BetaGeo().fit(np.zeros((3, 3)))  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="repeat purchases"):
        btyd.BetaGeo().fit(
            pd.DataFrame({"frequency": [0, 0], "recency": [0.0, 0.0], "T": [1.0, 2.0]})
        )
    with pytest.raises(InvalidParameterError, match="'penalizer'"):
        btyd.BetaGeo(penalizer=-1.0).fit(pd.DataFrame(GOOD))
    with pytest.raises(InvalidParameterError, match="'covariates_on'"):
        btyd.BetaGeo(covariates_on=("beta",)).fit(pd.DataFrame(GOOD))
    with pytest.raises(InvalidParameterError, match="does not take covariates"):
        btyd.ParetoNBD()._fit(pd.DataFrame(GOOD), ["frequency"])
    with pytest.raises(InvalidParameterError, match="constant"):
        btyd.BetaGeo().fit(pd.DataFrame({**GOOD, "k": 1.0}), covariates=["k"])
    with pytest.raises(InvalidParameterError, match="not in the summary"):
        btyd.BetaGeo().fit(pd.DataFrame(GOOD), covariates=["size"])


def test_gamma_gamma_rejects_non_positive_spend() -> None:
    frame = pd.DataFrame({"frequency": [0, 2, 1, 3], "monetary_value": [0.0, 10.0, -5.0, 0.0]})
    with pytest.raises(InvalidParameterError, match="positive finite average") as info:
        btyd.GammaGamma().fit(frame)
    assert "[2, 3]" in str(info.value)
    with pytest.raises(InvalidParameterError, match="monetary_value"):
        btyd.GammaGamma().fit(frame[["frequency"]])


def test_not_fitted_errors() -> None:
    for model in (btyd.BetaGeo(), btyd.ParetoNBD(), btyd.ModifiedBetaGeo()):
        with pytest.raises(NotFittedError, match="fit"):
            model.p_alive(pd.DataFrame(GOOD))
        with pytest.raises(NotFittedError):
            model.expected_purchases(1.0)
    with pytest.raises(NotFittedError):
        btyd.GammaGamma().conditional_expected_average_profit(frequency=[1], monetary_value=[2.0])


def test_prediction_input_errors(small_sample: pd.DataFrame) -> None:
    bg = btyd.BetaGeo().fit(small_sample)
    with pytest.raises(InvalidParameterError, match="'t'"):
        bg.expected_purchases(-1.0)
    with pytest.raises(InvalidParameterError, match="'t'"):
        bg.expected_purchases("a year")
    with pytest.raises(InvalidParameterError, match="'t'"):
        bg.conditional_expected_purchases("a year", small_sample)
    with pytest.raises(InvalidParameterError, match="one horizon per customer"):
        bg.conditional_expected_purchases([1.0, 2.0], small_sample)
    with pytest.raises(InvalidParameterError, match="not both"):
        bg.p_alive(small_sample, frequency=[1])
    with pytest.raises(InvalidParameterError, match="without covariates"):
        bg.p_alive(small_sample, covariates=["frequency"])
    with pytest.raises(InvalidParameterError, match="without covariates"):
        bg.expected_purchases(10.0, covariates=np.ones((3, 1)))


def test_lifetime_value_parameters(small_sample: pd.DataFrame) -> None:
    bg = btyd.BetaGeo().fit(small_sample)
    with pytest.raises(InvalidParameterError, match="time unit"):
        btyd.lifetime_value(bg, small_sample, monetary_value=1.0)
    with pytest.raises(InvalidParameterError, match="'freq'"):
        btyd.lifetime_value(bg, small_sample, monetary_value=1.0, freq="2W")
    with pytest.raises(InvalidParameterError, match="'time'"):
        btyd.lifetime_value(bg, small_sample, monetary_value=1.0, freq="W", time=0)
    with pytest.raises(InvalidParameterError, match="'discount_rate'"):
        btyd.lifetime_value(bg, small_sample, monetary_value=1.0, freq="W", discount_rate=-0.1)
    with pytest.raises(InvalidParameterError, match="one per customer"):
        btyd.lifetime_value(bg, small_sample, monetary_value=[1.0, 2.0], freq="W")
    with pytest.raises(InvalidParameterError, match="'transaction_model'"):
        btyd.lifetime_value("BetaGeo", small_sample, monetary_value=1.0, freq="W")
    tagged = small_sample.copy()
    tagged.attrs["freq"] = "W"
    by_attrs = btyd.lifetime_value(bg, tagged, monetary_value=1.0)
    explicit = btyd.lifetime_value(bg, small_sample, monetary_value=1.0, freq="W")
    np.testing.assert_array_equal(by_attrs.to_numpy(), explicit.to_numpy())
    weeks_per_month = btyd.lifetime_value(
        bg, small_sample, monetary_value=1.0, freq=365.25 / 12 / 7
    )
    np.testing.assert_allclose(weeks_per_month.to_numpy(), explicit.to_numpy(), rtol=1e-12)


@pytest.mark.parametrize(
    ("cls", "truth"), [(btyd.BetaGeo, BG_TRUTH), (btyd.ParetoNBD, PARETO_TRUTH)]
)
def test_lifetime_value_sums_conditional_expectations(cls: Any, truth: dict[str, float]) -> None:
    sample = btyd.simulate_summary(cls, T=40.0, n_customers=500, params=truth, random_state=3)
    model = cls().fit(sample)
    per_month = 365.25 / 12 / 7
    clv = btyd.lifetime_value(model, sample, monetary_value=2.0, time=3, freq="W")
    expected = sum(
        2.0
        * (
            model.conditional_expected_purchases(month * per_month, sample)
            - model.conditional_expected_purchases((month - 1) * per_month, sample)
        )
        / 1.01**month
        for month in (1, 2, 3)
    )
    np.testing.assert_allclose(clv.to_numpy(), expected.to_numpy(), rtol=1e-10, atol=1e-12)


def test_simulate_summary_validation() -> None:
    with pytest.raises(InvalidParameterError, match="lack"):
        btyd.simulate_summary(btyd.BetaGeo, T=1.0, n_customers=2, params={"r": 1.0})
    with pytest.raises(InvalidParameterError, match="n_customers"):
        btyd.simulate_summary(btyd.BetaGeo, T=1.0, params=BG_TRUTH)
    with pytest.raises(InvalidParameterError, match="'n_customers'"):
        btyd.simulate_summary(btyd.BetaGeo, T=1.0, n_customers=2.5, params=BG_TRUTH)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'T'"):
        btyd.simulate_summary(btyd.BetaGeo, T="a year", n_customers=2, params=BG_TRUTH)
    with pytest.raises(InvalidParameterError, match="positive numbers"):
        btyd.simulate_summary(btyd.BetaGeo, T=1.0, n_customers=2, params={**BG_TRUTH, "r": "x"})
    with pytest.raises(InvalidParameterError, match="fitted model"):
        btyd.simulate_summary(btyd.ParetoNBD, T=1.0, n_customers=2)
    with pytest.raises(InvalidParameterError, match="must be BetaGeo"):
        btyd.simulate_summary(btyd.GammaGamma, T=1.0, n_customers=2, params={})  # type: ignore[arg-type]
    a = btyd.simulate_summary(
        btyd.ParetoNBD, T=20.0, n_customers=100, params=PARETO_TRUTH, random_state=3
    )
    b = btyd.simulate_summary(
        btyd.ParetoNBD, T=20.0, n_customers=100, params=PARETO_TRUTH, random_state=3
    )
    pd.testing.assert_frame_equal(a, b)
    assert (a["recency"] <= a["T"]).all()
    assert ((a["frequency"] > 0) == (a["recency"] > 0)).all()


@pytest.mark.parametrize("archive", [False, True])
def test_persistence_round_trip_is_bit_exact(archive: bool) -> None:
    persist = pytest.importorskip("b2bclient.persist")
    rng = np.random.default_rng(17)
    sample = btyd.simulate_summary(
        btyd.BetaGeo,
        T=40.0,
        n_customers=1500,
        params={**BG_TRUTH, "gamma1[size]": 0.3},
        covariates=pd.DataFrame({"size": rng.normal(size=1500)}),
        random_state=18,
    )
    sample["monetary_value"] = np.where(
        sample["frequency"] > 0,
        simulate_monetary({"p": 6, "q": 4, "v": 15}, sample["frequency"], random_state=19),
        0.0,
    )
    sample.attrs["freq"] = "W"
    models = [
        btyd.BetaGeo().fit(sample, covariates=["size"]),
        btyd.BetaGeo(penalizer=0.01).fit(sample),
        btyd.ModifiedBetaGeo().fit(sample),
        btyd.ParetoNBD().fit(sample),
    ]
    for model in models:
        copy = persist.roundtrip(model, archive=archive)
        persist.assert_same_state(model, copy)
        assert copy.get_params() == model.get_params()
        for method in ("p_alive",):
            np.testing.assert_array_equal(
                getattr(copy, method)(sample).to_numpy(), getattr(model, method)(sample).to_numpy()
            )
        np.testing.assert_array_equal(
            copy.conditional_expected_purchases(13.0, sample).to_numpy(),
            model.conditional_expected_purchases(13.0, sample).to_numpy(),
        )
        np.testing.assert_array_equal(
            btyd.lifetime_value(copy, sample).to_numpy(),
            btyd.lifetime_value(model, sample).to_numpy(),
        )
    gg = btyd.GammaGamma().fit(sample)
    gg_copy = persist.roundtrip(gg, archive=archive)
    persist.assert_same_state(gg, gg_copy)
    np.testing.assert_array_equal(
        gg_copy.conditional_expected_average_profit(sample).to_numpy(),
        gg.conditional_expected_average_profit(sample).to_numpy(),
    )
