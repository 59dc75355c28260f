"""Checks across tables at load time: references, owners of references, rows named as the user wrote them."""

from __future__ import annotations

import pandas as pd
import pytest

import b2bclient as bc


def _raises(frames: dict[str, pd.DataFrame]) -> bc.InvalidTablesError:
    with pytest.raises(bc.InvalidTablesError) as info:
        bc.ClientBase(frames)
    return info.value


def _rows(err: bc.InvalidTablesError, table: str, column: str, check: str) -> pd.DataFrame:
    rows = err.problems.query("table == @table and column == @column and check == @check")
    assert not rows.empty, err.problems
    return rows


def test_a_null_organisation_id_is_not_a_parent_cycle():
    orgs = pd.DataFrame(
        {
            "organisation_id": ["A", None, "C", "D"],
            "parent_id": [None, "A", "A", None],
            "created_at": ["2023-01-01"] * 4,
        }
    )
    err = _raises({"organisations": orgs})
    assert set(err.problems["check"]) == {"null"}, err.problems
    assert "cycle" not in str(err)


def test_a_null_reference_never_matches_a_null_key():
    orgs = pd.DataFrame(
        {"organisation_id": ["A", None], "created_at": ["2023-01-01", "2023-01-01"]}
    )
    deals = pd.DataFrame(
        {"organisation_id": [None, "A"], "created_at": ["2023-02-01"] * 2, "amount": [1.0, 2.0]}
    )
    err = _raises({"organisations": orgs, "deals": deals})
    assert _rows(err, "deals", "organisation_id", "null").row_id.tolist() == ["row 0"]
    assert set(err.problems["check"]) == {"null"}


def test_an_interaction_with_the_contact_of_another_organisation_is_refused(raw_frames):
    # I-1 is an interaction of O-1; C-3 is a contact of O-3
    raw_frames["interactions"].loc[0, "contact_id"] = "C-3"
    raw_frames["contacts"].loc[2, "created_at"] = "2020-01-01"
    err = _raises(raw_frames)
    rows = _rows(err, "interactions", "contact_id", "contact_organisation")
    assert rows.row_id.tolist() == ["I-1"]
    assert rows.value.tolist() == ["C-3"]
    message = str(err)
    assert "I-1" in message and "'C-3'" in message and "O-3" in message and "O-1" in message


def test_foreign_key_messages_show_the_offending_values(raw_frames):
    raw_frames["deals"].loc[0, "organisation_id"] = "O-404"
    raw_frames["deals"].loc[1, "organisation_id"] = "O-405"
    err = _raises(raw_frames)
    assert "2 unknown organisations ['O-404', 'O-405'] at deal_id ['D-1', 'D-2']" in str(err)


def test_order_log_errors_name_the_users_rows_not_generated_ids():
    orgs = pd.DataFrame({"organisation_id": ["A"], "created_at": ["2023-01-01"]})
    orders = pd.DataFrame(
        {
            "organisation_id": ["A"] * 12,
            "created_at": ["2023-02-01"] * 12,
            "amount": [1.0] * 10 + [-5.0, 2.0],
        }
    )
    err = _raises({"organisations": orgs, "deals": orders})
    assert _rows(err, "deals", "amount", "range").row_id.tolist() == ["row 10"]
    assert "D-" not in str(err)
