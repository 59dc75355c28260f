"""Survival metrics checked against lifelines, direct O(n^2) formulas and hand computations."""

from __future__ import annotations

import contextlib
import io
import warnings
from typing import Any

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from lifelines.utils import concordance_index

import b2bclient.churn.metrics as metrics
from b2bclient._exceptions import ConvergenceError, InvalidParameterError
from b2bclient.churn.metrics import (
    CalibrationResult,
    brier_score,
    calibration_at_horizon,
    concordance_index_harrell,
    concordance_index_uno,
    cumulative_dynamic_auc,
    integrated_brier_score,
)


# --------------------------------------------------------------------------------------------
# Direct references written from the published formulas, O(n^2), independent of the library.
# --------------------------------------------------------------------------------------------
def reference_censoring_survival(time: np.ndarray, event: np.ndarray, t: float) -> float:
    """G(t) = prod over censoring times s <= t of (1 - c_s / (at risk at s minus events at s))."""
    value = 1.0
    for s in np.unique(time[(~event) & (time <= t)]):
        censored = np.sum((time == s) & ~event)
        at_risk = np.sum(time >= s) - np.sum((time == s) & event)
        value *= 1.0 - censored / at_risk
    return value


def reference_km(time: np.ndarray, event: np.ndarray, t: float) -> float:
    value = 1.0
    for s in np.unique(time[event & (time <= t)]):
        value *= 1.0 - np.sum((time == s) & event) / np.sum(time >= s)
    return value


def comparable(ti: float, ei: bool, tj: float, ej: bool) -> bool:
    return bool(ei and (tj > ti or (tj == ti and not ej)))


def reference_harrell(time: np.ndarray, event: np.ndarray, risk: np.ndarray) -> float:
    num = den = 0.0
    for i in range(len(time)):
        for j in range(len(time)):
            if i != j and comparable(time[i], event[i], time[j], event[j]):
                den += 1
                num += 1.0 if risk[i] > risk[j] else 0.5 if risk[i] == risk[j] else 0.0
    return num / den


def reference_uno(
    train: tuple[np.ndarray, np.ndarray],
    time: np.ndarray,
    event: np.ndarray,
    risk: np.ndarray,
    tau: float = np.inf,
) -> float:
    num = den = 0.0
    for i in range(len(time)):
        if not (event[i] and time[i] < tau):
            continue
        weight = reference_censoring_survival(*train, time[i]) ** -2
        for j in range(len(time)):
            if i != j and comparable(time[i], event[i], time[j], event[j]):
                den += weight
                num += weight * (1.0 if risk[i] > risk[j] else 0.5 if risk[i] == risk[j] else 0.0)
    return num / den


def reference_auc(
    train: tuple[np.ndarray, np.ndarray],
    time: np.ndarray,
    event: np.ndarray,
    risk: np.ndarray,
    t: float,
) -> float:
    num = den = 0.0
    for i in range(len(time)):
        if not (event[i] and time[i] <= t):
            continue
        weight = 1.0 / reference_censoring_survival(*train, time[i])
        for j in range(len(time)):
            if time[j] > t:
                den += weight
                num += weight * (1.0 if risk[i] > risk[j] else 0.5 if risk[i] == risk[j] else 0.0)
    return num / den


def reference_brier(
    train: tuple[np.ndarray, np.ndarray],
    time: np.ndarray,
    event: np.ndarray,
    surv: np.ndarray,
    t: float,
) -> float:
    total = 0.0
    for i in range(len(time)):
        if event[i] and time[i] <= t:
            total += surv[i] ** 2 / reference_censoring_survival(*train, time[i])
        elif time[i] > t:
            total += (1 - surv[i]) ** 2 / reference_censoring_survival(*train, t)
    return total / len(time)


def random_survival(
    rng: np.random.Generator, n: int, *, ties: bool
) -> tuple[np.ndarray, np.ndarray]:
    time = rng.integers(1, 12, n).astype(float) if ties else rng.exponential(5.0, n)
    event = rng.random(n) < 0.6
    return time, event


def make_train_test(
    seed: int, *, ties: bool, n_train: int = 50, n_test: int = 35
) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    train = random_survival(rng, n_train, ties=ties)
    time, event = random_survival(rng, n_test, ties=ties)
    # The training follow-up ends with an event beyond the test data, so G stays positive.
    train[0][0], train[1][0] = time.max() + 1.0, True
    risk = rng.integers(0, 4, n_test).astype(float) if ties else rng.normal(size=n_test)
    return train, time, event, risk


