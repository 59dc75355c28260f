"""Built-in extractors on a tiny hand-made base, against values computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from b2bclient.base import ClientBase
from b2bclient.features import (
    Contracts,
    Engagement,
    Firmographics,
    Pipeline,
    ProductMix,
    Projects,
    Purchasing,
    Relationships,
    Services,
    build_features,
    describe_features,
    get_extractor,
    list_extractors,
)

AS_OF = pd.Timestamp("2025-01-01")
T = pd.Timestamp


def days(later: str | pd.Timestamp, earlier: str | pd.Timestamp) -> float:
    return (T(later) - T(earlier)) / pd.Timedelta("1D")


@pytest.fixture(scope="module")
def base() -> ClientBase:
    """A holding A > B, a client C without any activity, D created after AS_OF."""
    orgs = pd.DataFrame(
        {
            "organisation_id": ["A", "B", "C", "D"],
            "name": ["Alpha AG", "Beta GmbH", "Gamma SA", "Delta Ltd"],
            "industry": ["steel", "food", None, "future"],
            "region": ["north", "south", None, "east"],
            "size_band": ["large", "small", None, "micro"],
            "employees": [250, None, None, 3],
            "annual_revenue": [1e6, None, None, 1.0],
            "parent_id": [None, "A", None, "A"],
            "created_at": ["2022-01-01", "2023-01-01", "2023-06-01", "2025-02-01"],
        }
    )
    contacts = pd.DataFrame(
        {
            "contact_id": ["K1", "K2", "K3"],
            "organisation_id": ["A", "A", "B"],
            "role": ["procurement", "engineering", "management"],
            "is_decision_maker": [True, False, True],
            "full_name": ["Alice Example", "Bob Example", "Carol Example"],
            "email": ["alice@alpha.example", "bob@alpha.example", "carol@beta.example"],
            "phone": ["+49 30 1111", "+49 30 2222", "+49 30 3333"],
            "created_at": ["2022-01-01", "2022-01-01", "2025-02-01"],
        }
    )
    products = pd.DataFrame(
        {
            "product_id": ["P1", "P2", "P3", "S1", "S2"],
            "category": ["steel", "steel", "cement", "lifting", "insurance"],
            "kind": ["good", "good", "good", "service", "service"],
        }
    )
    deals = pd.DataFrame(
        {
            "deal_id": [f"D{i}" for i in range(1, 10)],
            "organisation_id": ["A", "A", "A", "A", "A", "B", "B", "B", "B"],
            "created_at": [
                "2024-10-01", "2024-11-20", "2023-12-01", "2024-12-10", "2024-12-20",
                "2024-12-01", "2025-01-01", "2024-06-01", "2024-07-01",
            ],
            "closed_at": [
                "2024-10-02", "2024-12-02", "2024-01-01", "2024-12-15", None,
                "2025-01-05", "2025-01-01", "2024-06-10", "2024-07-05",
            ],
            "status": ["won", "won", "won", "lost", "open", "won", "won", "lost", "lost"],
            "amount": [100.0, 300.0, 50.0, 70.0, 500.0, 80.0, 999.0, 10.0, 20.0],
            "channel": ["portal", "sales_rep", "tender", "portal", "portal", "edi", "portal", "tender", "tender"],
        }
    )  # fmt: skip
    lines = pd.DataFrame(
        {
            "deal_id": ["D1", "D1", "D2", "D3", "D6", "D5"],
            "line_no": [1, 2, 1, 1, 1, 1],
            "product_id": ["P1", "S1", "P3", "P2", "S2", "P1"],
            "quantity": [1.0, 1.0, 3.0, 1.0, 1.0, 5.0],
            "amount": [60.0, 40.0, 300.0, 50.0, 80.0, 500.0],
        }
    )
    projects = pd.DataFrame(
        {
            "project_id": ["PR1", "PR2", "PR3", "PR4"],
            "organisation_id": ["A", "A", "B", "B"],
            "created_at": ["2024-01-01", "2024-09-01", "2023-01-01", "2025-01-01"],
            "status": ["active", "completed", "cancelled", "active"],
            "expected_value": [1000.0, 200.0, 50.0, 7.0],
            "closed_at": [None, "2025-02-01", "2023-06-01", None],
        }
    )
    stages = pd.DataFrame(
        {
            "project_id": ["PR1", "PR1", "PR1", "PR2", "PR3"],
            "stage": ["design", "production", "procurement", "design", "design"],
            "started_at": ["2024-01-01", "2024-03-01", "2024-05-01", "2024-09-01", "2023-01-01"],
            "ended_at": ["2024-03-01", "2024-05-01", None, "2025-01-10", "2023-02-01"],
        }
    )
    interactions = pd.DataFrame(
        {
            "interaction_id": [f"I{i}" for i in range(1, 8)],
            "organisation_id": ["A", "A", "A", "A", "A", "B", "A"],
            "contact_id": ["K1", "K2", "K1", None, None, "K3", "K1"],
            "occurred_at": [
                "2024-12-01", "2024-12-15", "2024-11-01", "2024-06-01", "2023-06-01", "2024-12-20",
                "2025-01-01",
            ],
            "channel": ["portal", "portal", "email", "support", "phone", "meeting", "portal"],
            "kind": ["login", "page_view", "email_in", "ticket", "call", "visit", "login"],
        }
    )  # fmt: skip
    contracts = pd.DataFrame(
        {
            "contract_id": ["C1", "C2", "C3", "C4"],
            "organisation_id": ["A", "A", "A", "B"],
            "kind": ["supply", "supply", "service", "supply"],
            "started_at": ["2023-01-01", "2024-01-10", "2024-02-01", "2023-01-01"],
            "ends_at": ["2024-01-01", "2025-01-31", "2026-01-01", "2025-06-01"],
            "cancelled_at": [None, None, "2025-03-01", "2024-06-01"],
            "value": [10.0, 12.0, 5.0, 7.0],
        }
    )
    relationships = pd.DataFrame(
        {
            "source_id": ["A", "B", "C", "A"],
            "target_id": ["C", "A", "B", "B"],
            "kind": ["supplier", "partner", "referral", "parent"],
            "since": ["2024-01-01", "2023-01-01", "2025-01-01", "2023-01-01"],
        }
    )
    return ClientBase.from_frames(
        orgs,
        contacts=contacts,
        products=products,
        deals=deals,
        deal_lines=lines,
        projects=projects,
        stages=stages,
        interactions=interactions,
        contracts=contracts,
        relationships=relationships,
    )


def row(frame: pd.DataFrame, org: str, prefix: str) -> dict[str, float]:
    return {k[len(prefix) + 2 :]: v for k, v in frame.loc[org].items()}


def check(got: dict[str, float], expected: dict[str, float]) -> None:
    for key, value in expected.items():
        if isinstance(value, float) and np.isnan(value):
            assert np.isnan(got[key]), key
        else:
            assert got[key] == pytest.approx(value, rel=1e-12), key


def test_every_extractor_keeps_every_known_organisation_and_only_those(base: ClientBase) -> None:
    for name in list_extractors():
        X = get_extractor(name).compute(base.tables, AS_OF)
        assert X.index.tolist() == ["A", "B", "C"], name
        assert X.index.name == "organisation_id"


def test_firmographics(base: ClientBase) -> None:
    X = Firmographics().compute(base.tables, AS_OF)
    assert X["firmographics__industry"].cat.categories.tolist() == ["food", "steel"]
    assert X["firmographics__industry"].tolist()[:2] == ["steel", "food"]
    assert pd.isna(X.loc["C", "firmographics__industry"])
    assert X["firmographics__size_band"].cat.ordered
    check(
        row(X, "A", "firmographics"),
        {
            "employees": 250.0,
            "log_employees": np.log1p(250.0),
            "annual_revenue": 1e6,
            "age_days": days(AS_OF, "2022-01-01"),
            "holding_size": 2.0,
            "hierarchy_depth": 0.0,
            "subsidiaries": 1.0,
        },
    )
    check(
        row(X, "B", "firmographics"),
        {"employees": np.nan, "log_employees": np.nan, "holding_size": 2.0, "hierarchy_depth": 1.0},
    )
    check(row(X, "C", "firmographics"), {"holding_size": 1.0, "subsidiaries": 0.0})


def test_purchasing(base: ClientBase) -> None:
    X = Purchasing().compute(base.tables, AS_OF)
    gaps = np.array([days("2024-10-02", "2024-01-01"), days("2024-12-02", "2024-10-02")])
    check(
        row(X, "A", "purchasing"),
        {
            "orders_total": 3.0,
            "revenue_total": 450.0,
            "recency_days": days(AS_OF, "2024-12-02"),
            "first_purchase_days": days(AS_OF, "2024-01-01"),
            # 90 days back is 2024-10-03: D1 (2024-10-02) falls in the previous window.
            "orders_90d": 1.0,
            "revenue_90d": 300.0,
            "mean_order_value_90d": 300.0,
            "trend_orders_90d": 0.0,
            "trend_revenue_90d": (300.0 - 100.0) / 400.0,
            # 365 days back is 2024-01-02: D3 (2024-01-01) falls in the previous window.
            "orders_365d": 2.0,
            "revenue_365d": 400.0,
            "mean_order_value_365d": 200.0,
            "trend_orders_365d": 1.0 / 3.0,
            "trend_revenue_365d": 350.0 / 450.0,
            "gap_mean_days": gaps.mean(),
            "gap_std_days": gaps.std(),
            "gap_max_days": gaps.max(),
            "overdue_ratio": days(AS_OF, "2024-12-02") / gaps.mean(),
            "seasonality": np.nan,
            "share_portal_365d": 0.5,
            "share_sales_rep_365d": 0.5,
            "share_tender_365d": 0.0,
        },
    )
    # B's only purchase closes after AS_OF; D7 is created exactly at AS_OF.
    check(
        row(X, "B", "purchasing"),
        {
            "orders_total": 0.0,
            "revenue_total": 0.0,
            "recency_days": np.nan,
            "mean_order_value_365d": np.nan,
            "trend_orders_365d": 0.0,
            "share_portal_365d": 0.0,
            "gap_mean_days": np.nan,
        },
    )


def test_purchasing_seasonality_counts_calendar_months() -> None:
    orgs = pd.DataFrame({"organisation_id": ["A", "B"], "created_at": ["2020-01-01"] * 2})
    deals = pd.DataFrame(
        {
            "organisation_id": ["A"] * 4 + ["B"] * 12,
            "created_at": ["2021-03-05", "2022-03-09", "2023-03-01", "2024-03-20"]
            + [f"2024-{m:02d}-10" for m in range(1, 13)],
            "amount": 1.0,
        }
    )
    X = Purchasing(seasonality_window="2000D").compute(
        ClientBase.from_frames(orgs, deals=deals).tables, AS_OF
    )
    assert X["purchasing__seasonality"].tolist() == pytest.approx([1.0, 0.0])


def test_pipeline(base: ClientBase) -> None:
    X = Pipeline().compute(base.tables, AS_OF)
    check(
        row(X, "A", "pipeline"),
        {
            "open_deals": 1.0,
            "open_value": 500.0,
            "open_age_days_mean": days(AS_OF, "2024-12-20"),
            "lost_total": 1.0,
            "win_rate": 0.75,
            "lost_streak": 1.0,
            "max_lost_streak": 1.0,
            "created_90d": 3.0,
            "lost_90d": 1.0,
            "win_rate_90d": 0.5,
            "cycle_days_mean_90d": days("2024-12-02", "2024-11-20"),
        },
    )
    # D6 is won after AS_OF, so it is open at AS_OF.
    check(
        row(X, "B", "pipeline"),
        {
            "open_deals": 1.0,
            "open_value": 80.0,
            "open_age_days_max": days(AS_OF, "2024-12-01"),
            "lost_total": 2.0,
            "win_rate": 0.0,
            "lost_streak": 2.0,
            "max_lost_streak": 2.0,
            "win_rate_90d": np.nan,
            "lost_365d": 2.0,
            "cycle_days_mean_365d": np.nan,
        },
    )
    check(row(X, "C", "pipeline"), {"open_deals": 0.0, "win_rate": np.nan, "lost_streak": 0.0})


def test_pipeline_lost_streaks_follow_closing_order() -> None:
    orgs = pd.DataFrame({"organisation_id": ["A"], "created_at": ["2020-01-01"]})
    status = ["lost", "lost", "won", "lost", "lost", "lost", "won", "lost"]
    deals = pd.DataFrame(
        {
            "organisation_id": "A",
            "created_at": "2021-01-01",
            # Rows in reverse closing order: the streaks must follow time, not rows.
            "closed_at": [f"2022-{m:02d}-01" for m in range(8, 0, -1)],
            "status": status[::-1],
            "amount": 1.0,
        }
    )
    X = Pipeline().compute(ClientBase.from_frames(orgs, deals=deals).tables, AS_OF)
    assert X.loc["A", "pipeline__lost_streak"] == 1.0
    assert X.loc["A", "pipeline__max_lost_streak"] == 3.0


def test_product_mix(base: ClientBase) -> None:
    X = ProductMix().compute(base.tables, AS_OF)
    check(
        row(X, "A", "product_mix"),
        {
            "products_total": 4.0,
            "categories_total": 3.0,
            "service_share": 40.0 / 450.0,
            "hhi": (110.0**2 + 40.0**2 + 300.0**2) / 450.0**2,
            "categories_90d": 1.0,
            "new_categories_90d": 1.0,
            "service_share_90d": 0.0,
            "categories_365d": 3.0,
            "new_categories_365d": 2.0,
            "service_share_365d": 0.1,
        },
    )
    check(row(X, "B", "product_mix"), {"products_total": 0.0, "hhi": np.nan, "service_share": 0.0})


def test_services(base: ClientBase) -> None:
    X = Services().compute(base.tables, AS_OF)
    check(
        row(X, "A", "services"),
        {
            "uses_lifting": 1.0,
            "lifting_recency_days": days(AS_OF, "2024-10-02"),
            "uses_insurance": 0.0,
            "insurance_recency_days": np.nan,
            "service_categories": 1.0,
            "service_lines_365d": 1.0,
            "service_revenue_365d": 40.0,
        },
    )
    # B's insurance is bought after AS_OF.
    check(row(X, "B", "services"), {"uses_insurance": 0.0, "service_categories": 0.0})


def test_projects(base: ClientBase) -> None:
    X = Projects().compute(base.tables, AS_OF)
    in_procurement = days(AS_OF, "2024-05-01")
    in_design = days(AS_OF, "2024-09-01")
    check(
        row(X, "A", "projects"),
        {
            "projects_total": 2.0,
            "active": 2.0,
            "completed": 0.0,
            "active_design": 1.0,
            "active_procurement": 1.0,
            "active_production": 0.0,
            "active_no_stage": 0.0,
            "current_stage_days_mean": (in_procurement + in_design) / 2,
            "current_stage_days_max": in_procurement,
            "stalled": 1.0,
            "design_days_mean": days("2024-03-01", "2024-01-01"),
            "production_days_mean": days("2024-05-01", "2024-03-01"),
            "procurement_days_mean": np.nan,
            "reached_procurement": 1.0,
            "reached_procurement_365d": 1.0,
            "active_expected_value": 1200.0,
            "created_365d": 1.0,
        },
    )
    check(
        row(X, "B", "projects"),
        {"projects_total": 1.0, "cancelled": 1.0, "active": 0.0, "design_days_mean": 31.0},
    )


def test_engagement(base: ClientBase) -> None:
    X = Engagement().compute(base.tables, AS_OF)
    check(
        row(X, "A", "engagement"),
        {
            "interactions_365d": 4.0,
            "portal_365d": 2.0,
            "email_365d": 1.0,
            "tickets_365d": 1.0,
            "phone_365d": 0.0,
            "portal_logins_365d": 1.0,
            "portal_share_365d": 0.5,
            "self_service_share_365d": 0.5,
            "active_contacts_365d": 2.0,
            "decision_makers_reached_365d": 1.0,
            "trend_interactions_365d": (4.0 - 1.0) / 5.0,
            "interactions_90d": 3.0,
            "tickets_90d": 0.0,
            "portal_share_90d": 2.0 / 3.0,
            "contacts": 2.0,
            "decision_makers": 1.0,
            "last_touch_days": days(AS_OF, "2024-12-15"),
        },
    )
    # K3 is created after AS_OF: B's meeting counts, its contact does not.
    check(
        row(X, "B", "engagement"),
        {
            "interactions_365d": 1.0,
            "meeting_365d": 1.0,
            "active_contacts_365d": 0.0,
            "contacts": 0.0,
        },
    )
    check(
        row(X, "C", "engagement"),
        {"interactions_365d": 0.0, "portal_share_365d": 0.0, "last_touch_days": np.nan},
    )


def test_contracts(base: ClientBase) -> None:
    X = Contracts().compute(base.tables, AS_OF)
    check(
        row(X, "A", "contracts"),
        {
            "contracts_total": 3.0,
            "tenure_days": days(AS_OF, "2023-01-01"),
            "active": 1.0,
            "active_count": 2.0,
            "active_value": 17.0,
            "days_to_next_expiry": days("2025-01-31", AS_OF),
            "renewals": 1.0,
            "cancellations": 0.0,
        },
    )
    check(
        row(X, "B", "contracts"),
        {
            "active": 0.0,
            "cancellations": 1.0,
            "cancellations_365d": 1.0,
            "days_to_next_expiry": np.nan,
        },
    )
    check(row(X, "C", "contracts"), {"contracts_total": 0.0, "tenure_days": np.nan, "active": 0.0})


def test_relationships(base: ClientBase) -> None:
    X = Relationships().compute(base.tables, AS_OF)
    check(
        row(X, "A", "relationships"),
        {
            "degree": 2.0,
            "supplier_links": 1.0,
            "partner_links": 1.0,
            "referral_links": 0.0,
            "partners_clients": 0.0,
            "partners_client_share": 0.0,
            "new_links_365d": 0.0,
        },
    )
    check(
        row(X, "B", "relationships"),
        {"degree": 1.0, "partners_clients": 1.0, "partners_client_share": 1.0},
    )
    # C's referral starts exactly at AS_OF.
    check(row(X, "C", "relationships"), {"degree": 1.0, "referrals_given": 0.0})


def test_windows_are_parameters(base: ClientBase) -> None:
    X = Purchasing(windows=("30D",), channel_window="30D").compute(base.tables, AS_OF)
    assert "purchasing__orders_30d" in X.columns
    assert "purchasing__orders_365d" not in X.columns
    assert X.loc["A", "purchasing__orders_30d"] == 1.0
    assert X.loc["A", "purchasing__share_sales_rep_30d"] == 1.0


@pytest.mark.parametrize(
    ("cls", "params"),
    [
        (Purchasing, {"windows": ()}),
        (Purchasing, {"windows": ("-3D",)}),
        (Purchasing, {"windows": ("90D", "2160h")}),
        (Purchasing, {"min_seasonal_orders": 1}),
        (Pipeline, {"windows": ("soon",)}),
        (Services, {"categories": ("Insurance",)}),
        (Projects, {"stall_after": 0}),
        (Contracts, {"renewal_gap": "x"}),
    ],
)
def test_invalid_parameters_raise_with_the_parameter_name(
    cls: type, params: dict[str, object]
) -> None:
    from b2bclient._exceptions import InvalidParameterError

    with pytest.raises(InvalidParameterError, match=repr(next(iter(params)))):
        cls(**params)


def test_no_personal_data_reaches_any_feature(base: ClientBase) -> None:
    X = build_features(base, AS_OF)
    personal = set(base.contacts[["full_name", "email", "phone"]].to_numpy().ravel())
    for column in X.columns:
        if isinstance(X[column].dtype, pd.CategoricalDtype):
            assert not personal & set(X[column].cat.categories), column
        else:
            assert X[column].dtype == np.float64, column
    # Contact and organisation names never become category values either.
    names = set(base.organisations["name"])
    assert not any(names & set(X[c].cat.categories) for c in X.select_dtypes("category"))


def test_describe_features_documents_every_column(base: ClientBase) -> None:
    table = describe_features()
    X = build_features(base, AS_OF)
    assert table["column"].tolist() == X.columns.tolist()
    assert table.columns.tolist() == ["column", "extractor", "description", "dtype"]
    assert table["description"].str.len().min() > 10
    dtypes = {
        c: ("category" if isinstance(d, pd.CategoricalDtype) else str(d))
        for c, d in X.dtypes.items()
    }
    assert table.set_index("column")["dtype"].to_dict() == dtypes
    assert (table["extractor"] == table["column"].str.split("__").str[0]).all()


def test_planted_hazard_covariates_match_the_generator() -> None:
    from b2bclient.datasets import make_client_base

    synthetic, truth = make_client_base(n_organisations=400, seed=5, return_truth=True)
    X = build_features(synthetic, truth.landmark)
    covariates = truth.covariates
    assert list(covariates.columns) == [
        "firmographics__log_employees",
        "purchasing__orders_365d",
        "engagement__portal_share_365d",
        "engagement__tickets_365d",
        "contracts__active",
    ]
    pd.testing.assert_frame_equal(
        X.loc[covariates.index, covariates.columns], covariates, check_names=False, rtol=1e-12
    )
