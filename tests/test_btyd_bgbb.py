"""The BG/BB model for discrete opportunities: published estimates, agreement with lifetimes,
validation, simulation, persistence and the discrete summary of a ClientBase."""

from __future__ import annotations

import warnings
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

import b2bclient.btyd as btyd
from b2bclient import ClientBase, InvalidParameterError, NotFittedError
from b2bclient.btyd._bgbb import _bgbb_loglik
from b2bclient.btyd._mle import Design, _objective, group_rows

PUBLISHED = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}


@pytest.fixture(scope="module")
def donations() -> pd.DataFrame:
    """Fader, Hardie & Shang (2010): 11 104 first-time donors of 1995, six yearly opportunities."""
    try:
        dist = distribution("lifetimes")
    except PackageNotFoundError:
        pytest.skip("the donations data ship with lifetimes==0.11.3 (the 'test' extra)")
    path = Path(str(dist.locate_file("lifetimes/datasets/donations.csv")))
    frame = pd.read_csv(path).rename(columns={"periods": "n_periods"})
    assert int(frame["weights"].sum()) == 11104
    return frame


@pytest.fixture(scope="module")
def fitted(donations: pd.DataFrame) -> btyd.BetaGeoBetaBinom:
    return btyd.BetaGeoBetaBinom().fit(donations, weights="weights")


@pytest.fixture(scope="module")
def lifetimes_model(fitted: btyd.BetaGeoBetaBinom) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lifetimes = pytest.importorskip("lifetimes")
    reference = lifetimes.BetaGeoBetaBinomFitter()
    reference.params_ = fitted.params_.copy()
    return reference


def _sig3(value: float) -> float:
    return float(f"{value:.3g}")


def test_reproduces_the_published_donations_estimates(fitted: btyd.BetaGeoBetaBinom) -> None:
    for name, value in PUBLISHED.items():
        assert _sig3(fitted.params_[name]) == _sig3(value), name
    assert fitted.log_likelihood_ == pytest.approx(-33225.6, abs=0.05)
    assert list(fitted.params_.index) == ["alpha", "beta", "gamma", "delta"]
    assert fitted.n_customers_ == 11104.0
    assert fitted.weakly_identified_ == []
    assert (fitted.standard_errors_ > 0).all()


def test_compressed_and_individual_rows_give_the_same_fit(
    donations: pd.DataFrame, fitted: btyd.BetaGeoBetaBinom
) -> None:
    individual = donations.loc[donations.index.repeat(donations["weights"])].reset_index(drop=True)
    again = btyd.BetaGeoBetaBinom().fit(individual[["frequency", "recency", "n_periods"]])
    np.testing.assert_allclose(again.params_, fitted.params_, rtol=1e-7)
    assert again.log_likelihood_ == pytest.approx(fitted.log_likelihood_, rel=1e-12)
    by_array = btyd.BetaGeoBetaBinom().fit(donations, weights=donations["weights"].to_numpy())
    np.testing.assert_array_equal(by_array.params_, fitted.params_)


def _relative(ours: Any, theirs: Any) -> float:
    a = np.asarray(ours, dtype=float)
    b = np.asarray(theirs, dtype=float)
    return float(np.max(np.abs(a - b) / np.abs(b)))