SEEDS = [(seed, ties) for seed in range(6) for ties in (False, True)]


# --------------------------------------------------------------------------------------------
# Harrell
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("seed", "ties"), SEEDS)
def test_harrell_equals_lifelines(seed: int, ties: bool) -> None:
    rng = np.random.default_rng(seed)
    n = 300
    time, event = random_survival(rng, n, ties=ties)
    risk = rng.integers(0, 6, n).astype(float) if ties else rng.normal(size=n) + time * 0.1
    expected = concordance_index(time, -risk, event)
    assert concordance_index_harrell(time, event, risk) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("seed", "ties"), SEEDS)
def test_harrell_equals_direct_formula(seed: int, ties: bool) -> None:
    _, time, event, risk = make_train_test(seed, ties=ties)
    assert concordance_index_harrell(time, event, risk) == pytest.approx(
        reference_harrell(time, event, risk), abs=1e-12
    )


def test_harrell_by_hand() -> None:
    # Comparable pairs (earlier event, later): (0,1) (0,2) (0,3) (1,2) (1,3); concordant: all
    # of subject 0's and (1,3); (1,2) is discordant -> 4/5.
    assert concordance_index_harrell([1, 2, 3, 4], [1, 1, 0, 1], [0.9, 0.5, 0.7, 0.1]) == 0.8
    # Tied risk counts 1/2.
    assert concordance_index_harrell([1, 2], [1, 1], [0.3, 0.3]) == 0.5
    # Two events at the same time are not comparable; a censoring at that time is.
    assert concordance_index_harrell([2, 2, 2], [1, 1, 0], [0.9, 0.1, 0.5]) == 0.5


def test_harrell_accepts_pandas_and_timedeltas() -> None:
    frame = pd.DataFrame(
        {
            "duration": pd.to_timedelta([10, 20, 30, 40], unit="D"),
            "churned": [True, True, False, True],
            "risk": [0.9, 0.5, 0.7, 0.1],
        },
        index=["a", "b", "c", "d"],
    )
    assert concordance_index_harrell(frame["duration"], frame["churned"], frame["risk"]) == 0.8


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(
        st.tuples(st.integers(0, 8), st.booleans(), st.floats(-5, 5, allow_nan=False, width=32)),
        min_size=2,
        max_size=40,
    )
)
def test_harrell_invariants(data: list[tuple[int, bool, float]]) -> None:
    time = np.array([d[0] for d in data], dtype=float)
    event = np.array([d[1] for d in data])
    risk = np.array([d[2] for d in data], dtype=float)
    try:
        c = concordance_index_harrell(time, event, risk)
    except InvalidParameterError:
        return
    assert c == pytest.approx(reference_harrell(time, event, risk), abs=1e-12)
    assert c + concordance_index_harrell(time, event, -risk) == pytest.approx(1.0)
    assert concordance_index_harrell(time, event, 4.0 * risk) == pytest.approx(c)


def test_harrell_scales() -> None:
    rng = np.random.default_rng(0)
    n = 20_000
    time = rng.exponential(size=n)
    risk = -time + rng.normal(scale=0.5, size=n)
    c = concordance_index_harrell(time, np.ones(n, dtype=bool), risk)
    assert c == pytest.approx(concordance_index(time, -risk, np.ones(n)), abs=1e-12)


# --------------------------------------------------------------------------------------------
# Uno, AUC, Brier
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("seed", "ties"), SEEDS)
def test_uno_equals_direct_formula(seed: int, ties: bool) -> None:
    train, time, event, risk = make_train_test(seed, ties=ties)
    assert concordance_index_uno(*train, time, event, risk) == pytest.approx(
        reference_uno(train, time, event, risk), abs=1e-12
    )
    tau = float(np.quantile(time, 0.7))
    assert concordance_index_uno(*train, time, event, risk, tau=tau) == pytest.approx(
        reference_uno(train, time, event, risk, tau), abs=1e-12
    )


