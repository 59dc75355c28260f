"""Each validation check gets its own malformed input; the error names table, column and ids."""

from __future__ import annotations

import pandas as pd
import pytest

import b2bclient as bc
from b2bclient.base import SCHEMAS, TABLE_NAMES


def _raises(frames: dict[str, pd.DataFrame]) -> bc.InvalidTablesError:
    with pytest.raises(bc.InvalidTablesError) as info:
        bc.ClientBase(frames)
    return info.value


def _only(err: bc.InvalidTablesError, table: str, column: str, check: str) -> pd.DataFrame:
    rows = err.problems.query("table == @table and column == @column and check == @check")
    assert not rows.empty, err.problems
    return rows


def test_valid_frames_load_with_canonical_dtypes(raw_frames):
    base = bc.ClientBase(raw_frames)
    for name in TABLE_NAMES:
        df = base.tables[name]
        for column in SCHEMAS[name].columns:
            assert str(df[column.name].dtype) == column.dtype, (name, column.name)
        assert isinstance(df.index, pd.RangeIndex)
    assert list(base.organisations.columns)[-1] == "crm_owner"  # extra column kept, last


def test_error_is_value_error_and_b2bclient_error(raw_frames):
    raw_frames["deals"].loc[0, "amount"] = -1.0
    err = _raises(raw_frames)
    assert isinstance(err, ValueError)
    assert isinstance(err, bc.B2BClientError)
    assert list(err.problems.columns) == ["table", "column", "check", "row_id", "value"]


def test_missing_required_column(raw_frames):
    raw_frames["interactions"] = raw_frames["interactions"].drop(columns="occurred_at")
    err = _raises(raw_frames)
    _only(err, "interactions", "occurred_at", "missing_column")
    assert "interactions" in str(err) and "occurred_at" in str(err)


def test_missing_organisations_table(raw_frames):
    del raw_frames["organisations"]
    err = _raises(raw_frames)
    _only(err, "organisations", "*", "missing_table")


def test_unknown_table_name(raw_frames):
    raw_frames["orders"] = raw_frames["deals"]
    err = _raises(raw_frames)
    _only(err, "orders", "*", "unknown_table")


def test_not_a_frame(raw_frames):
    raw_frames["deals"] = [1, 2, 3]  # type: ignore[assignment]
    err = _raises(raw_frames)
    _only(err, "deals", "*", "not_a_frame")


def test_null_key_and_null_required_time(raw_frames):
    raw_frames["interactions"].loc[[1, 3], "occurred_at"] = None
    raw_frames["deals"].loc[2, "deal_id"] = None
    err = _raises(raw_frames)
    rows = _only(err, "interactions", "occurred_at", "null")
    assert sorted(rows.row_id) == ["I-2", "I-4"]
    assert "occurred_at: 2 nulls at interaction_id ['I-2', 'I-4']" in str(err)
    assert _only(err, "deals", "deal_id", "null").row_id.tolist() == ["row 2"]


def test_value_that_does_not_coerce(raw_frames):
    raw_frames["deals"]["amount"] = raw_frames["deals"]["amount"].astype(object)
    raw_frames["deals"].loc[1, "amount"] = "a lot"
    raw_frames["contracts"].loc[0, "ends_at"] = "next tuesday-ish"
    raw_frames["organisations"].loc[0, "employees"] = 12.5
    raw_frames["contacts"]["is_decision_maker"] = ["yes", "maybe", True]
    err = _raises(raw_frames)
    assert _only(err, "deals", "amount", "type").row_id.tolist() == ["D-2"]
    assert _only(err, "contracts", "ends_at", "type").row_id.tolist() == ["K-1"]
    assert _only(err, "organisations", "employees", "type").row_id.tolist() == ["O-1"]
    assert _only(err, "contacts", "is_decision_maker", "type").row_id.tolist() == ["C-2"]
    assert "'a lot'" in str(err)


def test_duplicate_keys_including_composite(raw_frames):
    raw_frames["products"].loc[2, "product_id"] = "P-1"
    raw_frames["deal_lines"].loc[1, "line_no"] = 1
    err = _raises(raw_frames)
    assert sorted(_only(err, "products", "product_id", "duplicate_key").row_id) == ["P-1", "P-1"]
    assert set(_only(err, "deal_lines", "deal_id/line_no", "duplicate_key").row_id) == {"D-1/1"}