def test_predictions_match_lifetimes(
    donations: pd.DataFrame, fitted: btyd.BetaGeoBetaBinom, lifetimes_model: Any
) -> None:
    x, tx, n = (donations[c].to_numpy() for c in ("frequency", "recency", "n_periods"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for m in (0, 1, 5):
            theirs = lifetimes_model.conditional_probability_alive(m, x, tx, n)
            assert _relative(fitted.p_alive(donations, m_periods=m), theirs) < 1e-8
        for t in (1, 5, 10, 100):
            theirs = lifetimes_model.conditional_expected_number_of_purchases_up_to_time(
                t, x, tx, n
            )
            assert _relative(fitted.conditional_expected_purchases(t, donations), theirs) < 1e-8
        # lifetimes gives the distribution of X(n) over the frequencies of its data.
        lifetimes_model.data = donations.rename(columns={"n_periods": "n"})
        for periods in range(1, 7):
            table = lifetimes_model.expected_number_of_transactions_in_first_n_periods(periods)
            mean = float(table.index.to_numpy() @ table["model"].to_numpy()) / 11104
            assert _relative(fitted.expected_purchases(periods), mean) < 1e-8


def test_predictions_are_series_for_frames_and_arrays_for_arrays(
    donations: pd.DataFrame, fitted: btyd.BetaGeoBetaBinom
) -> None:
    p = fitted.p_alive(donations)
    assert isinstance(p, pd.Series) and p.name == "p_alive" and p.index.equals(donations.index)
    e = fitted.conditional_expected_purchases(3, donations)
    assert isinstance(e, pd.Series) and e.name == "expected_purchases"
    arrays = fitted.p_alive(frequency=[0, 6], recency=[0, 6], n_periods=[6, 6])
    assert isinstance(arrays, np.ndarray)
    # A purchase at the last opportunity means alive there; silence lowers the chance.
    assert arrays[1] == pytest.approx(1.0) and arrays[0] < 0.5
    per_customer = fitted.conditional_expected_purchases(np.arange(len(donations)) % 4, donations)
    assert per_customer.iloc[0] == 0.0 and (per_customer >= 0).all()
    assert fitted.expected_purchases(0)[()] == 0.0
    assert fitted.expected_purchases([[1, 2], [3, 4]]).shape == (2, 2)


def test_gamma_of_one_has_no_singularity() -> None:
    model = btyd.BetaGeoBetaBinom()
    history = {"frequency": [2], "recency": [4], "n_periods": [6]}
    values = []
    for gamma in (1.0 - 1e-9, 1.0, 1.0 + 1e-9):
        model.params_ = pd.Series({"alpha": 1.0, "beta": 1.0, "gamma": gamma, "delta": 2.0})
        values.append(
            [
                model.conditional_expected_purchases(10, **history)[0],
                model.expected_purchases(10)[()],
            ]
        )
    assert np.all(np.isfinite(values))
    np.testing.assert_allclose(values[0], values[1], rtol=1e-7)
    np.testing.assert_allclose(values[2], values[1], rtol=1e-7)


def test_analytic_gradient_matches_finite_differences(donations: pd.DataFrame) -> None:
    rows = group_rows(
        {
            "x": donations["frequency"].to_numpy(np.float64),
            "tx": donations["recency"].to_numpy(np.float64),
            "n": donations["n_periods"].to_numpy(np.float64),
        },
        weights=donations["weights"].to_numpy(np.float64),
    )
    fun = _objective(_bgbb_loglik, Design(("alpha", "beta", "gamma", "delta")), rows, 0.0, 11104.0)
    v = np.log([0.9, 1.3, 0.5, 4.0])
    numeric = np.array([(fun(v + h)[0] - fun(v - h)[0]) / 2e-6 for h in np.eye(4) * 1e-6])
    np.testing.assert_allclose(fun(v)[1], numeric, rtol=1e-6, atol=1e-9)


GOOD = {"frequency": [0, 2, 1], "recency": [0, 5, 3], "n_periods": [6, 6, 4]}


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"frequency": [0, 7, 1]}, "'frequency' given to .* cannot exceed 'n_periods'"),
        ({"recency": [0, 7, 3], "frequency": [0, 2, 1]}, "'recency' given to .* cannot exceed"),
        ({"frequency": [0, 2.5, 1]}, "whole numbers of purchase opportunities"),
        ({"n_periods": [6.5, 6, 4]}, "whole numbers of purchase opportunities"),
        ({"recency": [0, 1, 3]}, "cannot exceed 'recency'"),
        ({"recency": [2, 5, 3]}, "must have recency 0"),
        ({"n_periods": [6, -6, 4]}, "whole numbers"),
        ({"frequency": [0, np.nan, 1]}, "missing or infinite"),
    ],
)
def test_bad_summaries_raise_clear_errors(change: dict[str, Any], match: str) -> None:
    frame = pd.DataFrame({**GOOD, **change}, index=["O-1", "O-2", "O-3"])
    with pytest.raises(InvalidParameterError, match=match) as info:
        btyd.BetaGeoBetaBinom().fit(frame)
    assert "O-" in str(info.value)