def test_uno_by_hand() -> None:
    # G from training: 1 until 2, 0.8 from 2, 0.8 * 2/3 from 4. Events at 1, 2 and 4 weigh
    # 1, 1/0.8^2 and 1/0.5333^2; only the first two have later subjects:
    # (1 * 3 + 1.5625 * 1) / (1 * 3 + 1.5625 * 2).
    value = concordance_index_uno(
        [1, 2, 3, 4, 5, 6], [1, 0, 1, 0, 1, 0], [1, 2, 3, 4], [1, 1, 0, 1], [0.9, 0.5, 0.7, 0.1]
    )
    assert value == pytest.approx(4.5625 / 6.125, abs=1e-12)


@pytest.mark.parametrize(("seed", "ties"), SEEDS)
def test_dynamic_auc_equals_direct_formula(seed: int, ties: bool) -> None:
    train, time, event, risk = make_train_test(seed, ties=ties)
    times = np.unique(np.quantile(time, [0.25, 0.5, 0.75]))
    times = times[times < time.max()]
    auc, mean_auc = cumulative_dynamic_auc(*train, time, event, risk, times)
    expected = [reference_auc(train, time, event, risk, t) for t in times]
    np.testing.assert_allclose(auc, expected, rtol=0, atol=1e-12)
    drops = -np.diff([1.0] + [reference_km(time, event, t) for t in times])
    assert mean_auc == pytest.approx(float(np.dot(expected, drops) / drops.sum()), abs=1e-12)


def test_dynamic_auc_with_time_dependent_risk() -> None:
    train, time, event, risk = make_train_test(3, ties=False)
    times = np.quantile(time, [0.3, 0.6])
    columns = np.column_stack([risk, -risk])
    auc, _ = cumulative_dynamic_auc(*train, time, event, columns, times)
    assert auc[0] == pytest.approx(reference_auc(train, time, event, risk, times[0]))
    assert auc[1] == pytest.approx(reference_auc(train, time, event, -risk, times[1]))


def test_dynamic_auc_by_hand() -> None:
    # At 2.5: cases T=1 (weight 1) and T=2 (weight 1/0.75); controls risks 0.7 and 0.1.
    auc, mean = cumulative_dynamic_auc(
        [1, 2, 3, 4, 5], [1, 0, 1, 0, 1], [1, 2, 3, 4], [1, 1, 0, 1], [0.9, 0.5, 0.7, 0.1], [2.5]
    )
    assert auc.tolist() == pytest.approx([10 / 14])
    assert mean == pytest.approx(10 / 14)


@pytest.mark.parametrize(("seed", "ties"), SEEDS)
def test_brier_and_ibs_equal_direct_formula(seed: int, ties: bool) -> None:
    train, time, event, _ = make_train_test(seed, ties=ties)
    times = np.unique(np.quantile(time, [0.2, 0.5, 0.8]))
    times = times[times < time.max()]
    surv = np.random.default_rng(seed + 100).random((len(time), len(times)))
    scores = brier_score(*train, time, event, surv, times)
    expected = [reference_brier(train, time, event, surv[:, k], t) for k, t in enumerate(times)]
    np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-12)
    ibs = integrated_brier_score(*train, time, event, surv, times)
    manual = sum(
        (times[k + 1] - times[k]) * (expected[k] + expected[k + 1]) / 2
        for k in range(len(times) - 1)
    ) / (times[-1] - times[0])
    assert ibs == pytest.approx(manual, abs=1e-12)


def test_brier_by_hand() -> None:
    # At 2.5: cases 0.2^2/1 and 0.4^2/0.75; controls 0.4^2/0.75 and 0.2^2/0.75; mean of four.
    scores = brier_score(
        [1, 2, 3, 4, 5],
        [1, 0, 1, 0, 1],
        [1, 2, 3, 4],
        [1, 1, 0, 1],
        [[0.2], [0.4], [0.6], [0.8]],
        [2.5],
    )
    assert scores.tolist() == pytest.approx([0.13])
    ibs = integrated_brier_score(
        [1, 2, 3, 4, 5],
        [1, 0, 1, 0, 1],
        [1, 2, 3, 4],
        [1, 1, 0, 1],
        [[0.2, 0.1], [0.4, 0.3], [0.6, 0.5], [0.8, 0.7]],
        [1.5, 2.5],
    )
    assert ibs == pytest.approx((0.15 + 0.5833333333333334 / 4) / 2)


def test_brier_of_perfect_forecast_is_zero() -> None:
    time = np.array([1.0, 2.0, 5.0, 6.0])
    event = np.ones(4, dtype=bool)
    surv = (time[:, None] > np.array([[3.0, 4.0]])).astype(float)
    assert brier_score(time, event, time, event, surv, [3.0, 4.0]).tolist() == [0.0, 0.0]


