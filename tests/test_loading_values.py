"""Values at load time: refused when they cannot be right, changed only when reported."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import b2bclient as bc
from b2bclient.features import build_features


def _orgs(n: int = 2, **columns) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "organisation_id": [f"O-{i}" for i in range(n)],
            "created_at": ["2023-01-01"] * n,
            **columns,
        }
    )


def _problems(frames, **options) -> pd.DataFrame:
    with pytest.raises(bc.InvalidTablesError) as info:
        bc.ClientBase(frames, **options)
    return info.value.problems


def _load(*args, **kwargs) -> tuple[bc.ClientBase, list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        base = bc.ClientBase.from_frames(*args, **kwargs)
    return base, [w for w in caught if issubclass(w.category, bc.B2BClientWarning)]


# --- 5: integer ids -------------------------------------------------------------------------------


def test_integer_ids_are_read_as_text_and_the_load_says_so():
    orgs = pd.DataFrame({"organisation_id": [1001, 1002], "created_at": ["2023-01-01"] * 2})
    deals = pd.DataFrame(
        {"organisation_id": [1001, 1002], "created_at": ["2024-01-01"] * 2, "amount": [5.0, 7.0]}
    )
    base, caught = _load(orgs, deals=deals)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "organisations.organisation_id: 2 ids read as text (e.g. 1001 -> '1001')" in message
    repairs = base.repairs
    assert repairs.query("check == 'id_as_text'")[["table", "column", "rows"]].values.tolist() == [
        ["organisations", "organisation_id", 2],
        ["deals", "organisation_id", 2],
    ]
    assert issubclass(bc.B2BClientWarning, UserWarning)


@pytest.mark.parametrize("key", [1001, np.int64(1001), 1001.0, "1001"])
def test_every_lookup_accepts_the_users_id_type(key):
    orgs = pd.DataFrame({"organisation_id": [1001, 1002], "created_at": ["2023-01-01"] * 2})
    base, _ = _load(orgs)
    assert base.organisation(key).organisation_id == "1001"


def test_an_unknown_integer_id_says_how_it_was_looked_up():
    base, _ = _load(pd.DataFrame({"organisation_id": [1001], "created_at": ["2023-01-01"]}))
    with pytest.raises(bc.UnknownIdError, match=r"7 \(looked up as '7'\)"):
        base.organisation(7)


def test_features_join_back_on_int_keys_through_the_documented_conversion():
    orgs = pd.DataFrame({"organisation_id": [1001, 1002], "created_at": ["2023-01-01"] * 2})
    deals = pd.DataFrame(
        {"organisation_id": [1001, 1001], "created_at": ["2024-01-01"] * 2, "amount": [5.0, 7.0]}
    )
    base, caught = _load(orgs, deals=deals)
    X = build_features(base, "2025-01-01", ["purchasing"])
    users = pd.DataFrame({"segment": ["a", "b"]}, index=pd.Index([1001, 1002], name="id"))
    joined = users.join(X.set_axis(X.index.astype(int)))
    assert joined["purchasing__orders_total"].tolist() == [2.0, 0.0]
    assert "features are indexed by the text" in str(caught[0].message)


# --- 8: values that must be refused ---------------------------------------------------------------


@pytest.mark.parametrize("value", [np.inf, -np.inf, "inf", "Infinity", "-inf"])
def test_infinity_is_refused_in_every_number_column(value):
    orgs = _orgs(annual_revenue=pd.Series([1.0, value], dtype=object))
    deals = pd.DataFrame(
        {
            "organisation_id": ["O-0"],
            "created_at": ["2024-01-01"],
            "amount": pd.Series([value], dtype=object),
        }
    )
    problems = _problems({"organisations": orgs, "deals": deals})
    assert problems[["table", "column", "check"]].values.tolist() == [
        ["organisations", "annual_revenue", "range"],
        ["deals", "amount", "range"],
    ]


def test_infinite_quantities_and_contract_values_are_refused(raw_frames):
    raw_frames["deal_lines"].loc[0, "quantity"] = np.inf
    raw_frames["contracts"]["value"] = raw_frames["contracts"]["value"].astype(object)
    raw_frames["contracts"].loc[0, "value"] = "inf"
    problems = _problems(raw_frames)
    assert set(map(tuple, problems[["table", "column", "check"]].values)) == {
        ("deal_lines", "quantity", "range"),
        ("contracts", "value", "range"),
    }


def test_complex_numbers_are_refused_not_truncated():
    deals = pd.DataFrame(
        {
            "organisation_id": ["O-0", "O-1"],
            "created_at": ["2024-01-01"] * 2,
            "amount": [1 + 2j, 3 + 0j],
        }
    )
    problems = _problems({"organisations": _orgs(), "deals": deals})
    assert problems[["column", "check"]].drop_duplicates().values.tolist() == [["amount", "type"]]
    assert len(problems) == 2
    mixed = deals.astype({"amount": object})
    mixed.loc[1, "amount"] = 3.0
    assert _problems({"organisations": _orgs(), "deals": mixed})["row_id"].tolist() == ["row 0"]


def test_booleans_are_not_numbers():
    problems = _problems({"organisations": _orgs(annual_revenue=[True, False])})
    assert problems[["column", "check"]].values.tolist() == [["annual_revenue", "type"]] * 2


@pytest.mark.parametrize("ids", [[1e20, 1e20 + 1], [1.5, 2.0], [np.inf, 1.0]])
def test_float_ids_that_are_not_exact_whole_numbers_are_refused(ids):
    orgs = pd.DataFrame({"organisation_id": ids, "created_at": ["2023-01-01"] * 2})
    problems = _problems({"organisations": orgs})
    assert set(problems["check"]) == {"type"}
    assert "duplicate_key" not in set(problems["check"])
    # a refused id names no row: the rows are named by position, not by the float's text
    assert problems["row_id"].tolist()[0] == "row 0"
    assert all(r.startswith("row ") or r == "2" for r in problems["row_id"])


# --- 17: raw errors from deep inside pandas -------------------------------------------------------


def test_employees_beyond_int64_is_a_problem_not_a_type_error():
    problems = _problems({"organisations": _orgs(employees=[1e20, 5])})
    assert problems[["column", "check", "row_id"]].values.tolist() == [
        ["employees", "range", "O-0"]
    ]


def test_multiindex_columns_are_a_clear_problem():
    orgs = _orgs()
    orgs.columns = pd.MultiIndex.from_tuples([("crm", c) for c in orgs.columns])
    with pytest.raises(bc.InvalidTablesError, match=r"MultiIndex.*get_level_values") as info:
        bc.ClientBase({"organisations": orgs})
    assert info.value.problems["check"].tolist() == ["multiindex_columns"]


# --- 18: missing columns, empty strings -----------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (
            pd.DataFrame({"Organisation ID": ["A"], "created_at": ["2023-01-01"]}),
            "did you mean 'Organisation ID'? Pass columns={'Organisation ID': 'organisation_id'}",
        ),
        (
            pd.DataFrame({"organization_id": ["A"], "created_at": ["2023-01-01"]}),
            "did you mean 'organization_id'?",
        ),
        (
            pd.DataFrame(
                {"created_at": ["2023-01-01"]}, index=pd.Index(["A"], name="organisation_id")
            ),
            "it is the frame's index: pass frame.reset_index()",
        ),
        (
            pd.DataFrame({"organisation_id;created_at": ["A;2023-01-01"]}),
            "read it with sep=';'",
        ),
    ],
)
def test_a_missing_column_message_lists_what_was_found_and_the_fix(frame, expected):
    with pytest.raises(bc.InvalidTablesError) as info:
        bc.ClientBase({"organisations": frame})
    message = str(info.value)
    assert "found [" in message
    assert expected in message


def test_an_empty_string_reference_is_null_and_reported():
    orgs = _orgs(3, parent_id=["", "O-0", ""])
    base, caught = _load(orgs)
    assert base.organisations["parent_id"].tolist() == [None, "O-0", None]
    assert "organisations.parent_id: 2 empty strings read as null" in str(caught[0].message)
    line = base.repairs.query("column == 'parent_id'").iloc[0]
    assert (line["check"], line["value"], line["repaired_to"], line["rows"]) == (
        "empty_as_null",
        "",
        None,
        2,
    )


def test_an_empty_string_in_a_required_column_is_a_null():
    problems = _problems({"organisations": _orgs(2).assign(created_at=["", "2023-01-01"])})
    assert problems[["column", "check", "row_id"]].values.tolist() == [
        ["created_at", "null", "O-0"]
    ]


def test_free_text_keeps_empty_strings():
    base, caught = _load(_orgs(name=["", "Keller"]))
    assert base.organisations["name"].tolist() == ["", "Keller"]
    assert caught == []


# --- 24: mappings and enum spelling ---------------------------------------------------------------


def _export():
    orgs = pd.DataFrame({"Organisation ID": ["A", "B"], "Created": ["2023-01-01"] * 2})
    deals = pd.DataFrame(
        {
            "Opportunity": ["X-1", "X-2", "X-3"],
            "Organisation ID": ["A", "B", "A"],
            "Created": ["2023-02-01"] * 3,
            "Closed": ["2023-03-01", None, "2023-04-01"],
            "Stage": ["Closed Won", "Open", "Closed Lost"],
            "Amount": [10.0, 20.0, 30.0],
        }
    )
    return orgs, deals


def test_columns_and_values_map_an_export_flat_and_per_table():
    orgs, deals = _export()
    base, caught = _load(
        orgs,
        deals=deals,
        columns={
            "organisations": {"Organisation ID": "organisation_id", "Created": "created_at"},
            "deals": {
                "Opportunity": "deal_id",
                "Organisation ID": "organisation_id",
                "Created": "created_at",
                "Closed": "closed_at",
                "Stage": "status",
                "Amount": "amount",
            },
        },
        values={"deals": {"status": {"Closed Won": "won", "Closed Lost": "lost"}}},
    )
    assert base.deals["status"].tolist() == ["won", "open", "lost"]
    assert base.deals["deal_id"].tolist() == ["X-1", "X-2", "X-3"]
    # 'Open' matched ignoring case, and said so
    assert "deals.status: 1 value matched ignoring case and spacing: 'Open' -> 'open'" in str(
        caught[0].message
    )
    flat, _ = _load(
        orgs,
        deals=deals.drop(columns="Opportunity"),
        columns={
            "Organisation ID": "organisation_id",
            "Created": "created_at",
            "Closed": "closed_at",
            "Stage": "status",
            "Amount": "amount",
        },
        values={"status": {"Closed Won": "won", "Closed Lost": "lost", "Open": "open"}},
    )
    assert flat.deals["status"].tolist() == ["won", "open", "lost"]
    assert flat.repairs.empty


def test_enum_values_match_ignoring_case_and_spacing_and_are_reported(raw_frames):
    raw_frames["deals"]["channel"] = ["Tender", "Sales Rep", "PORTAL", "sales-rep"]
    raw_frames["organisations"]["size_band"] = ["Enterprise", "medium", " large ", None]
    with pytest.warns(bc.B2BClientWarning, match="matched ignoring case and spacing"):
        base = bc.ClientBase(raw_frames)
    assert base.deals["channel"].tolist() == ["tender", "sales_rep", "portal", "sales_rep"]
    lines = base.repairs.query("check == 'enum_spelling' and column == 'channel'")
    assert lines[["value", "repaired_to", "rows"]].values.tolist() == [
        ["Tender", "tender", 1],
        ["Sales Rep", "sales_rep", 1],
        ["PORTAL", "portal", 1],
        ["sales-rep", "sales_rep", 1],
    ]


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"columns": {"Organisation Id": "organisation_id"}}, "'Organisation Id', which no table"),
        ({"columns": {"deal": {"a": "b"}}}, "Did you mean .deals."),
        ({"values": {"stage": {"x": "y"}}}, "column 'stage'"),
        ({"columns": ["organisation_id"]}, "must be a mapping"),
        ({"repair": "guess"}, "known_since_first_activity"),
        ({"dayfirst": "yes"}, "True, False or None"),
    ],
)
def test_malformed_loading_options_are_invalid_parameters(options, match):
    with pytest.raises(bc.InvalidParameterError, match=match):
        bc.ClientBase.from_frames(_orgs(), **options)


def test_nothing_is_reported_for_clean_data(small_base):
    assert small_base.repairs.empty
    assert list(small_base.repairs.columns) == [
        "table",
        "column",
        "check",
        "row_id",
        "value",
        "repaired_to",
        "rows",
    ]
