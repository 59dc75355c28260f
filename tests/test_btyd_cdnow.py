"""Buy-till-you-die models on the CDNOW data: published estimates and agreement with lifetimes.

The CDNOW summaries ship inside the lifetimes distribution (test extra); they are located with
importlib.metadata, never downloaded, and lifetimes itself is only imported by the tests that
compare against it.
"""

from __future__ import annotations

import warnings
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import b2bclient.btyd as btyd
from b2bclient import ClientBase


def _cdnow_file(name: str) -> Path:
    try:
        dist = distribution("lifetimes")
    except PackageNotFoundError:
        pytest.skip("the CDNOW data ship with lifetimes==0.11.3 (the 'test' extra), not installed")
    path = Path(str(dist.locate_file(f"lifetimes/datasets/{name}")))
    assert path.is_file(), f"lifetimes is installed but {path} is missing"
    return path


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    """CDNOW cohort, 2357 customers, times in weeks (Fader, Hardie & Lee 2005)."""
    frame = pd.read_csv(_cdnow_file("cdnow_customers_summary.csv"), index_col="ID")
    assert len(frame) == 2357
    return frame


@pytest.fixture(scope="module")
def cdnow_monetary() -> pd.DataFrame:
    """The same cohort with the average value of repeat purchases ``zbar``."""
    frame = pd.read_csv(
        _cdnow_file("cdnow_customers_summary_with_transactions.csv"), index_col="ID"
    )
    frame = frame.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})
    assert int((frame["frequency"] > 0).sum()) == 946
    return frame


@pytest.fixture(scope="module")
def cdnow_orders() -> ClientBase:
    """The CDNOW order log (1/10th sample, 2 357 customers), loaded as a user would load orders."""
    raw = pd.read_csv(
        _cdnow_file("CDNOW_sample.txt"),
        sep=r"\s+",
        header=None,
        names=["master_id", "organisation_id", "date", "quantity", "amount"],
        dtype={"organisation_id": str, "date": str},
    )
    orders = pd.DataFrame(
        {
            "organisation_id": raw["organisation_id"],
            "created_at": pd.to_datetime(raw["date"], format="%Y%m%d"),
            "amount": raw["amount"],
        }
    )
    first = orders.groupby("organisation_id")["created_at"].min()
    organisations = pd.DataFrame({"organisation_id": first.index, "created_at": first.to_numpy()})
    return ClientBase.from_frames(organisations=organisations, deals=orders)


def test_cdnow_order_log_gives_the_published_bg_nbd_estimates(
    cdnow_orders: ClientBase, cdnow: pd.DataFrame
) -> None:
    # Calibration period: 1997-01-01 to 1997-09-30 (39 weeks); repeat purchases counted per
    # day, recency and T measured in weeks, as in Fader, Hardie & Lee (2005).
    summary = btyd.rfm_summary(cdnow_orders, "1997-10-01", freq="D", time_unit="W")
    assert len(summary) == 2357
    assert summary.attrs["freq"] == "D" and summary.attrs["time_unit"] == "W"
    published = cdnow.set_axis(summary.index)  # customers 1..2357, in the same order
    np.testing.assert_array_equal(summary["frequency"], published["frequency"])
    np.testing.assert_array_equal(summary["recency"].round(2), published["recency"])
    np.testing.assert_array_equal(summary["T"].round(2), published["T"])
    bg = btyd.BetaGeo().fit(summary)
    for name, value in {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}.items():
        assert _sig3(bg.params_[name]) == _sig3(value), name
    assert bg.log_likelihood_ == pytest.approx(-9582.4, abs=0.1)
    assert bg.time_unit_ == "W"


@pytest.fixture(scope="module")
def fitted(cdnow: pd.DataFrame) -> dict[str, Any]:
    return {
        "BetaGeo": btyd.BetaGeo().fit(cdnow),
        "ModifiedBetaGeo": btyd.ModifiedBetaGeo().fit(cdnow),
        "ParetoNBD": btyd.ParetoNBD().fit(cdnow),
    }


def _sig3(value: float) -> float:
    return float(f"{value:.3g}")


def test_bg_nbd_reproduces_fader_hardie_lee_2005(fitted: dict[str, Any]) -> None:
    bg = fitted["BetaGeo"]
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert _sig3(bg.params_[name]) == _sig3(value), name
    assert bg.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)
    assert list(bg.params_.index) == ["r", "alpha", "a", "b"]


def test_pareto_nbd_reproduces_published_estimates(fitted: dict[str, Any]) -> None:
    pnbd = fitted["ParetoNBD"]
    published = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
    for name, value in published.items():
        assert _sig3(pnbd.params_[name]) == _sig3(value), name
    assert pnbd.log_likelihood_ == pytest.approx(-9595.0, abs=0.05)


def test_gamma_gamma_reproduces_fader_hardie_note(cdnow_monetary: pd.DataFrame) -> None:
    gg = btyd.GammaGamma().fit(cdnow_monetary)
    for name, value in {"p": 6.25, "q": 3.74, "v": 15.44}.items():
        assert _sig3(gg.params_[name]) == _sig3(value), name
    assert gg.n_customers_ == 946
    assert gg.n_ignored_ == 2357 - 946