def test_bad_weights_arguments_and_use_before_fit(fitted: btyd.BetaGeoBetaBinom) -> None:
    frame = pd.DataFrame(GOOD)
    model = btyd.BetaGeoBetaBinom()
    with pytest.raises(InvalidParameterError, match="weights column 'count'"):
        model.fit(frame, weights="count")
    with pytest.raises(InvalidParameterError, match="one value per summary row"):
        model.fit(frame, weights=[1.0, 2.0])
    with pytest.raises(InvalidParameterError, match=">= 0"):
        model.fit(frame, weights=[1.0, -2.0, 1.0])
    with pytest.raises(InvalidParameterError, match="all 0"):
        model.fit(frame, weights=[0, 0, 0])
    with pytest.raises(InvalidParameterError, match="discrete_summary"):
        model.fit(pd.DataFrame({"frequency": [1], "recency": [1], "T": [2.0]}))
    with pytest.raises(InvalidParameterError, match="DataFrame"):
        model.fit(np.zeros((3, 3)))  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="repeat purchases"):
        model.fit(pd.DataFrame({"frequency": [0, 0], "recency": [0, 0], "n_periods": [3, 4]}))
    with pytest.raises(InvalidParameterError, match="'penalizer'"):
        btyd.BetaGeoBetaBinom(penalizer=-1.0).fit(frame)
    with pytest.raises(NotFittedError):
        btyd.BetaGeoBetaBinom().p_alive(frame)
    with pytest.raises(InvalidParameterError, match=r"'t' parameter .* whole number"):
        fitted.conditional_expected_purchases(2.5, frame)
    with pytest.raises(InvalidParameterError, match="'m_periods'"):
        fitted.p_alive(frame, m_periods=-1)
    with pytest.raises(InvalidParameterError, match="'n_periods' parameter"):
        fitted.expected_purchases(1.5)


def test_simulation_recovers_the_parameters() -> None:
    sample = btyd.simulate_summary(
        btyd.BetaGeoBetaBinom, 8, n_customers=40_000, params=PUBLISHED, random_state=4
    )
    assert list(sample.columns) == ["frequency", "recency", "n_periods"]
    assert (sample.dtypes == np.int64).all()
    assert (sample["frequency"] <= sample["recency"]).all()
    assert (sample["recency"] <= sample["n_periods"]).all()
    assert ((sample["frequency"] == 0) == (sample["recency"] == 0)).all()
    model = btyd.BetaGeoBetaBinom().fit(sample)
    for name, value in PUBLISHED.items():
        error = abs(model.params_[name] - value)
        assert error < 4 * model.standard_errors_[name], name
    # The same seed draws the same customers.
    again = btyd.simulate_summary(
        btyd.BetaGeoBetaBinom, 8, n_customers=40_000, params=PUBLISHED, random_state=4
    )
    pd.testing.assert_frame_equal(sample, again)
    # The mean number of purchases matches the model's expectation.
    assert sample["frequency"].mean() == pytest.approx(float(model.expected_purchases(8)), rel=0.03)
    with pytest.raises(InvalidParameterError, match="whole numbers"):
        btyd.simulate_summary(btyd.BetaGeoBetaBinom, 2.5, n_customers=3, params=PUBLISHED)


@pytest.mark.parametrize("archive", [False, True])
def test_persistence_round_trip_is_bit_exact(
    archive: bool, donations: pd.DataFrame, fitted: btyd.BetaGeoBetaBinom
) -> None:
    persist = pytest.importorskip("b2bclient.persist")
    copy = persist.roundtrip(fitted, archive=archive)
    persist.assert_same_state(fitted, copy)
    assert copy.get_params() == fitted.get_params()
    np.testing.assert_array_equal(copy.p_alive(donations), fitted.p_alive(donations))
    np.testing.assert_array_equal(
        copy.conditional_expected_purchases(4, donations),
        fitted.conditional_expected_purchases(4, donations),
    )


def test_few_opportunities_warn_about_weak_identification() -> None:
    sample = btyd.simulate_summary(
        btyd.BetaGeoBetaBinom, 1, n_customers=300, params=PUBLISHED, random_state=2
    )
    with pytest.warns(ConvergenceWarning, match="few opportunities"):
        model = btyd.BetaGeoBetaBinom().fit(sample)
    assert model.weakly_identified_
    assert np.all(np.isfinite(model.p_alive(sample)))


