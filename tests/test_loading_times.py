"""Times load by one set of rules in every loader and every ``as_of``: nothing is guessed."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import b2bclient as bc
from b2bclient._time import to_duration, to_timestamp

sqlalchemy = pytest.importorskip("sqlalchemy")


def _orgs(created_at, **extra) -> pd.DataFrame:
    values = list(created_at)
    return pd.DataFrame(
        {"organisation_id": [f"O-{i}" for i in range(len(values))], "created_at": values, **extra}
    )


def _problems(frames, **options) -> pd.DataFrame:
    with pytest.raises(bc.InvalidTablesError) as info:
        bc.ClientBase(frames, **options)
    return info.value.problems


# --- 1: ambiguous non-ISO dates -------------------------------------------------------------------


def test_ambiguous_day_month_dates_are_refused_naming_table_column_and_examples():
    with pytest.raises(bc.InvalidTablesError) as info:
        bc.ClientBase.from_frames(_orgs(["01.02.2023", "13.02.2023"]))
    problems = info.value.problems
    assert problems[["table", "column", "check"]].drop_duplicates().values.tolist() == [
        ["organisations", "created_at", "ambiguous_date"]
    ]
    assert problems["value"].tolist() == ["01.02.2023"]
    message = str(info.value)
    assert "created_at" in message and "'01.02.2023'" in message
    assert "dayfirst=True" in message and "'%d.%m.%Y'" in message


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"dayfirst": True}, ["2023-02-01", "2023-02-13"]),
        ({"date_format": "%d.%m.%Y"}, ["2023-02-01", "2023-02-13"]),
        ({"date_format": {"organisations": "%d.%m.%Y"}}, ["2023-02-01", "2023-02-13"]),
    ],
)
def test_dayfirst_and_date_format_read_the_dates_as_told(options, expected):
    base = bc.ClientBase.from_frames(_orgs(["01.02.2023", "13.02.2023"]), **options)
    assert base.organisations["created_at"].tolist() == [pd.Timestamp(e) for e in expected]


def test_month_first_is_available_and_refuses_day_first_only_values():
    base = bc.ClientBase.from_frames(_orgs(["01.02.2023"]), dayfirst=False)
    assert base.organisations.loc[0, "created_at"] == pd.Timestamp("2023-01-02")
    problems = _problems({"organisations": _orgs(["01.02.2023", "13.02.2023"])}, dayfirst=False)
    assert problems["value"].tolist() == ["13.02.2023"]


@pytest.mark.parametrize("options", [{}, {"dayfirst": True}])
def test_a_two_digit_year_needs_a_date_format_whatever_dayfirst_says(options):
    with pytest.raises(bc.InvalidTablesError, match=r"two-digit year .*'%d\.%m\.%y'") as info:
        bc.ClientBase.from_frames(_orgs(["13.02.23"]), **options)
    assert "pass dayfirst" not in str(info.value)  # dayfirst does not say the century
    base = bc.ClientBase.from_frames(_orgs(["13.02.23"]), date_format="%d.%m.%y")
    assert base.organisations.loc[0, "created_at"] == pd.Timestamp("2023-02-13")


def test_a_column_mixing_day_first_and_month_first_dates_is_refused():
    problems = _problems({"organisations": _orgs(["13.02.2023", "02/13/2023"])})
    assert set(problems["check"]) == {"ambiguous_date"}
    assert len(problems) == 2


def test_iso_dates_always_parse_whatever_the_options():
    base = bc.ClientBase.from_frames(
        _orgs(["2023-02-01", "03.02.2023", "2023-02-05T10:00:00+01:00"]), dayfirst=True
    )
    assert base.organisations["created_at"].tolist() == [
        pd.Timestamp("2023-02-01"),
        pd.Timestamp("2023-02-03"),
        pd.Timestamp("2023-02-05 09:00"),
    ]


def test_unambiguous_non_iso_dates_parse():
    base = bc.ClientBase.from_frames(
        _orgs(["Jan 5, 2024", "31.01.2024", "2024/01/02", "5 January 2024 10:00:00.123456789"])
    )
    assert base.organisations["created_at"].tolist() == [
        pd.Timestamp("2024-01-05"),
        pd.Timestamp("2024-01-31"),
        pd.Timestamp("2024-01-02"),
        pd.Timestamp("2024-01-05 10:00:00.123456789"),
    ]


def test_as_of_refuses_an_ambiguous_date_and_takes_dayfirst(small_base):
    with pytest.raises(bc.InvalidParameterError, match="dayfirst"):
        small_base.as_of("01.07.2024")
    assert small_base.as_of("01.07.2024", dayfirst=True).known_before == pd.Timestamp("2024-07-01")
    assert small_base.as_of("07/01/2024", date_format="%m/%d/%Y").known_before == pd.Timestamp(
        "2024-07-01"
    )
    assert to_timestamp("01.07.2024", dayfirst=False) == pd.Timestamp("2024-01-07")


# --- 2: one parsing path, whatever the loader -----------------------------------------------------

MIXED = ["2023-06-30", "2023-06-30 00:00:00", "2023-06-30T12:00:00+02:00"]
EXPECTED = [
    pd.Timestamp("2023-06-30"),
    pd.Timestamp("2023-06-30"),
    pd.Timestamp("2023-06-30 10:00"),
]


def _text_tables_in_sqlite(path) -> str:
    url = f"sqlite:///{path / 'export.db'}"
    engine = sqlalchemy.create_engine(url)
    orgs = _orgs(["2023-01-01"] * 3)
    contracts = pd.DataFrame(
        {
            "contract_id": ["K-1", "K-2", "K-3"],
            "organisation_id": ["O-0", "O-1", "O-2"],
            "started_at": ["2023-01-01"] * 3,
            "ends_at": ["2024-12-31"] * 3,
            "cancelled_at": MIXED,
        }
    )
    with engine.begin() as connection:
        orgs.to_sql("organisations", connection, index=False)
        contracts.to_sql("contracts", connection, index=False)  # times as TEXT, as exports do
    engine.dispose()
    return url


def test_read_sql_parses_mixed_time_formats_like_from_frames(tmp_path):
    url = _text_tables_in_sqlite(tmp_path)
    from_sql = bc.ClientBase.read_sql(url).contracts["cancelled_at"].tolist()
    assert from_sql == EXPECTED
    frames = bc.ClientBase.from_frames(
        _orgs(["2023-01-01"] * 3),
        contracts=pd.read_sql_table("contracts", sqlalchemy.create_engine(url)),
    )
    assert frames.contracts["cancelled_at"].tolist() == from_sql


def test_read_csv_parses_mixed_time_formats(tmp_path):
    _orgs(MIXED).to_csv(tmp_path / "organisations.csv", index=False)
    assert bc.ClientBase.read_csv(tmp_path).organisations["created_at"].tolist() == EXPECTED


# --- 3: zone abbreviations and relative words ----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "check"),
    [
        ("2024-01-01T10:00:00 EST", "time_zone"),
        ("2024-01-01 10:00 CET", "time_zone"),
        ("2024-01-01 10:00 Europe/Berlin", "time_zone"),
        ("now", "relative_time"),
        ("today", "relative_time"),
        ("Yesterday", "relative_time"),
        ("10:00", "incomplete_date"),
        ("January 2024", "incomplete_date"),
    ],
)
def test_zone_names_and_relative_words_are_refused(value, check):
    problems = _problems({"organisations": _orgs(["2024-01-01", value])})
    assert problems[["column", "check", "row_id", "value"]].values.tolist() == [
        ["created_at", check, "O-1", value]
    ]
    with pytest.raises(bc.InvalidParameterError):
        to_timestamp(value)


def test_utc_names_and_offsets_are_kept():
    base = bc.ClientBase.from_frames(
        _orgs(
            ["2024-01-01 10:00 UTC", "Mon, 01 Jan 2024 10:00:00 GMT", "2024-01-01T10:00:00-05:00"]
        )
    )
    assert base.organisations["created_at"].tolist() == [
        pd.Timestamp("2024-01-01 10:00"),
        pd.Timestamp("2024-01-01 10:00"),
        pd.Timestamp("2024-01-01 15:00"),
    ]


# --- 12: numbers are not times; numbers are days --------------------------------------------------


@pytest.mark.parametrize("value", [2024, np.int64(2024), 2024.0, True])
def test_a_number_is_not_a_point_in_time(small_base, value):
    with pytest.raises(bc.InvalidParameterError, match="number is not a point in time"):
        small_base.as_of(value)


def test_numbers_in_a_time_column_are_refused():
    with pytest.raises(bc.InvalidTablesError) as info:
        bc.ClientBase({"organisations": _orgs([1_700_000_000, 1_700_000_001])})
    assert set(info.value.problems["check"]) == {"type"}
    assert "pd.to_datetime(x, unit='s')" in str(info.value)


@pytest.mark.parametrize("value", [180, 180.0, np.int64(180), np.int32(180), np.float64(180.0)])
def test_every_number_is_days(value):
    assert to_duration(value) == pd.Timedelta(days=180)


def test_number_durations_configure_extractors_and_churn_definitions_alike():
    from b2bclient.churn import Inactivity
    from b2bclient.features import Purchasing

    assert Inactivity(gap=np.int64(180)).gap == Inactivity(gap=180).gap == pd.Timedelta("180D")
    windows = Purchasing(windows=(np.int64(90),)).output_columns()
    assert any(c.endswith("_90d") for c in windows) and not any("_0d" in c for c in windows)
    assert (
        Purchasing(windows=np.int64(90)).output_columns() == Purchasing(windows=90).output_columns()
    )


@pytest.mark.parametrize(
    "value", ["180", np.timedelta64(180), float("inf"), float("nan"), 1e300, -5, True, "soon"]
)
def test_durations_without_a_unit_or_out_of_range_are_refused(value):
    with pytest.raises(bc.InvalidParameterError, match="positive duration"):
        to_duration(value)


# --- 17: times outside datetime64[ns] are problems, not raw errors --------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31",
        "1500-01-01",
        dt.datetime(3000, 1, 1),
        pd.Timestamp("3000-01-01"),
        np.datetime64("3000-01-01", "s"),
    ],
)
def test_times_outside_the_ns_range_are_collected_as_problems(value):
    orgs = pd.DataFrame(
        {
            "organisation_id": ["O-1", "O-2"],
            "created_at": pd.Series(["2024-01-01", value], dtype=object),
        }
    )
    orgs.loc[0, "employees"] = -1  # a second problem: both are collected
    problems = _problems({"organisations": orgs})
    assert set(problems["check"]) == {"time_range", "range"}
    assert problems.set_index("check").loc["time_range", "row_id"] == "O-2"


def test_a_datetime64_seconds_column_beyond_2262_is_a_problem():
    orgs = pd.DataFrame(
        {
            "organisation_id": ["O-1", "O-2"],
            "created_at": np.array(["2024-01-01", "3000-01-01"], dtype="datetime64[s]"),
        }
    )
    problems = _problems({"organisations": orgs})
    assert problems[["check", "row_id"]].values.tolist() == [["time_range", "O-2"]]


@pytest.mark.parametrize("value", ["9999-12-31", "1066-10-14", dt.datetime(9999, 12, 31)])
def test_to_timestamp_outside_the_range_is_an_invalid_parameter(value):
    with pytest.raises(bc.InvalidParameterError, match="2262-04-11"):
        to_timestamp(value)


def test_sub_microsecond_times_are_kept():
    base = bc.ClientBase.from_frames(_orgs(["2024-01-01T10:00:00.123456789"]))
    assert base.organisations.loc[0, "created_at"].nanosecond == 789