def test_standard_errors_and_summary(fitted: dict[str, Any]) -> None:
    bg = fitted["BetaGeo"]
    assert bg.standard_errors_.index.equals(bg.params_.index)
    assert (bg.standard_errors_ > 0).all()
    # Within 1% of lifetimes' standard errors on CDNOW (inverse Hessian, delta method).
    expected = {"r": 0.0126, "alpha": 0.378, "a": 0.186, "b": 0.705}
    for name, value in expected.items():
        assert bg.standard_errors_[name] == pytest.approx(value, rel=0.01), name
    summary = bg.summary_
    assert list(summary.columns) == ["coef", "se(coef)", "lower 95% bound", "upper 95% bound"]
    assert (summary["lower 95% bound"] < summary["coef"]).all()
    assert (summary["coef"] < summary["upper 95% bound"]).all()
    assert (summary["lower 95% bound"] > 0).all()
    assert np.allclose(np.diag(bg.covariance_.to_numpy()), bg.standard_errors_.to_numpy() ** 2)


@pytest.fixture(scope="module")
def lifetimes_module() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pytest.importorskip("lifetimes")


def _relative_error(ours: Any, theirs: Any) -> float:
    a = np.asarray(ours, dtype=float)
    b = np.asarray(theirs, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("BetaGeo", "BetaGeoFitter"),
        ("ModifiedBetaGeo", "ModifiedBetaGeoFitter"),
        ("ParetoNBD", "ParetoNBDFitter"),
    ],
)
def test_predictions_match_lifetimes(
    ours: str, theirs: str, fitted: dict[str, Any], cdnow: pd.DataFrame, lifetimes_module: Any
) -> None:
    model = fitted[ours]
    reference = getattr(lifetimes_module, theirs)()
    reference.params_ = model.params_.copy()
    x, tx, t_obs = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert (
            _relative_error(
                model.p_alive(cdnow), reference.conditional_probability_alive(x, tx, t_obs)
            )
            < 1e-6
        )
        for t in (1.0, 10.0, 39.0, 104.0):
            expected = reference.conditional_expected_number_of_purchases_up_to_time(
                t, x, tx, t_obs
            )
            assert _relative_error(model.conditional_expected_purchases(t, cdnow), expected) < 1e-6
        horizons = np.array([1.0, 5.0, 20.0, 39.0, 78.0, 200.0])
        assert (
            _relative_error(
                model.expected_purchases(horizons),
                reference.expected_number_of_purchases_up_to_time(horizons),
            )
            < 1e-6
        )


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [("BetaGeo", "BetaGeoFitter"), ("ModifiedBetaGeo", "ModifiedBetaGeoFitter")],
)
def test_fitted_parameters_match_lifetimes(
    ours: str, theirs: str, fitted: dict[str, Any], cdnow: pd.DataFrame, lifetimes_module: Any
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = getattr(lifetimes_module, theirs)().fit(
            cdnow["frequency"], cdnow["recency"], cdnow["T"]
        )
    assert _relative_error(fitted[ours].params_, reference.params_[fitted[ours].params_.index]) < (
        1e-4
    )


def test_gamma_gamma_and_lifetime_value_match_lifetimes(
    cdnow_monetary: pd.DataFrame, fitted: dict[str, Any], lifetimes_module: Any
) -> None:
    gg = btyd.GammaGamma().fit(cdnow_monetary)
    bg = fitted["BetaGeo"]
    reference = lifetimes_module.GammaGammaFitter()
    reference.params_ = gg.params_.copy()
    bg_reference = lifetimes_module.BetaGeoFitter()
    bg_reference.params_ = bg.params_.copy()
    bg_reference.predict = bg_reference.conditional_expected_number_of_purchases_up_to_time
    x, m = cdnow_monetary["frequency"], cdnow_monetary["monetary_value"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected_profit = reference.conditional_expected_average_profit(x, m)
        expected_clv = reference.customer_lifetime_value(
            bg_reference,
            x,
            cdnow_monetary["recency"],
            cdnow_monetary["T"],
            m,
            time=12,
            discount_rate=0.01,
            freq="W",
        )
    assert _relative_error(
        gg.conditional_expected_average_profit(cdnow_monetary), expected_profit
    ) < (1e-9)
    # lifetimes counts 4.345 weeks per month; a numeric freq reproduces its convention.
    clv = gg.customer_lifetime_value(bg, cdnow_monetary, time=12, discount_rate=0.01, freq=4.345)
    assert clv.name == "clv"
    assert clv.index.equals(cdnow_monetary.index)
    assert _relative_error(clv, expected_clv) < 1e-6


def test_lifetime_value_discounting(fitted: dict[str, Any], cdnow_monetary: pd.DataFrame) -> None:
    bg = fitted["BetaGeo"]
    flat = btyd.lifetime_value(bg, cdnow_monetary, monetary_value=10.0, discount_rate=0.0, freq="W")
    purchases = bg.conditional_expected_purchases(12 * 365.25 / 12 / 7, cdnow_monetary)
    assert np.allclose(flat, 10.0 * purchases, rtol=1e-12)
    discounted = btyd.lifetime_value(bg, cdnow_monetary, monetary_value=10.0, freq="W")
    assert (discounted <= flat).all()
    assert (discounted >= flat / 1.01**12).all()
