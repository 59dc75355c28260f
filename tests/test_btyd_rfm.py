"""RFM summaries and calibration/holdout splits: agreement with lifetimes, point-in-time behaviour
on a ClientBase, and validation."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import b2bclient.btyd as btyd
from b2bclient import ClientBase, InvalidParameterError
from b2bclient.btyd._rfm import holdout_from_transactions, summary_from_transactions

ONE_NS = pd.Timedelta(1, "ns")


def _transactions(seed: int, n: int = 3000, n_customers: int = 250) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2023-01-01")
    seconds = rng.uniform(0, 2 * 365 * 86400, n)
    return pd.DataFrame(
        {
            "organisation_id": [f"O-{i}" for i in rng.integers(0, n_customers, n)],
            "time": start + pd.to_timedelta(seconds, unit="s"),
            "value": rng.gamma(2.0, 500.0, n).round(2),
        }
    )


@pytest.fixture(scope="module")
def lifetimes_utils() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pytest.importorskip("lifetimes.utils")


@pytest.mark.parametrize("freq", ["D", "W"])
@pytest.mark.parametrize("as_of", ["2024-03-04", "2024-03-06 13:00"])
def test_summary_matches_lifetimes(freq: str, as_of: str, lifetimes_utils: Any) -> None:
    transactions = _transactions(0)
    as_of_ts = pd.Timestamp(as_of)
    ours = summary_from_transactions(transactions, as_of_ts, freq=freq)
    before = transactions[transactions["time"] < as_of_ts]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = lifetimes_utils.summary_data_from_transaction_data(
            before,
            "organisation_id",
            "time",
            monetary_value_col="value",
            observation_period_end=as_of_ts - ONE_NS,
            freq=freq,
        )
    theirs = theirs.sort_index()
    assert ours.index.equals(pd.Index(theirs.index, name="organisation_id"))
    np.testing.assert_array_equal(ours["frequency"].to_numpy(), theirs["frequency"].to_numpy())
    np.testing.assert_array_equal(ours["recency"].to_numpy(), theirs["recency"].to_numpy())
    np.testing.assert_array_equal(ours["T"].to_numpy(), theirs["T"].to_numpy())
    np.testing.assert_allclose(
        ours["monetary_value"].to_numpy(), theirs["monetary_value"].to_numpy(), rtol=1e-12
    )
    assert ours["frequency"].dtype == np.int64
    assert ours.attrs["freq"] == freq


def test_calibration_holdout_matches_lifetimes(lifetimes_utils: Any) -> None:
    transactions = _transactions(1)
    calibration_end = pd.Timestamp("2024-01-01")
    holdout_end = pd.Timestamp("2024-07-01")
    ours = holdout_from_transactions(transactions, calibration_end, holdout_end, freq="W")
    window = transactions[transactions["time"] < holdout_end]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = lifetimes_utils.calibration_and_holdout_data(
            window,
            "organisation_id",
            "time",
            calibration_period_end=calibration_end - ONE_NS,
            observation_period_end=holdout_end - ONE_NS,
            freq="W",
            monetary_value_col="value",
        ).sort_index()
    for ours_col, theirs_col in [
        ("frequency", "frequency_cal"),
        ("recency", "recency_cal"),
        ("T", "T_cal"),
        ("frequency_holdout", "frequency_holdout"),
        ("duration_holdout", "duration_holdout"),
    ]:
        np.testing.assert_array_equal(ours[ours_col].to_numpy(), theirs[theirs_col].to_numpy())
    np.testing.assert_allclose(
        ours["monetary_value"].to_numpy(), theirs["monetary_value_cal"].to_numpy(), rtol=1e-12
    )
    # lifetimes averages raw holdout transactions; here, as in the calibration summary, the
    # purchases of one period are added up first. Both agree where no period holds two.
    holdout = window[window["time"] >= calibration_end].copy()
    holdout["period"] = holdout["time"].dt.to_period("W")
    per_period = holdout.groupby(["organisation_id", "period"])["value"].sum()
    expected = per_period.groupby(level=0).mean().reindex(ours.index, fill_value=0.0)
    np.testing.assert_allclose(ours["monetary_value_holdout"].to_numpy(), expected.to_numpy())
    single = holdout.groupby(["organisation_id", "period"]).size().groupby(level=0).max() == 1
    same = single[single].index.intersection(ours.index)
    np.testing.assert_allclose(
        ours.loc[same, "monetary_value_holdout"].to_numpy(),
        theirs.loc[same, "monetary_value_holdout"].to_numpy(),
    )


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(
    offsets=st.lists(st.integers(0, 400 * 24), min_size=1, max_size=40),
    owners=st.lists(st.integers(0, 4), min_size=40, max_size=40),
    cut=st.integers(1, 400 * 24),
    freq=st.sampled_from(["D", "W", "M"]),
)
def test_summary_invariants(offsets: list[int], owners: list[int], cut: int, freq: str) -> None:
    start = pd.Timestamp("2024-01-01")
    transactions = pd.DataFrame(
        {
            "organisation_id": [f"O-{owners[i]}" for i in range(len(offsets))],
            "time": start + pd.to_timedelta(offsets, unit="h"),
            "value": 1.0 + np.arange(len(offsets), dtype=float),
        }
    )
    as_of = start + pd.Timedelta(cut, "h")
    summary = summary_from_transactions(transactions, as_of, freq=freq)
    assert (summary["recency"] <= summary["T"]).all()
    assert ((summary["frequency"] > 0) == (summary["recency"] > 0)).all()
    assert (summary["frequency"] <= summary["recency"]).all()
    # Transactions at or after as_of never change the summary.
    later = transactions.assign(time=as_of + pd.to_timedelta(offsets, unit="h"))
    pd.testing.assert_frame_equal(
        summary, summary_from_transactions(pd.concat([transactions, later]), as_of, freq=freq)
    )


def _base(extra_deals: list[dict[str, Any]] | None = None) -> ClientBase:
    deals = [
        ("D-1", "O-1", "2024-01-02", "2024-01-02", "won", 100.0),
        ("D-2", "O-1", "2024-01-20", "2024-01-20", "won", 40.0),
        ("D-3", "O-1", "2024-02-01", "2024-02-01", "won", 60.0),
        ("D-4", "O-2", "2024-02-14", "2024-02-14", "won", 500.0),
        ("D-5", "O-2", "2024-02-15", "2024-02-20", "lost", 900.0),
        ("D-6", "O-3", "2024-02-20", None, "open", 50.0),
        ("D-7", "O-1", "2024-02-25", "2024-03-10", "won", 70.0),  # won after as_of
    ]
    frame = pd.DataFrame(
        deals,
        columns=["deal_id", "organisation_id", "created_at", "closed_at", "status", "amount"],
    )
    if extra_deals:
        frame = pd.concat([frame, pd.DataFrame(extra_deals)], ignore_index=True)
    organisations = pd.DataFrame(
        {
            "organisation_id": ["O-1", "O-2", "O-3", "O-4"],
            "created_at": ["2023-01-01", "2023-01-01", "2023-06-01", "2024-05-01"],
        }
    )
    return ClientBase.from_frames(organisations=organisations, deals=frame)


def test_rfm_summary_on_a_client_base() -> None:
    summary = btyd.rfm_summary(_base(), "2024-03-04", freq="W")
    expected = pd.DataFrame(
        {
            "frequency": np.array([2, 0], dtype=np.int64),
            "recency": [4.0, 0.0],
            "T": [8.0, 2.0],
            "monetary_value": [50.0, 0.0],
        },
        index=pd.Index(["O-1", "O-2"], dtype=object, name="organisation_id"),
    )
    pd.testing.assert_frame_equal(summary, expected)
    assert summary.attrs == {"freq": "W", "time_unit": "W", "as_of": pd.Timestamp("2024-03-04")}
    lean = btyd.rfm_summary(_base(), "2024-03-04", freq="W", monetary=False)
    assert list(lean.columns) == ["frequency", "recency", "T"]


def test_rfm_summary_ignores_everything_at_or_after_as_of() -> None:
    later = [
        {
            "deal_id": "D-8",
            "organisation_id": "O-2",
            "created_at": "2024-03-04",
            "closed_at": "2024-03-04",
            "status": "won",
            "amount": 10.0,
        },
        {
            "deal_id": "D-9",
            "organisation_id": "O-4",
            "created_at": "2024-06-01",
            "closed_at": "2024-06-02",
            "status": "won",
            "amount": 10.0,
        },
    ]
    before = btyd.rfm_summary(_base(), "2024-03-04", freq="W", include_non_buyers=True)
    after = btyd.rfm_summary(_base(later), "2024-03-04", freq="W", include_non_buyers=True)
    pd.testing.assert_frame_equal(before, after)


def test_include_non_buyers() -> None:
    summary = btyd.rfm_summary(_base(), "2024-03-04", freq="W", include_non_buyers=True)
    # O-4 is created after as_of, so it is unknown; O-3 is known but never bought.
    assert list(summary.index) == ["O-1", "O-2", "O-3"]
    assert summary.loc["O-3", "frequency"] == 0
    assert summary.loc["O-3", ["recency", "T", "monetary_value"]].isna().all()
    assert summary.attrs["freq"] == "W"
    with pytest.raises(InvalidParameterError, match="missing or infinite"):
        btyd.BetaGeo().fit(summary)


def test_calibration_holdout_on_a_client_base() -> None:
    frame = btyd.calibration_holdout(_base(), "2024-03-04", "2024-04-01", freq="W")
    assert list(frame.columns) == [
        "frequency",
        "recency",
        "T",
        "monetary_value",
        "frequency_holdout",
        "monetary_value_holdout",
        "duration_holdout",
    ]
    assert frame.loc["O-1", "frequency_holdout"] == 1
    assert frame.loc["O-1", "monetary_value_holdout"] == 70.0
    assert frame.loc["O-2", "frequency_holdout"] == 0
    assert (frame["duration_holdout"] == 4.0).all()
    with pytest.raises(InvalidParameterError, match="must be after calibration_end"):
        btyd.calibration_holdout(_base(), "2024-03-04", "2024-03-04")


def test_calibration_holdout_checks_its_arguments_before_cutting_the_base(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = _base()

    def cut(self: ClientBase, t: Any) -> ClientBase:
        raise AssertionError("the base was cut before the arguments were checked")

    monkeypatch.setattr(ClientBase, "as_of", cut)
    for calibration_end, holdout_end, freq, match in (
        ("not a date", "2024-04-01", "W", "calibration_end"),
        ("2024-04-01", "2024-03-04", "W", "must be after calibration_end"),
        ("2024-03-04", "2024-04-01", "2W", "'freq'"),
    ):
        with pytest.raises(InvalidParameterError, match=match):
            btyd.calibration_holdout(base, calibration_end, holdout_end, freq=freq)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"as_of": None}, "never defaults to now"),
        ({"as_of": "2024-03-04", "freq": "2W"}, "'freq'"),
        ({"as_of": "2024-03-04", "freq": "fortnight"}, "'freq'"),
        ({"as_of": "not a date"}, "point in time"),
    ],
)
def test_rfm_summary_rejects_bad_parameters(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        btyd.rfm_summary(_base(), **kwargs)


def test_rfm_summary_needs_a_client_base() -> None:
    with pytest.raises(InvalidParameterError, match="ClientBase"):
        btyd.rfm_summary(pd.DataFrame(), "2024-01-01")  # type: ignore[arg-type]


def test_empty_summary_has_the_right_columns() -> None:
    summary = btyd.rfm_summary(_base(), "2023-06-01", freq="W")
    assert summary.empty
    assert list(summary.columns) == ["frequency", "recency", "T", "monetary_value"]
    assert summary["frequency"].dtype == np.int64


def test_end_to_end_on_the_synthetic_client_base() -> None:
    datasets = pytest.importorskip("b2bclient.datasets")
    base = datasets.make_client_base(300, seed=0)
    frame = btyd.calibration_holdout(base, "2023-07-01", "2024-01-01", freq="W")
    calibration = frame[["frequency", "recency", "T", "monetary_value"]]
    bg = btyd.BetaGeo(penalizer=0.001).fit(calibration)
    assert bg.time_unit_ == "W"
    predicted = bg.conditional_expected_purchases(frame["duration_holdout"].to_numpy(), frame)
    actual = frame["frequency_holdout"]
    # Out of sample, the model's total is in the right range and it ranks customers.
    assert 0.5 < predicted.sum() / actual.sum() < 2.0
    assert np.corrcoef(predicted, actual)[0, 1] > 0.3
    clv = btyd.lifetime_value(bg, calibration, time=6)
    assert (clv >= 0).all()


def test_time_unit_measures_recency_and_T_apart_from_the_counting_unit() -> None:
    # Purchases counted per day, recency and T in fractional weeks.
    extra = [
        {
            "deal_id": "D-10",
            "organisation_id": "O-1",
            "created_at": "2024-01-03",
            "closed_at": "2024-01-03",
            "status": "won",
            "amount": 5.0,
        },
    ]
    base = _base(extra)
    daily = btyd.rfm_summary(base, "2024-03-04", freq="D")
    weekly_counts = btyd.rfm_summary(base, "2024-03-04", freq="W")
    summary = btyd.rfm_summary(base, "2024-03-04", freq="D", time_unit="W")
    # The counts are those of days (2 and 3 January are two purchase days, one week) ...
    np.testing.assert_array_equal(summary["frequency"], daily["frequency"])
    assert summary.loc["O-1", "frequency"] == 3
    assert weekly_counts.loc["O-1", "frequency"] == 2
    # ... the times those of days, in weeks.
    np.testing.assert_allclose(summary["recency"], daily["recency"] / 7.0, rtol=1e-15)
    np.testing.assert_allclose(summary["T"], daily["T"] / 7.0, rtol=1e-15)
    assert summary.loc["O-1", "T"] == 61 / 7
    assert summary.attrs["freq"] == "D"
    assert summary.attrs["time_unit"] == "W"
    pd.testing.assert_frame_equal(
        btyd.rfm_summary(base, "2024-03-04", freq="D", time_unit="D"), daily
    )
    months = btyd.rfm_summary(base, "2024-03-04", freq="M", time_unit="Y")
    np.testing.assert_allclose(
        months["T"], btyd.rfm_summary(base, "2024-03-04", freq="M")["T"] / 12.0, rtol=1e-15
    )


@pytest.mark.parametrize(("freq", "time_unit"), [("W", "D"), ("M", "W"), ("Y", "Q"), ("D", "h")])
def test_a_time_unit_shorter_than_the_counting_unit_is_refused(freq: str, time_unit: str) -> None:
    with pytest.raises(InvalidParameterError, match="shorter than the counting unit") as info:
        btyd.rfm_summary(_base(), "2024-03-04", freq=freq, time_unit=time_unit)
    # The message names the remedy.
    assert f"time_unit={freq!r} or longer" in str(info.value)
    with pytest.raises(InvalidParameterError, match="shorter than the counting unit"):
        btyd.calibration_holdout(
            _base(), "2024-03-01", "2024-03-04", freq=freq, time_unit=time_unit
        )
    with pytest.raises(InvalidParameterError, match="'time_unit'"):
        btyd.rfm_summary(_base(), "2024-03-04", freq="D", time_unit="fortnight")


def test_calibration_holdout_carries_the_time_unit() -> None:
    base = _base()
    frame = btyd.calibration_holdout(base, "2024-02-05", "2024-03-04", freq="D", time_unit="W")
    daily = btyd.calibration_holdout(base, "2024-02-05", "2024-03-04", freq="D")
    np.testing.assert_array_equal(frame["frequency_holdout"], daily["frequency_holdout"])
    np.testing.assert_allclose(frame["duration_holdout"], daily["duration_holdout"] / 7.0)
    assert frame["duration_holdout"].iloc[0] == 4.0  # 28 days
    assert frame.attrs["time_unit"] == "W" and frame.attrs["freq"] == "D"


def test_lifetime_value_and_models_read_the_time_unit() -> None:
    sample = btyd.simulate_summary(
        btyd.BetaGeo,
        T=40.0,
        n_customers=800,
        random_state=3,
        params={"r": 0.4, "alpha": 4.0, "a": 0.8, "b": 2.5},
    )
    sample.attrs.update({"freq": "D", "time_unit": "W"})
    bg = btyd.BetaGeo().fit(sample)
    assert bg.time_unit_ == "W"
    by_attrs = btyd.lifetime_value(bg, sample, monetary_value=10.0)
    by_name = btyd.lifetime_value(bg, sample.copy(), monetary_value=10.0, time_unit="W")
    pd.testing.assert_series_equal(by_attrs, by_name)
    # Counting days must not make the value be computed in days: read as days, 12 months would
    # span 365 of the summary's weeks.
    in_days = btyd.lifetime_value(bg, sample, monetary_value=10.0, time_unit="D")
    assert (in_days > 2 * by_attrs).all()
    assert bg.time_unit_ == "W"
    with pytest.raises(InvalidParameterError, match="once"):
        btyd.lifetime_value(bg, sample, monetary_value=10.0, time_unit="W", freq="D")


def test_an_as_of_after_the_end_of_the_data_warns() -> None:
    base = _base()  # the last event is a deal closed on 2024-03-10
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        btyd.rfm_summary(base, "2024-03-11", freq="W")
        btyd.calibration_holdout(base, "2024-03-01", "2024-03-11", freq="W")
    with pytest.warns(UserWarning, match=r"'as_of' given to rfm_summary .* after the last event"):
        late = btyd.rfm_summary(base, "2025-03-11", freq="W")
    # T stretches over the silence: that is what the warning is about.
    assert late.loc["O-1", "T"] > 52
    with pytest.warns(UserWarning, match="'holdout_end' given to calibration_holdout"):
        btyd.calibration_holdout(base, "2024-03-01", "2025-03-11", freq="W")