def test_timedelta_durations_and_duration_times() -> None:
    train, time, event, risk = make_train_test(1, ties=True)
    as_td = pd.to_timedelta(time, unit="D")
    auc_days, _ = cumulative_dynamic_auc(*train, time, event, risk, [3.0, 6.0])
    auc_td, _ = cumulative_dynamic_auc(
        pd.to_timedelta(train[0], unit="D"), train[1], as_td, event, risk, ["3D", "6D"]
    )
    np.testing.assert_array_equal(auc_days, auc_td)


# --------------------------------------------------------------------------------------------
# scikit-survival, when installed
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("seed", "ties"), SEEDS)
def test_against_scikit_survival(seed: int, ties: bool) -> None:
    sksurv_metrics = pytest.importorskip("sksurv.metrics")
    from sksurv.util import Surv

    train, time, event, risk = make_train_test(seed, ties=ties, n_train=120, n_test=80)
    y_train = Surv.from_arrays(train[1], train[0])
    y_test = Surv.from_arrays(event, time)
    tau = float(np.quantile(time, 0.8))
    assert concordance_index_uno(*train, time, event, risk, tau=tau) == pytest.approx(
        sksurv_metrics.concordance_index_ipcw(y_train, y_test, risk, tau=tau)[0], abs=1e-12
    )
    assert concordance_index_harrell(time, event, risk) == pytest.approx(
        sksurv_metrics.concordance_index_censored(event, time, risk)[0], abs=1e-12
    )
    times = np.unique(np.quantile(time, [0.2, 0.4, 0.6, 0.8]))
    times = times[times < time.max()]
    auc, mean_auc = cumulative_dynamic_auc(*train, time, event, risk, times)
    expected_auc, expected_mean = sksurv_metrics.cumulative_dynamic_auc(
        y_train, y_test, risk, times
    )
    np.testing.assert_allclose(auc, expected_auc, rtol=0, atol=1e-12)
    assert mean_auc == pytest.approx(expected_mean, abs=1e-12)
    surv = np.random.default_rng(seed).random((len(time), len(times)))
    _, expected_brier = sksurv_metrics.brier_score(y_train, y_test, surv, times)
    np.testing.assert_allclose(
        brier_score(*train, time, event, surv, times), expected_brier, rtol=0, atol=1e-12
    )
    assert integrated_brier_score(*train, time, event, surv, times) == pytest.approx(
        sksurv_metrics.integrated_brier_score(y_train, y_test, surv, times), abs=1e-12
    )


