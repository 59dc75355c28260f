"""Tests of the synthetic client base generator and its planted truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lifelines import CoxPHFitter
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import b2bclient.datasets as datasets
from b2bclient._exceptions import InvalidParameterError
from b2bclient.base import SCHEMAS, TABLE_NAMES, ClientBase
from b2bclient.base._schema import SERVICE_CATEGORIES, STAGES
from b2bclient.datasets import SyntheticTruth, make_client_base
from b2bclient.datasets._segments import bayes_segments
from b2bclient.datasets._signals import (
    heldout_concordance,
    landmark_survival,
    observable_aggregates,
    partner_auc,
)

END = pd.Timestamp("2025-01-01")
FEATURES = [
    "firmographics__log_employees",
    "purchasing__orders_365d",
    "engagement__portal_share_365d",
    "engagement__tickets_365d",
    "contracts__active",
]


@pytest.fixture(scope="module")
def generated() -> tuple[ClientBase, SyntheticTruth]:
    return make_client_base(2_000, seed=0, return_truth=True)


@pytest.fixture(scope="module")
def base(generated: tuple[ClientBase, SyntheticTruth]) -> ClientBase:
    return generated[0]


@pytest.fixture(scope="module")
def truth(generated: tuple[ClientBase, SyntheticTruth]) -> SyntheticTruth:
    return generated[1]


def recompute_covariates(base: ClientBase, t: pd.Timestamp) -> pd.DataFrame:
    """The five hazard features as of `t`, written from their definitions with plain pandas."""
    orgs = base.organisations.set_index("organisation_id")
    lo = t - pd.Timedelta(days=365)
    deals = base.deals
    won = deals[(deals["status"] == "won") & (deals["closed_at"] >= lo) & (deals["closed_at"] < t)]
    inter = base.interactions
    window = inter[(inter["occurred_at"] >= lo) & (inter["occurred_at"] < t)]
    total = window.groupby("organisation_id").size().reindex(orgs.index)
    portal = window[window["channel"] == "portal"].groupby("organisation_id").size()
    tickets = window[window["channel"] == "support"].groupby("organisation_id").size()
    con = base.contracts
    active = con[(con["started_at"] < t) & (t <= con["ends_at"]) & ~(con["cancelled_at"] < t)]
    out = pd.DataFrame(index=orgs.index)
    out[FEATURES[0]] = np.log1p(orgs["employees"].astype("float64"))
    out[FEATURES[1]] = (
        won.groupby("organisation_id").size().reindex(orgs.index, fill_value=0).astype("float64")
    )
    out[FEATURES[2]] = (portal.reindex(orgs.index, fill_value=0) / total).fillna(0.0)
    out[FEATURES[3]] = tickets.reindex(orgs.index, fill_value=0).astype("float64")
    out[FEATURES[4]] = orgs.index.isin(active["organisation_id"]).astype("float64")
    return out


# --- API -----------------------------------------------------------------------------------------


def test_all_is_pinned() -> None:
    assert sorted(datasets.__all__) == [
        "SyntheticTruth",
        "make_client_base",
        "procurement_oracle",
        "write_client_base",
    ]
    assert all(hasattr(datasets, name) for name in datasets.__all__)


def test_returns_base_only_by_default() -> None:
    assert isinstance(make_client_base(300, seed=2), ClientBase)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_organisations": 0}, "n_organisations"),
        ({"n_organisations": 2.5}, "n_organisations"),
        ({"seed": -1}, "seed"),
        ({"difficulty": 1.5}, "difficulty"),
        ({"difficulty": "hard"}, "difficulty"),
        ({"end": "2020-06-01"}, "end"),
        ({"landmark": "2019-01-01"}, "landmark"),
        ({"start": "not a date"}, "start"),
        ({"start": "1677-09-22"}, "start"),
        ({"end": "2262-01-01"}, "end"),
        ({"return_truth": "yes"}, "return_truth"),
    ],
)
def test_invalid_parameters_raise(kwargs: dict[str, object], name: str) -> None:
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter of make_client_base"):
        make_client_base(**kwargs)  # type: ignore[call-overload]


# --- determinism ---------------------------------------------------------------------------------


def test_same_seed_gives_identical_tables_and_truth(
    base: ClientBase, truth: SyntheticTruth
) -> None:
    again, truth_again = make_client_base(2_000, seed=0, return_truth=True)
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(base.tables[name], again.tables[name])
    pd.testing.assert_series_equal(truth.churned_at, truth_again.churned_at)
    pd.testing.assert_frame_equal(truth.covariates, truth_again.covariates)
    pd.testing.assert_frame_equal(truth.partner_pairs, truth_again.partner_pairs)


def test_different_seed_gives_different_tables(base: ClientBase) -> None:
    other = make_client_base(2_000, seed=1)
    for name in ("organisations", "deals", "interactions", "contracts"):
        assert not base.tables[name].equals(other.tables[name])


# --- tables --------------------------------------------------------------------------------------


def test_tables_validate_with_canonical_dtypes(base: ClientBase) -> None:
    rebuilt = ClientBase.from_frames(**dict(base.tables))
    for name in TABLE_NAMES:
        table = base.tables[name]
        assert len(table) > 0, name
        assert list(table.columns) == list(SCHEMAS[name].names)
        for column in SCHEMAS[name].columns:
            assert str(table[column.name].dtype) == column.dtype, (name, column.name)
        pd.testing.assert_frame_equal(rebuilt.tables[name], table)


def test_no_event_at_or_after_end(base: ClientBase) -> None:
    for name, table in base.tables.items():
        for column in table.columns:
            if column == "ends_at" or not pd.api.types.is_datetime64_dtype(table[column]):
                continue
            assert (table[column].dropna() < END).all(), (name, column)


def test_rows_follow_their_organisation_and_references(base: ClientBase) -> None:
    created = base.organisations.set_index("organisation_id")["created_at"]
    for name, column in (
        ("contacts", "created_at"),
        ("deals", "created_at"),
        ("projects", "created_at"),
        ("interactions", "occurred_at"),
        ("contracts", "started_at"),
    ):
        table = base.tables[name]
        assert (table[column] >= table["organisation_id"].map(created)).all(), name
    contacts = base.contacts.set_index("contact_id")
    inter = base.interactions.dropna(subset=["contact_id"])
    assert (inter["organisation_id"] == inter["contact_id"].map(contacts["organisation_id"])).all()
    assert (inter["occurred_at"] >= inter["contact_id"].map(contacts["created_at"])).all()
    projects = base.projects.set_index("project_id")
    for table in (base.deals, base.interactions):
        linked = table.dropna(subset=["project_id"])
        owner = linked["project_id"].map(projects["organisation_id"])
        assert (linked["organisation_id"] == owner).all()


def test_deal_amount_is_sum_of_lines(base: ClientBase) -> None:
    lines = base.deal_lines.groupby("deal_id")["amount"].sum()
    deals = base.deals.set_index("deal_id")
    np.testing.assert_allclose(deals["amount"], lines.reindex(deals.index), rtol=1e-9)
    numbers = base.deal_lines.groupby("deal_id")["line_no"].agg(["min", "max", "size"])
    assert (numbers["min"] == 1).all()
    assert (numbers["max"] == numbers["size"]).all()


def test_firmographics_and_holdings(base: ClientBase) -> None:
    orgs = base.organisations
    edges = {"micro": (1, 9), "small": (10, 49), "medium": (50, 249), "large": (250, 999)}
    for band, (lo, hi) in edges.items():
        employees = orgs.loc[orgs["size_band"] == band, "employees"]
        assert employees.between(lo, hi).all(), band
    assert (orgs.loc[orgs["size_band"] == "enterprise", "employees"] >= 1000).all()
    assert orgs["name"].str.match(r"^[A-Z][a-z]+ \w+ (GmbH|AG|GmbH & Co\. KG|KG|SE|OHG)$").all()
    share = orgs["parent_id"].notna().mean()
    assert 0.08 <= share <= 0.16
    parent = orgs.set_index("organisation_id")["parent_id"]
    grand = orgs["parent_id"].map(parent).dropna()
    assert grand.map(parent).isna().all()  # depth at most two
    links = base.relationships[base.relationships["kind"] == "parent"]
    assert set(zip(links["source_id"], links["target_id"], strict=True)) == set(
        zip(
            orgs.dropna(subset=["parent_id"])["organisation_id"],
            orgs.dropna(subset=["parent_id"])["parent_id"],
            strict=True,
        )
    )
    landmark = pd.Timestamp("2023-01-01")
    assert 0.7 < (orgs["created_at"] < landmark).mean() < 0.95


def test_personal_fields_are_present_and_plausible(base: ClientBase) -> None:
    contacts = base.contacts
    per_org = contacts.groupby("organisation_id").size()
    assert per_org.between(1, 8).all()
    assert per_org.index.equals(pd.Index(sorted(base.organisations["organisation_id"])))
    assert contacts.groupby("organisation_id")["is_decision_maker"].any().all()
    assert contacts["full_name"].str.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+").all()
    assert contacts["email"].str.fullmatch(r"[a-z]+\.[a-z]+@[a-z]+-[a-z]+\.example").all()
    assert contacts["phone"].str.fullmatch(r"\+49 \d{2,3} \d{7,8}").all()
    assert set(contacts["role"].dropna()) == {
        "procurement",
        "engineering",
        "finance",
        "management",
        "operations",
        "other",
    }


def test_catalogue_and_service_lines(base: ClientBase) -> None:
    products = base.products
    services = products[products["kind"] == "service"]
    assert set(services["category"]) == set(SERVICE_CATEGORIES)
    lines = base.deal_lines.merge(products, on="product_id")
    used = set(lines.loc[lines["kind"] == "service", "category"])
    assert used == set(SERVICE_CATEGORIES)
    # Lifting goes with big orders.
    deals = base.deals.set_index("deal_id")
    lifting = lines.loc[lines["category"] == "lifting", "deal_id"].unique()
    has_lifting = deals.index.isin(lifting)
    assert deals["amount"][has_lifting].median() > 3 * deals["amount"][~has_lifting].median()


def test_deals_channels_status_and_seasonality(base: ClientBase) -> None:
    deals = base.deals
    assert set(deals["channel"].dropna()) == {"portal", "sales_rep", "tender", "edi", "other"}
    assert set(deals["status"]) == {"won", "lost", "open"}
    by_channel = deals.groupby("channel", observed=True)["amount"].median()
    assert by_channel["tender"] > 3 * by_channel["portal"]
    assert deals["project_id"].notna().mean() > 0.05
    weekday = deals["created_at"].dt.dayofweek
    assert (weekday >= 5).mean() < 0.12
    quarter_end = deals["created_at"].dt.month.isin([3, 6, 9, 12]) & (
        deals["created_at"].dt.day >= 20
    )
    late_other = deals["created_at"].dt.month.isin([2, 5, 8, 11]) & (
        deals["created_at"].dt.day >= 20
    )
    assert quarter_end.sum() > 1.2 * late_other.sum()


def test_interactions_are_the_biggest_table(base: ClientBase) -> None:
    inter = base.interactions
    assert len(inter) > len(base.deal_lines) > len(base.deals)
    assert set(inter["channel"]) == {"portal", "web", "email", "phone", "meeting", "support", "edi"}
    assert inter["project_id"].notna().mean() > 0.02
    assert inter["contact_id"].notna().mean() > 0.7


def test_stages_in_order(base: ClientBase, truth: SyntheticTruth) -> None:
    stages = base.stages.sort_values(["project_id", "stage"])
    ranks = stages["stage"].cat.codes
    grouped = stages.groupby("project_id")
    # Stages of a project are a prefix of the canonical order, each starting when the last ended.
    assert (ranks == grouped.cumcount()).all()
    previous_end = grouped["ended_at"].shift(1)
    has_previous = previous_end.notna()
    assert (stages["started_at"][has_previous] == previous_end[has_previous]).all()
    assert (stages["ended_at"].dropna() >= stages["started_at"][stages["ended_at"].notna()]).all()
    # Projects still running at the end have an open current stage.
    projects = base.projects.set_index("project_id")
    active = projects.index[projects["status"] == "active"]
    last = grouped.tail(1).set_index("project_id")
    assert last.loc[active, "ended_at"].isna().all()
    assert {"active", "completed", "cancelled"} == set(projects["status"])
    assert list(truth.stage_durations["stage"]) == list(STAGES)
    durations = (stages["ended_at"] - stages["started_at"]) / pd.Timedelta(days=1)
    medians = durations.groupby(stages["stage"], observed=True).median()
    assert (medians.diff().dropna() != 0).all()
    planted = truth.stage_durations.set_index("stage").loc["production", "median_days"]
    # Observed durations are the complete ones, so slightly shorter than planted.
    assert 0.6 * planted < medians["production"] < 1.2 * planted


def test_contracts_renew_and_cancel(base: ClientBase) -> None:
    contracts = base.contracts
    pairs = contracts.merge(contracts, on="organisation_id")
    renewals = (pairs["started_at_y"] == pairs["ends_at_x"]).sum()
    assert renewals > 0.2 * len(contracts)
    assert contracts["cancelled_at"].notna().sum() > 0.05 * len(contracts)
    assert (
        contracts["cancelled_at"].dropna() < contracts["ends_at"][contracts["cancelled_at"].notna()]
    ).all()


# --- truth ---------------------------------------------------------------------------------------


def test_truth_fields(base: ClientBase, truth: SyntheticTruth) -> None:
    ids = pd.Index(base.organisations["organisation_id"])
    assert truth.segment.index.equals(ids)
    assert truth.segment.nunique() == 5
    assert truth.churned_at.index.equals(ids)
    assert str(truth.churned_at.dtype) == "datetime64[ns]"
    assert truth.landmark == pd.Timestamp("2023-01-01")
    assert list(truth.hazard_coefficients.index) == FEATURES
    assert list(truth.covariates.columns) == FEATURES
    assert (truth.covariates.dtypes == "float64").all()
    assert truth.covariates.index.isin(ids).all()
    assert list(truth.partner_pairs.columns) == ["organisation_id", "partner_id"]
    assert len(truth.partner_pairs) > 30
    assert list(truth.baseline_hazard.index) == ["shape", "scale_days"]
    assert {"stage", "distribution", "median_days", "sigma"} <= set(truth.stage_durations)
    assert truth.traits.index.equals(ids)
    assert list(truth.segment_parameters.index) == list(truth.segment.cat.categories)
    # Covariates are exactly the organisations known and alive at the landmark.
    created = base.organisations.set_index("organisation_id")["created_at"]
    churned = truth.churned_at
    alive = (created < truth.landmark) & ~(churned < truth.landmark)
    assert truth.covariates.index.equals(ids[alive.to_numpy()])


def test_covariates_equal_a_recomputation_from_the_tables(
    base: ClientBase, truth: SyntheticTruth
) -> None:
    expected = recompute_covariates(base, truth.landmark).loc[truth.covariates.index]
    pd.testing.assert_frame_equal(truth.covariates, expected, check_names=False)
    as_of = recompute_covariates(base.as_of(truth.landmark), truth.landmark)
    pd.testing.assert_frame_equal(
        truth.covariates, as_of.loc[truth.covariates.index], check_names=False
    )
    assert truth.covariates.std().gt(0).all()


def test_churned_organisations_stop_buying_and_interacting(
    base: ClientBase, truth: SyntheticTruth
) -> None:
    churned = truth.churned_at.dropna()
    assert 0.15 < len(churned) / len(truth.churned_at) < 0.6
    for name, column in (
        ("deals", "created_at"),
        ("interactions", "occurred_at"),
        ("projects", "created_at"),
        ("contracts", "started_at"),
        ("contacts", "created_at"),
    ):
        table = base.tables[name]
        assert not (table[column] >= table["organisation_id"].map(churned)).any(), name
    deals = base.deals
    won_after = (deals["status"] == "won") & (
        deals["closed_at"] >= deals["organisation_id"].map(churned)
    )
    assert not won_after.any()
    # What was running at churn is closed shortly after it.
    contracts = base.contracts
    running = contracts["ends_at"] > contracts["organisation_id"].map(churned) + pd.Timedelta(
        days=31
    )
    running &= contracts["organisation_id"].map(churned) + pd.Timedelta(days=31) < END
    assert contracts.loc[running, "cancelled_at"].notna().all()


def test_true_hazard_concordance_on_heldout_half(truth: SyntheticTruth) -> None:
    assert 0.70 <= heldout_concordance(truth, END) <= 0.85


def test_true_hazard_concordance_at_twenty_thousand() -> None:
    _, truth = make_client_base(20_000, seed=3, return_truth=True)
    assert 0.70 <= heldout_concordance(truth, END, seed=3) <= 0.85


def test_cox_model_recovers_the_coefficients() -> None:
    _, truth = make_client_base(5_000, seed=4, return_truth=True)
    duration, event = landmark_survival(truth, END)
    frame = truth.covariates.assign(duration=duration, event=event.astype(int))
    fitted = CoxPHFitter(penalizer=0.0).fit(frame, "duration", "event").summary
    error = (fitted["coef"] - truth.hazard_coefficients).abs()
    assert (error < 3.0 * fitted["se(coef)"]).all(), fitted[["coef", "se(coef)"]]


def test_segments_are_observable_but_not_perfectly(base: ClientBase, truth: SyntheticTruth) -> None:
    features = observable_aggregates(base, END)
    labels = truth.segment.cat.codes.to_numpy()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    predicted = cross_val_predict(model, features, labels, cv=3)
    accuracy = (predicted == labels).mean()
    chance = np.bincount(labels).max() / len(labels)
    assert chance + 0.2 < accuracy < 0.9
    bayes = bayes_segments(truth.traits.to_numpy(), truth.difficulty)
    assert adjusted_rand_score(labels, predicted) < adjusted_rand_score(labels, bayes) < 0.9


def test_partner_pairs_observable_and_not_linked(base: ClientBase, truth: SyntheticTruth) -> None:
    rel = base.relationships
    linked = set(zip(rel["source_id"], rel["target_id"], strict=True))
    linked |= {(b, a) for a, b in linked}
    pairs = truth.partner_pairs
    assert not any(
        p in linked for p in zip(pairs["organisation_id"], pairs["partner_id"], strict=True)
    )
    industry = base.organisations.set_index("organisation_id")["industry"]
    assert (pairs["organisation_id"].map(industry) != pairs["partner_id"].map(industry)).all()
    assert 0.8 < partner_auc(base, truth) < 0.99


def test_difficulty_moves_every_signal() -> None:
    concordance, bayes_ari, partners = [], [], []
    for difficulty in (0.0, 0.5, 1.0):
        base, truth = make_client_base(2_000, seed=5, difficulty=difficulty, return_truth=True)
        concordance.append(heldout_concordance(truth, END))
        codes = truth.segment.cat.codes.to_numpy()
        bayes = bayes_segments(truth.traits.to_numpy(), difficulty)
        bayes_ari.append(adjusted_rand_score(codes, bayes))
        partners.append(partner_auc(base, truth))
    for values in (concordance, bayes_ari, partners):
        assert values[0] > values[1] > values[2], values


def test_covariates_match_the_feature_extractors(base: ClientBase, truth: SyntheticTruth) -> None:
    from b2bclient.features import build_features

    features = build_features(base, truth.landmark)
    columns = list(truth.hazard_coefficients.index)
    pd.testing.assert_frame_equal(
        features.loc[truth.covariates.index, columns], truth.covariates, check_names=False
    )


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 60),
    seed=st.integers(0, 2**32 - 1),
    difficulty=st.floats(0.0, 1.0),
    span_days=st.integers(180, 1500),
    landmark_share=st.floats(0.02, 0.98),
)
def test_invariants_hold_for_any_small_base(
    n: int, seed: int, difficulty: float, span_days: int, landmark_share: float
) -> None:
    start = pd.Timestamp("2021-03-01")
    end = start + pd.Timedelta(days=span_days)
    landmark = (start + landmark_share * (end - start)).floor("s")
    base, truth = make_client_base(
        n,
        start=start,
        end=end,
        landmark=landmark,
        seed=seed,
        difficulty=difficulty,
        return_truth=True,
    )
    assert len(base.organisations) == n
    for name, table in base.tables.items():
        for column in table.columns:
            if column != "ends_at" and pd.api.types.is_datetime64_dtype(table[column]):
                assert (table[column].dropna() < end).all(), (name, column)
    churned = truth.churned_at.dropna()
    inter = base.interactions
    assert not (inter["occurred_at"] >= inter["organisation_id"].map(churned)).any()
    deals = base.deals
    assert not (deals["created_at"] >= deals["organisation_id"].map(churned)).any()
    expected = recompute_covariates(base, landmark).loc[truth.covariates.index]
    pd.testing.assert_frame_equal(truth.covariates, expected, check_names=False)
