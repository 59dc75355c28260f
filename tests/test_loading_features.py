"""Loaded data reaches the features as loaded: validated mappings, no empty extractors by default."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import b2bclient as bc
from b2bclient.base import deals_from_orders
from b2bclient.features import NextPurchase, build_features, training_frame


def _order_log() -> bc.ClientBase:
    orgs = pd.DataFrame({"organisation_id": ["A", "B", "C"], "created_at": ["2020-01-01"] * 3})
    deals = pd.DataFrame(
        {
            "organisation_id": ["A", "A", "B", "C"],
            "created_at": ["2023-01-01", "2023-05-01", "2023-06-01", "2023-07-01"],
            "amount": [1.0, 2.0, 3.0, 4.0],
        }
    )
    return bc.ClientBase.from_frames(orgs, deals=deals)


# --- 17: a mapping of tables is validated ---------------------------------------------------------


def test_build_features_validates_a_mapping_of_tables():
    orgs = pd.DataFrame(
        {"organisation_id": ["A", "A"], "created_at": ["2023-01-01", "2023-01-01T10:00+02:00"]}
    )
    with pytest.raises(bc.InvalidTablesError, match="sharing a key"):
        build_features({"organisations": orgs}, "2024-01-01", ["firmographics"])


def test_build_features_on_a_mapping_of_raw_tables_equals_the_client_base():
    orgs = pd.DataFrame(
        {"organisation_id": ["A", "B"], "created_at": ["2023-01-01", "2023-01-01T10:00+02:00"]}
    )
    deals = pd.DataFrame(
        {"organisation_id": ["A"], "created_at": ["2023-06-01 12:00"], "amount": ["5.5"]}
    )
    got = build_features({"organisations": orgs, "deals": deals}, "2024-01-01", ["purchasing"])
    expected = build_features(
        bc.ClientBase.from_frames(orgs, deals=deals), "2024-01-01", ["purchasing"]
    )
    pd.testing.assert_frame_equal(got, expected)


def test_training_frame_cutoffs_near_2262_are_an_invalid_parameter():
    base = _order_log()
    with pytest.raises(bc.InvalidParameterError, match="2262-04-11"):
        training_frame(base, ["2262-03-01"], NextPurchase("90D"), extractors=["purchasing"])


# --- 24: default extractors follow the tables the base holds --------------------------------------


def test_an_order_log_gets_no_empty_extractors_by_default():
    X = build_features(_order_log(), "2024-01-01")
    extractors = {c.split("__")[0] for c in X.columns}
    assert extractors == {"firmographics", "purchasing", "pipeline"}
    assert set(X.attrs["skipped_extractors"]) == {
        "product_mix",
        "services",
        "projects",
        "engagement",
        "contracts",
        "relationships",
    }
    assert X.attrs["skipped_extractors"]["engagement"] == ["interactions", "contacts"]
    assert X.shape[1] < 60  # instead of 146 mostly empty or constant columns
    # the choice is the loaded base's, so the cut base and earlier dates give the same columns
    early = build_features(_order_log(), "2021-01-01")
    assert list(early.columns) == list(X.columns)
    cut = _order_log().as_of("2023-03-01")
    pd.testing.assert_frame_equal(
        build_features(cut, "2023-03-01"), build_features(_order_log(), "2023-03-01")
    )
    empty_contracts = pd.DataFrame(
        columns=["contract_id", "organisation_id", "started_at", "ends_at"]
    )
    assert (
        "contracts"
        in bc.ClientBase.from_frames(
            _order_log().organisations, contracts=empty_contracts
        ).absent_tables
    )


def test_named_extractors_always_run_and_a_full_base_skips_nothing(small_base):
    X = build_features(_order_log(), "2024-01-01", ["contracts"])
    assert all(c.startswith("contracts__") for c in X.columns)
    full = build_features(small_base, "2025-01-01")
    assert full.attrs["skipped_extractors"] == {}
    assert {c.split("__")[0] for c in full.columns} >= {"engagement", "contracts", "projects"}


def test_training_frame_chooses_the_default_extractors_like_build_features():
    frame = training_frame(_order_log(), ["2023-04-01"], NextPurchase("90D"))
    built = build_features(_order_log(), "2023-04-01")
    assert [c for c in frame.columns if "__" in c] == list(built.columns)
    assert not [c for c in frame.columns if c.startswith(("engagement__", "contracts__"))]


def test_survival_frame_takes_extractors_like_build_features():
    from b2bclient.churn import Inactivity, survival_frame

    base = _order_log()
    frame = survival_frame(
        base, "2024-01-01", Inactivity("90D"), landmarks=["2023-06-15"], extractors=["purchasing"]
    )
    assert [c for c in frame.columns if "__" in c] == list(
        build_features(base, "2023-06-15", ["purchasing"]).columns
    )
    default = survival_frame(base, "2024-01-01", Inactivity("90D"), landmarks=["2023-06-15"])
    assert {c.split("__")[0] for c in default.columns if "__" in c} == {
        "firmographics",
        "purchasing",
        "pipeline",
    }
    with pytest.raises(bc.InvalidParameterError, match="extractors"):
        survival_frame(
            base,
            "2024-01-01",
            Inactivity("90D"),
            landmarks=["2023-06-15"],
            features=False,
            extractors=["purchasing"],
        )


# --- 24: an order log next to CRM opportunities ---------------------------------------------------


def test_an_order_log_combines_with_crm_opportunities():
    orgs = pd.DataFrame({"organisation_id": ["O-1", "O-2"], "created_at": ["2023-01-01"] * 2})
    crm = pd.DataFrame(
        {
            "deal_id": ["D-1", "D-2"],
            "organisation_id": ["O-1", "O-2"],
            "created_at": ["2024-01-05", "2024-02-01"],
            "closed_at": [None, "2024-03-01"],
            "status": ["open", "lost"],
            "amount": [500.0, 700.0],
        }
    )
    erp = pd.DataFrame(
        {
            "order_no": [9001, 9002, 9003],
            "organisation_id": ["O-1", "O-1", "O-2"],
            "created_at": ["2024-01-10", "2024-02-10", "2024-03-10"],
            "amount": [120.0, 80.0, 60.0],
            "warehouse": ["north", "south", "north"],
        }
    )
    deals = pd.concat([crm, deals_from_orders(erp, id_column="order_no")], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", bc.B2BClientWarning)  # nothing is changed on the way
        base = bc.ClientBase.from_frames(orgs, deals=deals)
    assert base.deals["deal_id"].tolist() == [
        "D-1",
        "D-2",
        "ORDER-9001",
        "ORDER-9002",
        "ORDER-9003",
    ]
    assert base.deals["status"].tolist() == ["open", "lost", "won", "won", "won"]
    assert base.deals["warehouse"].tolist()[2:] == ["north", "south", "north"]
    X = build_features(base, "2024-06-01", ["purchasing"])
    assert X["purchasing__orders_total"].tolist() == [2.0, 1.0]


def test_an_order_log_without_the_needed_columns_is_named():
    with pytest.raises(bc.InvalidParameterError, match="no column 'created_at'"):
        deals_from_orders(pd.DataFrame({"organisation_id": ["A"], "amount": [1.0]}))