def _yearly_base(extra: list[tuple[str, str]] | None = None) -> ClientBase:
    orders = [
        ("O-1", "2019-03-01"),
        ("O-1", "2019-09-01"),  # same year as the first purchase
        ("O-1", "2020-05-01"),
        ("O-1", "2022-02-01"),
        ("O-2", "2021-07-01"),
        ("O-3", "2024-01-15"),  # first purchase in the unfinished year
        ("O-1", "2024-02-01"),
    ] + (extra or [])
    deals = pd.DataFrame(orders, columns=["organisation_id", "created_at"]).assign(amount=10.0)
    organisations = pd.DataFrame(
        {"organisation_id": ["O-1", "O-2", "O-3"], "created_at": ["2019-01-01"] * 3}
    )
    return ClientBase.from_frames(organisations=organisations, deals=deals)


def test_discrete_summary_counts_whole_periods() -> None:
    summary = btyd.discrete_summary(_yearly_base(), "2024-03-01", period="Y")
    expected = pd.DataFrame(
        {
            "frequency": np.array([2, 0], dtype=np.int64),
            "recency": np.array([3, 0], dtype=np.int64),
            "n_periods": np.array([4, 2], dtype=np.int64),
        },
        index=pd.Index(["O-1", "O-2"], dtype=object, name="organisation_id"),
    )
    pd.testing.assert_frame_equal(summary, expected)
    assert summary.attrs["period"] == "Y"
    assert summary.attrs["unfinished_period_purchases"] == 2
    # At the start of a year, the year before is complete.
    at_new_year = btyd.discrete_summary(_yearly_base(), "2024-01-01", period="Y")
    assert at_new_year.loc["O-1", "n_periods"] == 4
    assert at_new_year.attrs["unfinished_period_purchases"] == 0
    quarterly = btyd.discrete_summary(_yearly_base(), "2024-03-01", period="Q")
    assert quarterly.loc["O-1", "n_periods"] == 19  # 2019Q1 .. 2023Q4
    btyd.BetaGeoBetaBinom(penalizer=0.1).fit(quarterly)


def test_discrete_summary_is_point_in_time() -> None:
    later = [("O-2", "2024-03-01"), ("O-2", "2025-06-01"), ("O-4", "2024-05-01")]
    base = _yearly_base()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with_later = ClientBase.from_frames(
            organisations=pd.concat(
                [
                    base.organisations[["organisation_id", "created_at"]],
                    pd.DataFrame({"organisation_id": ["O-4"], "created_at": ["2024-04-01"]}),
                ]
            ),
            deals=pd.DataFrame(
                [
                    *zip(base.deals["organisation_id"], base.deals["created_at"], strict=True),
                    *later,
                ],
                columns=["organisation_id", "created_at"],
            ).assign(amount=10.0),
        )
    pd.testing.assert_frame_equal(
        btyd.discrete_summary(base, "2024-03-01"), btyd.discrete_summary(with_later, "2024-03-01")
    )


def test_discrete_summary_validation_and_late_as_of() -> None:
    with pytest.raises(InvalidParameterError, match="'freq'"):
        btyd.discrete_summary(_yearly_base(), "2024-03-01", period="2Y")
    with pytest.raises(InvalidParameterError, match="ClientBase"):
        btyd.discrete_summary(pd.DataFrame(), "2024-03-01")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="never defaults to now"):
        btyd.discrete_summary(_yearly_base(), None)
    with pytest.warns(UserWarning, match="after the last event"):
        btyd.discrete_summary(_yearly_base(), "2030-01-01")
    empty = btyd.discrete_summary(_yearly_base(), "2019-06-01")
    assert empty.empty and list(empty.columns) == ["frequency", "recency", "n_periods"]


ESTIMATORS = [
    btyd.BetaGeo,
    btyd.ModifiedBetaGeo,
    btyd.ParetoNBD,
    btyd.GammaGamma,
    btyd.BetaGeoBetaBinom,
]


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_scikit_learn_contract(cls: Any) -> None:
    # The BTYD models fit on summary frames with named columns, not on X arrays, so the checks
    # of scikit-learn's suite that apply are those about parameters and cloning.
    from sklearn.utils.estimator_checks import (
        check_get_params_invariance,
        check_no_attributes_set_in_init,
        check_parameters_default_constructible,
        check_set_params,
    )

    name = cls.__name__
    check_parameters_default_constructible(name, cls())
    check_no_attributes_set_in_init(name, cls())
    check_get_params_invariance(name, cls())
    check_set_params(name, cls())
    model = cls(penalizer=0.5)
    assert clone(model).get_params() == model.get_params()
    with pytest.raises(TypeError):
        cls(0.5)  # keyword-only
