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


# --- 9: rows dated before their organisation was created -----------------------------------------


def _early_activity(raw_frames):
    # an ERP history imported into a CRM account created later: O-3 (created 2021-06-15)
    raw_frames["deals"].loc[2, "created_at"] = "2020-05-01"  # D-3 of O-3, open
    raw_frames["interactions"].loc[0, "occurred_at"] = "2019-12-01"  # I-1 of O-1 (2020-01-10)
    return raw_frames


def test_rows_before_their_organisation_are_reported_at_validation(raw_frames):
    err = _raises(_early_activity(raw_frames))
    deals = _rows(err, "deals", "created_at", "before_organisation")
    assert deals.row_id.tolist() == ["D-3"]
    assert deals.value.tolist() == [pd.Timestamp("2020-05-01")]
    assert _rows(err, "interactions", "occurred_at", "before_organisation").row_id.tolist() == [
        "I-1"
    ]
    assert "repair='known_since_first_activity'" in str(err)


def test_the_repair_moves_created_at_back_and_reports_every_organisation(raw_frames):
    with pytest.warns(bc.B2BClientWarning, match="2 organisations known since their first"):
        base = bc.ClientBase(_early_activity(raw_frames), repair="known_since_first_activity")
    created = base.organisations.set_index("organisation_id")["created_at"]
    assert created["O-3"] == pd.Timestamp("2020-05-01")
    assert created["O-1"] == pd.Timestamp("2019-12-01")
    assert created["O-2"] == pd.Timestamp("2020-03-01")  # untouched
    lines = base.repairs.query("check == 'known_since_first_activity'")
    assert lines[["row_id", "value", "repaired_to", "rows"]].values.tolist() == [
        ["O-1", pd.Timestamp("2020-01-10"), pd.Timestamp("2019-12-01"), 1],
        ["O-3", pd.Timestamp("2021-06-15"), pd.Timestamp("2020-05-01"), 1],
    ]
    # the repaired base is consistent: as_of now sees O-3 with its early deal
    cut = base.as_of("2021-01-01")
    assert "O-3" in set(cut.organisations.organisation_id)
    assert "D-3" in set(cut.deals.deal_id)


def _created_after_its_purchases() -> bc.ClientBase:
    """A base whose O-B was created after its purchases (possible only without validation)."""
    orgs = pd.DataFrame(
        {"organisation_id": ["O-A", "O-B"], "created_at": ["2022-01-01", "2022-01-01"]}
    )
    deals = pd.DataFrame(
        {
            "organisation_id": ["O-A", "O-A", "O-B", "O-B", "O-B"],
            "created_at": ["2022-02-01", "2023-05-01", "2022-03-01", "2022-09-01", "2023-06-01"],
            "amount": [10.0, 20.0, 30.0, 40.0, 50.0],
        }
    )
    valid = bc.ClientBase.from_frames(orgs, deals=deals)
    tables = dict(valid.tables)
    late = valid.organisations
    late["created_at"] = pd.to_datetime(["2022-01-01", "2022-07-01"])
    tables["organisations"] = late
    return bc.ClientBase(tables, validate=False)


def test_survival_risk_sets_hold_only_organisations_known_at_the_landmark():
    from b2bclient.churn import Inactivity, survival_frame

    base = _created_after_its_purchases()
    frame = survival_frame(
        base, "2024-01-01", Inactivity("180D"), landmarks=["2022-06-01"], extractors=["purchasing"]
    )
    assert frame["organisation_id"].tolist() == ["O-A"]
    assert frame["purchasing__orders_total"].notna().all()


def test_calibration_holdout_agrees_with_rfm_summary_at_the_same_date():
    from b2bclient.btyd import calibration_holdout, rfm_summary

    base = _created_after_its_purchases()
    summary = rfm_summary(base, "2022-06-01", freq="W")
    frame = calibration_holdout(base, "2022-06-01", "2024-01-01", freq="W")
    assert frame.index.tolist() == summary.index.tolist() == ["O-A"]
    pd.testing.assert_frame_equal(frame[list(summary.columns)], summary, check_like=True)