# --------------------------------------------------------------------------------------------
# calibration
# --------------------------------------------------------------------------------------------
def _exponential_cohort(seed: int, n: int = 1000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    rate = np.exp(0.8 * rng.normal(size=n) - 0.5)
    latent = rng.exponential(1 / rate)
    censor = rng.uniform(0.5, 4.0, n)
    return np.minimum(latent, censor), latent <= censor, -np.expm1(-rate)


class _FixedPredictions:
    """A stand-in for a lifelines model that returns given churn probabilities at t0."""

    duration_col = "T"
    event_col = "E"

    def __init__(self, churn_prob: np.ndarray) -> None:
        from lifelines.utils import CensoringType

        self.churn_prob = churn_prob
        self._censoring_type = CensoringType.RIGHT

    def predict_survival_function(self, df: pd.DataFrame, times: Any) -> pd.DataFrame:
        return pd.DataFrame([1 - self.churn_prob[df.index.to_numpy()]], index=times)


@pytest.mark.parametrize("seed", [0, 1])
def test_calibration_close_to_lifelines(seed: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from lifelines.calibration import survival_probability_calibration

    duration, event, truth = _exponential_cohort(seed)
    frame = pd.DataFrame({"T": duration, "E": event})
    scenarios = {
        "calibrated": truth,
        "too high": np.clip(truth + 0.1, 0, 1),
        "too extreme": truth**2,
        "too flat": 0.5 * truth + 0.2,
    }
    ours = {}
    for name, prediction in scenarios.items():
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, ici, e50 = survival_probability_calibration(
                _FixedPredictions(prediction), frame, t0=1.0
            )
        result = calibration_at_horizon(duration, event, prediction, 1.0)
        ours[name] = result.ici
        assert result.ici == pytest.approx(ici, abs=0.025), name
        assert result.e50 == pytest.approx(e50, abs=0.025), name
    assert ours["calibrated"] < 0.03
    assert min(ours["too high"], ours["too extreme"], ours["too flat"]) > 0.07


def test_calibration_result_contents() -> None:
    duration, event, truth = _exponential_cohort(3, n=600)
    result = calibration_at_horizon(duration, event, truth, 1.0, n_knots=4, n_bins=5)
    assert isinstance(result, CalibrationResult)
    assert result.n_knots == 4
    assert result.e50 <= result.e90 <= result.emax
    assert result.observed.shape == (600,)
    assert list(result.curve.columns) == ["predicted", "observed"]
    assert len(result.curve) == 100
    assert result.curve["predicted"].is_monotonic_increasing
    assert result.bins["n"].sum() == 600
    assert list(result.bins.columns) == ["bin", "n", "events", "predicted", "observed"]
    # Binned Kaplan-Meier risk follows the predictions for calibrated predictions.
    assert np.corrcoef(result.bins["predicted"], result.bins["observed"])[0, 1] > 0.9
    in_days = calibration_at_horizon(
        pd.to_timedelta(duration, unit="D"), event, truth, "1D", n_knots=4, n_bins=5
    )
    assert in_days.ici == pytest.approx(result.ici)


def test_calibration_of_constant_prediction_uses_kaplan_meier() -> None:
    duration = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    event = np.array([True, False, True, True, False])
    result = calibration_at_horizon(duration, event, np.full(5, 0.5), 3.0)
    # KM at 3: (1 - 1/5) * (1 - 1/3) = 0.5333, so the observed risk is 0.4667.
    assert result.observed == pytest.approx(np.full(5, 1 - 0.8 * 2 / 3))
    assert result.ici == pytest.approx(abs(1 - 0.8 * 2 / 3 - 0.5))


def test_calibration_with_a_single_event_has_no_fit_and_says_so() -> None:
    # One churn among 200: the Cox model of the outcome on the spline of the predictions puts the
    # churned organisation first in its risk set at any coefficient large enough, so the
    # likelihood has no maximum. The fit used to return coefficients of -33 and -12 silently.
    rng = np.random.default_rng(0)
    duration = rng.exponential(300.0, 200)
    predicted = rng.uniform(0.05, 0.6, 200)
    event = np.zeros(200, dtype=bool)
    event[3] = True
    with pytest.raises(ConvergenceError, match="1 observed churn"):
        calibration_at_horizon(duration, event, predicted, 100.0)


def test_calibration_refuses_predictions_that_separate_the_churned_perfectly() -> None:
    # Everybody above the last spline knot churns at once, nobody else: the spline is flat there,
    # so the smoothing model can rank all of them first with ever larger coefficients.
    rng = np.random.default_rng(1)
    predicted = rng.uniform(0.05, 0.6, 300)
    event = predicted > np.quantile(predicted, 0.9)
    duration = np.where(event, 10.0, 400.0)
    with pytest.raises(ConvergenceError, match="separate"):
        calibration_at_horizon(duration, event, predicted, 100.0)


@pytest.mark.parametrize("n_events", [2, 3, 5, 10])
def test_calibration_with_few_events_that_do_not_separate_still_fits(n_events: int) -> None:
    rng = np.random.default_rng(0)
    duration = rng.exponential(300.0, 200)
    predicted = rng.uniform(0.05, 0.6, 200)
    # Churned organisations spread over the predictions: no spline ranks them all first.
    event = np.zeros(200, dtype=bool)
    event[np.argsort(predicted)[np.linspace(10, 190, n_events).astype(int)]] = True
    result = calibration_at_horizon(duration, event, predicted, 100.0)
    assert np.isfinite(result.ici)
    assert 0.0 <= result.observed.min() <= result.observed.max() <= 1.0


# --------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------
T, E, R = [1.0, 2.0, 3.0, 4.0], [1, 1, 0, 1], [0.9, 0.5, 0.7, 0.1]
TRAIN = ([1.0, 2.0, 3.0, 4.0, 5.0], [1, 0, 1, 0, 1])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: concordance_index_harrell([-1, 2, 3, 4], E, R), "non-negative durations"),
        (lambda: concordance_index_harrell([np.nan, 2, 3, 4], E, R), "finite durations"),
        (lambda: concordance_index_harrell(T, [1, 2, 0, 1], R), "event indicators"),
        (lambda: concordance_index_harrell(T, [1, np.nan, 0, 1], R), "event indicators"),
        (lambda: concordance_index_harrell(T, E[:3], R), "same length"),
        (lambda: concordance_index_harrell(T, E, R[:3]), "shape"),
        (lambda: concordance_index_harrell(T, E, [0.1, np.nan, 0.2, 0.3]), "finite"),
        (lambda: concordance_index_harrell(T, [0, 0, 0, 0], R), "every subject is censored"),
        (lambda: concordance_index_harrell([1, 1], [1, 1], [0.1, 0.2]), "no comparable pair"),
        (lambda: concordance_index_harrell([], [], []), "empty"),
        (lambda: concordance_index_uno(*TRAIN, T, E, R, tau=10), "beyond the training"),
        (lambda: concordance_index_uno([1, 2], [1, 1], [1, 3], [1, 1], [1, 0]), "beyond the"),
        (lambda: concordance_index_uno(*TRAIN, T, E, R, tau=0.5), "no event before tau"),
        (lambda: concordance_index_uno(*TRAIN, T, E, R, tau="soon"), "duration such as"),
        (lambda: cumulative_dynamic_auc(*TRAIN, T, E, R, [4.5]), "within the follow-up"),
        (lambda: cumulative_dynamic_auc(*TRAIN, T, E, R, [0.5]), "within the follow-up"),
        (lambda: cumulative_dynamic_auc(*TRAIN, T, E, R, [3.0, 2.0]), "strictly increasing"),
        (lambda: cumulative_dynamic_auc(*TRAIN, T, E, R, [-1.0]), "positive"),
        (lambda: cumulative_dynamic_auc(*TRAIN, T, E, R, []), "non-empty"),
        (lambda: brier_score(*TRAIN, T, E, [[0.5]] * 4, [2.5, 3.0]), "shape"),
        (lambda: brier_score(*TRAIN, T, E, [[1.5]] * 4, [2.5]), r"in \[0, 1\]"),
        (lambda: integrated_brier_score(*TRAIN, T, E, [[0.5]] * 4, [2.5]), "at least two"),
        (lambda: calibration_at_horizon(T, E, [0.2, 0.3, 1.2, 0.1], 2.0), r"in \[0, 1\]"),
        (lambda: calibration_at_horizon(T, E, [0.2, 0.3, 0.2, 0.1], 9.0), "beyond the longest"),
        (lambda: calibration_at_horizon(T, E, [0.2, 0.3, 0.2, 0.1], "-3D"), "positive"),
        (lambda: calibration_at_horizon(T, [0] * 4, [0.2, 0.3, 0.2, 0.1], 2.0), "no event"),
        (lambda: calibration_at_horizon(T, E, [0.2, 0.3, 0.2, 0.1], 2.0, n_knots=7), "n_knots"),
        (lambda: calibration_at_horizon(T, E, [0.2, 0.3, 0.2, 0.1], 2.0, n_bins=0), "n_bins"),
    ],
)
def test_bad_input_is_refused_with_a_remedy(call: Any, message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        call()


def test_public_names() -> None:
    assert sorted(metrics.__all__) == [
        "CalibrationResult",
        "brier_score",
        "calibration_at_horizon",
        "concordance_index_harrell",
        "concordance_index_uno",
        "cumulative_dynamic_auc",
        "integrated_brier_score",
    ]
    assert {name for name in dir(metrics) if not name.startswith("_")} - set(metrics.__all__) <= {
        "annotations"
    }


def test_zero_censoring_survival_at_a_test_event_names_the_remedy() -> None:
    # The last training subject is censored at 5, so G(5) = 0 and a test event at 5 has no weight.
    train_t, train_e = [1, 2, 3, 4, 5], [1, 1, 1, 1, 0]
    with pytest.raises(InvalidParameterError, match=r"zero at test event time 5 .*smaller tau"):
        metrics.concordance_index_uno(
            train_t, train_e, [1, 2, 5, 3], [1, 0, 1, 0], [0.9, 0.5, 0.7, 0.1]
        )
    with pytest.raises(InvalidParameterError, match=r"zero at test event time 5 .*earlier times"):
        metrics.cumulative_dynamic_auc(
            train_t, train_e, [1, 2, 5, 6], [1, 0, 1, 0], [0.9, 0.5, 0.7, 0.1], [5.0]
        )