@pytest.mark.parametrize(
    ("table", "column", "row", "value", "row_id"),
    [
        ("deals", "organisation_id", 0, "O-404", "D-1"),
        ("contacts", "organisation_id", 1, "O-404", "C-2"),
        ("stages", "project_id", 3, "PR-404", "PR-404/design"),
        ("deal_lines", "product_id", 0, "P-404", "D-1/1"),
        ("deal_lines", "deal_id", 4, "D-404", "D-404/1"),
        ("interactions", "contact_id", 0, "C-404", "I-1"),
        ("deals", "project_id", 1, "PR-404", "D-2"),
        ("relationships", "target_id", 1, "O-404", "O-3/O-404/supplier"),
        ("organisations", "parent_id", 2, "O-404", "O-3"),
    ],
)
def test_dangling_foreign_key(raw_frames, table, column, row, value, row_id):
    raw_frames[table].loc[row, column] = value
    err = _raises(raw_frames)
    rows = _only(err, table, column, "foreign_key")
    assert rows.row_id.tolist() == [row_id]
    assert rows.value.tolist() == [value]
    assert f"{column}: 1 unknown" in str(err)
    assert row_id in str(err)


def test_reference_to_an_absent_table_says_it_is_empty(raw_frames):
    del raw_frames["products"]
    err = _raises(raw_frames)
    assert "products table is empty" in str(err)


def test_parent_cycle(raw_frames):
    raw_frames["organisations"].loc[0, "parent_id"] = "O-2"  # O-1 -> O-2 -> O-1
    err = _raises(raw_frames)
    assert sorted(_only(err, "organisations", "parent_id", "cycle").row_id) == ["O-1", "O-2"]


def test_self_parent_is_a_cycle(raw_frames):
    raw_frames["organisations"].loc[2, "parent_id"] = "O-3"
    err = _raises(raw_frames)
    assert _only(err, "organisations", "parent_id", "cycle").row_id.tolist() == ["O-3"]


def test_negative_amounts_and_non_positive_quantities(raw_frames):
    raw_frames["deals"].loc[3, "amount"] = -5.0
    raw_frames["deal_lines"].loc[2, "quantity"] = 0.0
    raw_frames["contracts"].loc[1, "value"] = -1.0
    err = _raises(raw_frames)
    assert _only(err, "deals", "amount", "range").row_id.tolist() == ["D-4"]
    assert _only(err, "deal_lines", "quantity", "range").row_id.tolist() == ["D-2/1"]
    assert _only(err, "contracts", "value", "range").row_id.tolist() == ["K-2"]
    assert "negative value" in str(err) and "non-positive value" in str(err)


@pytest.mark.parametrize(
    ("table", "column", "row", "value", "row_id"),
    [
        ("deals", "closed_at", 0, "2022-01-01", "D-1"),
        ("projects", "closed_at", 0, "2020-01-01", "PR-1"),
        ("stages", "ended_at", 0, "2022-08-01", "PR-1/design"),
        ("contracts", "ends_at", 0, "2020-12-31", "K-1"),
        ("contracts", "cancelled_at", 1, "2021-01-01", "K-2"),
    ],
)
def test_end_before_start(raw_frames, table, column, row, value, row_id):
    raw_frames[table].loc[row, column] = value
    err = _raises(raw_frames)
    assert _only(err, table, column, "order").row_id.tolist() == [row_id]


def test_unknown_enum_values(raw_frames):
    raw_frames["interactions"].loc[2, "channel"] = "pigeon"
    raw_frames["deals"].loc[0, "status"] = "closed"
    raw_frames["organisations"].loc[1, "size_band"] = "huge"
    err = _raises(raw_frames)
    assert _only(err, "interactions", "channel", "enum").row_id.tolist() == ["I-3"]
    assert _only(err, "deals", "status", "enum").row_id.tolist() == ["D-1"]
    assert _only(err, "organisations", "size_band", "enum").row_id.tolist() == ["O-2"]
    assert "'pigeon'" in str(err) and "allowed: portal, web" in str(err)


def test_stages_out_of_order_in_time(raw_frames):
    raw_frames["stages"].loc[2, "started_at"] = "2022-10-01"  # procurement before production
    raw_frames["stages"].loc[1, "ended_at"] = "2022-12-15"
    err = _raises(raw_frames)
    assert _only(err, "stages", "started_at", "stage_order").row_id.tolist() == ["PR-1/procurement"]


def test_closed_deal_needs_closed_at_and_open_deal_has_none(raw_frames):
    raw_frames["deals"].loc[0, "closed_at"] = None  # won
    raw_frames["deals"].loc[2, "closed_at"] = "2024-02-10"  # open
    raw_frames["projects"].loc[0, "closed_at"] = None  # completed
    err = _raises(raw_frames)
    assert _only(err, "deals", "closed_at", "closed_at_missing").row_id.tolist() == ["D-1"]
    assert _only(err, "deals", "closed_at", "closed_at_on_open").row_id.tolist() == ["D-3"]
    assert _only(err, "projects", "closed_at", "closed_at_missing").row_id.tolist() == ["PR-1"]


