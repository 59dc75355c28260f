"""The survival target: construction, accepted forms and errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from b2bclient._exceptions import InvalidParameterError
from b2bclient.churn import Surv


def test_from_arrays_builds_structured_target() -> None:
    y = Surv.from_arrays([1.5, 3, 0], [1, 0, True])
    assert y.dtype == Surv.dtype
    np.testing.assert_array_equal(y["duration"], [1.5, 3.0, 0.0])
    np.testing.assert_array_equal(y["event"], [True, False, True])


def test_event_defaults_to_observed() -> None:
    assert Surv.from_arrays([2.0, 4.0])["event"].all()


def test_timedelta_durations_become_days() -> None:
    y = Surv.from_arrays(pd.to_timedelta(["36h", "2D"]).to_numpy(), [1, 1])
    np.testing.assert_allclose(y["duration"], [1.5, 2.0])


def test_from_frame_reads_named_columns() -> None:
    frame = pd.DataFrame({"t": [5.0, 6.0], "churned": [False, True]})
    y = Surv.from_frame(frame, duration="t", event="churned")
    assert y["event"].tolist() == [False, True]
    with pytest.raises(InvalidParameterError, match="'duration' and 'event'"):
        Surv.from_frame(frame)


@pytest.mark.parametrize(
    "y",
    [
        Surv.from_arrays([3.0, 5.0], [1, 0]),
        np.array([(True, 3.0), (False, 5.0)], dtype=[("e", "?"), ("t", "f8")]),
        np.array([[3.0, 1.0], [5.0, 0.0]]),
        pd.DataFrame({"event": [1, 0], "duration": [3.0, 5.0]}),
        pd.DataFrame({"a": [3.0, 5.0], "b": [True, False]}),
    ],
)
def test_to_arrays_reads_every_accepted_form(y: object) -> None:
    duration, event = Surv.to_arrays(y)
    np.testing.assert_array_equal(duration, [3.0, 5.0])
    np.testing.assert_array_equal(event, [True, False])


def test_one_dimensional_target_means_every_event_observed() -> None:
    duration, event = Surv.to_arrays(np.array([4, 2, 7]))
    assert duration.dtype == np.float64
    assert event.all()


@pytest.mark.parametrize(
    ("duration", "event", "match"),
    [
        ([1.0, -2.0], [1, 1], "non-negative.*positions \\[1\\]"),
        ([1.0, np.nan], [1, 1], "NaN.*positions \\[1\\]"),
        ([1.0, np.inf], [1, 1], "infinite"),
        ([1.0, 2.0], [1, 2], "bool or 0/1"),
        ([1.0, 2.0], [1, None], "missing values"),
        ([1.0, 2.0], [1], "same length"),
        (["a", "b"], [1, 1], "numbers of days"),
    ],
)
def test_invalid_targets_raise_with_position_and_fix(
    duration: list[object], event: list[object], match: str
) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        Surv.from_arrays(duration, event)


def test_wrong_shapes_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match="survival target"):
        Surv.to_arrays(np.zeros((3, 3)))
    with pytest.raises(InvalidParameterError, match="numeric duration field"):
        Surv.to_arrays(np.zeros(2, dtype=[("a", "f8"), ("b", "f8"), ("c", "?")]))


def test_target_splits_with_scikit_learn() -> None:
    X = np.arange(20.0).reshape(10, 2)
    y = Surv.from_arrays(np.arange(10.0), np.arange(10) % 2 == 0)
    _, X_test, _, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
    assert y_test.dtype == Surv.dtype
    np.testing.assert_array_equal(y_test["duration"], X_test[:, 0] / 2)
