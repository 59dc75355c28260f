"""The end of the recorded data, shared by survival_frame, training_frame and rfm_summary."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from b2bclient._horizon import event_times, last_event, silence_limit, warn_beyond_data


def interactions(times: pd.DatetimeIndex) -> dict[str, pd.DataFrame]:
    return {"interactions": pd.DataFrame({"occurred_at": times})}


def warns(tables: dict[str, pd.DataFrame], end: str) -> bool:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        given = warn_beyond_data(
            tables, pd.Timestamp(end), subject="as_of is", consequence="", remedy=""
        )
    assert given == bool(caught)
    return given


def test_events_are_the_time_and_later_state_columns_not_scheduled_ends() -> None:
    contracts = pd.DataFrame(
        {
            "started_at": pd.to_datetime(["2024-01-01"]),
            "ends_at": pd.to_datetime(["2030-01-01"]),
            "cancelled_at": pd.to_datetime(["2024-06-01"]),
        }
    )
    deals = pd.DataFrame({"created_at": pd.to_datetime(["2024-02-01"]), "closed_at": [pd.NaT]})
    times = event_times({"contracts": contracts, "deals": deals})
    assert times.tolist() == [
        pd.Timestamp(t).value for t in ("2024-01-01", "2024-02-01", "2024-06-01")
    ]
    assert last_event({"contracts": contracts, "deals": deals}) == pd.Timestamp("2024-06-01")
    assert last_event({}) is None


def test_a_dense_base_ends_a_week_after_its_last_event() -> None:
    hourly = interactions(pd.date_range("2024-01-01", "2024-12-31", freq="h"))
    assert silence_limit(event_times(hourly)) == pd.Timedelta(days=7)
    assert not warns(hourly, "2025-01-07")
    assert warns(hourly, "2025-01-08")


def test_a_sparse_base_is_judged_at_its_own_pace() -> None:
    monthly = interactions(pd.date_range("2023-01-01", periods=24, freq="MS"))
    # 12 events in the 365 days before the last: a silence is implausible after ln(100) months.
    limit = silence_limit(event_times(monthly))
    assert limit is not None
    expected = np.log(100) * pd.Timedelta(days=365) / 12
    assert abs(limit - expected) < pd.Timedelta(seconds=1)
    assert not warns(monthly, "2025-04-01")
    assert warns(monthly, "2025-08-01")


@pytest.mark.parametrize(
    "tables",
    [{}, interactions(pd.DatetimeIndex(["2024-01-01"])), interactions(pd.DatetimeIndex([]))],
)
def test_a_base_without_a_pace_never_warns(tables: dict[str, pd.DataFrame]) -> None:
    assert not warns(tables, "2090-01-01")


def test_the_message_names_the_times_the_pace_and_the_remedy() -> None:
    daily = interactions(pd.date_range("2024-01-01", "2024-06-30", freq="D"))
    with pytest.warns(UserWarning, match="after the last event") as record:
        warn_beyond_data(
            daily,
            pd.Timestamp("2024-09-01"),
            subject="as_of is",
            consequence="T stretches.",
            remedy="Use an earlier as_of.",
        )
    message = str(record[0].message)
    assert message.startswith("as_of is 2024-09-01 00:00:00, 63 days after the last event")
    assert "(2024-06-30 00:00:00)" in message
    assert "181 events in the 181 days before it" in message
    assert message.endswith("T stretches. Use an earlier as_of.")