def test_self_relationship(raw_frames):
    raw_frames["relationships"].loc[1, "target_id"] = "O-3"
    err = _raises(raw_frames)
    assert _only(err, "relationships", "target_id", "self_reference").row_id.tolist() == [
        "O-3/O-3/supplier"
    ]


def test_every_problem_is_collected_before_raising(raw_frames):
    raw_frames["deals"].loc[0, "amount"] = -1.0
    raw_frames["interactions"].loc[0, "channel"] = "fax"
    raw_frames["contacts"].loc[0, "organisation_id"] = "O-9"
    err = _raises(raw_frames)
    assert set(err.problems.table) == {"deals", "interactions", "contacts"}
    assert str(err).startswith("3 problems in 3 tables")


def test_message_lists_first_ids_and_counts_the_rest():
    orgs = pd.DataFrame({"organisation_id": [f"O-{i}" for i in range(12)], "created_at": None})
    orgs["created_at"] = orgs["created_at"].astype(object)
    err = _raises({"organisations": orgs})
    assert "12 nulls at organisation_id ['O-0', 'O-1', 'O-2', 'O-3', 'O-4'] and 7 more" in str(err)
    assert len(err.problems) == 12


def test_timezones_are_converted_to_naive_utc():
    orgs = pd.DataFrame(
        {
            "organisation_id": ["A", "B", "C", "D"],
            "created_at": [
                "2024-01-01T12:00:00+02:00",
                "2024-01-01T12:00:00-05:00",
                "2024-01-01 12:00",
                pd.Timestamp("2024-01-01 12:00", tz="Asia/Tokyo"),
            ],
        }
    )
    got = bc.ClientBase.from_frames(orgs).organisations["created_at"]
    expected = pd.to_datetime(
        ["2024-01-01 10:00", "2024-01-01 17:00", "2024-01-01 12:00", "2024-01-01 03:00"]
    )
    assert got.tolist() == expected.tolist()
    aware = pd.DataFrame(
        {
            "organisation_id": ["A"],
            "created_at": pd.to_datetime(["2024-06-01 12:00"]).tz_localize("Europe/Berlin"),
        }
    )
    assert bc.ClientBase.from_frames(aware).organisations.loc[0, "created_at"] == pd.Timestamp(
        "2024-06-01 10:00"
    )


def test_order_log_loads_as_won_deals():
    orgs = pd.DataFrame({"organisation_id": ["O-1", "O-2"], "created_at": ["2023-01-01"] * 2})
    orders = pd.DataFrame(
        {
            "organisation_id": ["O-1", "O-2", "O-1"],
            "created_at": ["2023-02-01", "2023-03-01", "2023-04-01"],
            "amount": [10.0, 20.0, 30.0],
        }
    )
    deals = bc.ClientBase.from_frames(orgs, deals=orders).deals
    assert deals["deal_id"].tolist() == ["D-1", "D-2", "D-3"]
    assert (deals["status"] == "won").all()
    assert deals["closed_at"].equals(deals["created_at"].rename("closed_at"))


def test_product_kind_defaults_to_good(raw_frames):
    raw_frames["products"].loc[0, "kind"] = None
    products = bc.ClientBase(raw_frames).products
    assert products["kind"].tolist() == ["good", "good", "service"]
    assert (
        bc.ClientBase({**raw_frames, "products": raw_frames["products"].drop(columns="kind")})
        .products["kind"]
        .tolist()
        == ["good"] * 3
    )


def test_integer_ids_become_strings():
    orgs = pd.DataFrame({"organisation_id": [1, 2], "created_at": ["2024-01-01"] * 2})
    deals = pd.DataFrame(
        {
            "deal_id": [10.0, 11.0],
            "organisation_id": [1, 2],
            "created_at": ["2024-02-01"] * 2,
            "status": "open",
            "amount": 1.0,
        }
    )
    with pytest.warns(bc.B2BClientWarning, match="ids read as text"):
        base = bc.ClientBase.from_frames(orgs, deals=deals)
    assert base.organisations["organisation_id"].tolist() == ["1", "2"]
    assert base.deals["deal_id"].tolist() == ["10", "11"]


def test_no_row_is_dropped(raw_frames):
    base = bc.ClientBase(raw_frames)
    for name in TABLE_NAMES:
        assert len(base.tables[name]) == len(raw_frames[name])


def test_input_frames_are_not_modified(raw_frames):
    before = {k: v.copy() for k, v in raw_frames.items()}
    bc.ClientBase(raw_frames)
    for name, df in raw_frames.items():
        pd.testing.assert_frame_equal(df, before[name])
