"""build_features, roll-ups to holdings, training_frame and its labels."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

from b2bclient._exceptions import InvalidParameterError, RegistryError
from b2bclient.base import ClientBase
from b2bclient.features import (
    Contracts,
    Label,
    NextPurchase,
    NoActivity,
    ProcurementReached,
    Purchasing,
    WonDeal,
    build_features,
    describe_features,
    get_extractor,
    list_extractors,
    training_frame,
)
from b2bclient.testing import EXAMPLE_AS_OF, example_base

T = EXAMPLE_AS_OF


@pytest.fixture(scope="module")
def X() -> pd.DataFrame:
    return build_features(example_base(), T)


def test_one_row_per_known_organisation_sorted_with_documented_columns(X: pd.DataFrame) -> None:
    base = example_base()
    known = base.organisations.loc[base.organisations["created_at"] < T, "organisation_id"]
    assert X.index.tolist() == sorted(known)
    assert X.index.name == "organisation_id"
    table = describe_features()
    assert X.columns.tolist() == table["column"].tolist()
    assert X.columns.str.split("__").str[0].unique().tolist() == list(list_extractors())
    for column, dtype in zip(table["column"], table["dtype"], strict=True):
        if dtype == "category":
            assert isinstance(X[column].dtype, pd.CategoricalDtype)
        else:
            assert X[column].dtype == np.float64
    assert not np.isinf(X.select_dtypes("float64").to_numpy()).any()


def test_organisations_without_activity_get_well_defined_values(X: pd.DataFrame) -> None:
    empty = X.loc["Z-EMPTY"]
    table = describe_features().set_index("column")
    for column, value in empty.items():
        description = table.loc[column, "description"]
        if table.loc[column, "dtype"] == "category":
            assert pd.isna(value)
        elif "(NaN" in description:
            assert np.isnan(value) or column.startswith("firmographics"), column
        else:
            assert value == 0.0 or column.startswith("firmographics"), (column, value)
    assert empty["firmographics__holding_size"] == 3.0


def test_the_result_is_deterministic_and_reuses_a_cut_base(X: pd.DataFrame) -> None:
    base = example_base()
    pd.testing.assert_frame_equal(build_features(base, T), X, check_exact=True)
    pd.testing.assert_frame_equal(build_features(base.as_of(T), T), X, check_exact=True)
    pd.testing.assert_frame_equal(build_features(dict(base.tables), T), X, check_exact=True)
    pd.testing.assert_frame_equal(build_features(base.as_of("2023-06-01"), T), X, check_exact=True)
    with pytest.raises(InvalidParameterError, match="cannot be viewed as of the later time"):
        build_features(base.as_of("2022-06-01"), T)


def test_extractors_by_name_instance_or_both(X: pd.DataFrame) -> None:
    base = example_base()
    one = build_features(base, T, "contracts")
    assert one.columns.tolist() == list(Contracts().output_columns())
    pd.testing.assert_frame_equal(one, X[one.columns])
    mixed = build_features(base, T, [Purchasing(windows=("30D",)), "contracts"])
    assert mixed.columns[0] == "purchasing__orders_total"
    assert "purchasing__orders_30d" in mixed.columns
    pd.testing.assert_frame_equal(build_features(base, T, Contracts()), one)
    assert build_features(base, T, []).shape == (len(X), 0)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"as_of": None}, InvalidParameterError, "never defaults to now"),
        ({"as_of": "someday"}, InvalidParameterError, "'as_of' parameter of build_features"),
        ({"extractors": ["nope"]}, RegistryError, "No extractor named 'nope'"),
        ({"extractors": [Purchasing]}, InvalidParameterError, "pass an instance"),
        ({"extractors": [3]}, InvalidParameterError, "Got 3"),
        ({"extractors": [Purchasing(), Purchasing()]}, InvalidParameterError, "two extractors"),
        ({"engine": "spark"}, InvalidParameterError, "'engine' parameter"),
        ({"rollup": "region"}, InvalidParameterError, "'rollup' parameter"),
        ({"npartitions": 0}, InvalidParameterError, "'npartitions'"),
    ],
)
def test_invalid_arguments_raise_clear_errors(
    kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    params: dict[str, Any] = {"as_of": T, **kwargs}
    with pytest.raises(error, match=match):
        build_features(example_base(), **params)
    with pytest.raises(InvalidParameterError, match="'base' parameter"):
        build_features(["not", "a", "base"], T)  # type: ignore[arg-type]


class _Broken(Contracts):
    def compute(self, tables: Any, as_of: pd.Timestamp) -> pd.DataFrame:
        return super().compute(tables, as_of).iloc[1:]


def test_an_extractor_breaking_its_declaration_is_reported() -> None:
    with pytest.raises(InvalidParameterError, match=r"one row per organisation.*check_extractor"):
        build_features(example_base(), T, [_Broken()])


def test_an_empty_base_gives_an_empty_frame_with_every_column() -> None:
    X = build_features(example_base(), "2020-01-01")
    assert len(X) == 0
    assert X.columns.tolist() == describe_features()["column"].tolist()
    assert (X.dtypes.astype(str).isin(["float64", "category"])).all()


def test_group_rollup_aggregates_members_to_the_top_parent(X: pd.DataFrame) -> None:
    base = example_base()
    G = build_features(base, T, rollup="group")
    orgs = base.organisations.set_index("organisation_id")
    tops = orgs.index[orgs["parent_id"].isna() & (orgs["created_at"] < T)]
    assert G.index.tolist() == sorted(tops)
    assert G.index.name == "organisation_id"
    assert G.columns.tolist() == X.columns.tolist()
    assert G.dtypes.equals(X.dtypes)
    # The holding under Z-EMPTY: the grandchild's purchase counts for the group.
    group = G.loc["Z-EMPTY"]
    assert group["purchasing__orders_total"] == 1.0
    assert group["purchasing__recency_days"] == X.loc["Z-GRANDCHILD", "purchasing__recency_days"]
    assert group["firmographics__holding_size"] == 3.0
    assert group["firmographics__hierarchy_depth"] == 0.0
    assert group["firmographics__employees"] == 12.0
    # Sums are preserved over the whole base; maxima and minima are those of the members.
    for column in ("purchasing__revenue_total", "engagement__interactions_365d"):
        assert G[column].sum() == pytest.approx(X[column].sum())
    assert G["purchasing__first_purchase_days"].max() == X["purchasing__first_purchase_days"].max()
    singles = [i for i in G.index if G.loc[i, "firmographics__holding_size"] == 1.0]
    pd.testing.assert_frame_equal(G.loc[singles], X.loc[singles])
    pd.testing.assert_frame_equal(build_features(base, T, rollup="organisation"), X)


def test_rollup_follows_the_declared_rules() -> None:
    base = example_base()
    X = build_features(base, T, ["purchasing", "firmographics"])
    G = build_features(base, T, ["purchasing", "firmographics"], rollup="group")
    parent = X["firmographics__holding_size"] > 1
    members = X.index[parent]
    assert len(members) >= 3
    rules = {}
    for name in ("purchasing", "firmographics"):
        rules.update(get_extractor(name).tags().rollup)
    orgs = base.organisations.set_index("organisation_id")["parent_id"]

    def top(org: str) -> str:
        while isinstance(orgs.get(org), str):
            org = orgs[org]
        return org

    tops = pd.Series([top(o) for o in X.index], index=X.index)
    for column, rule in rules.items():
        if rule == "first" or isinstance(X[column].dtype, pd.CategoricalDtype):
            expected = X.loc[G.index, column]
        elif rule == "sum":
            expected = X[column].groupby(tops).sum(min_count=1)
        else:
            expected = X[column].groupby(tops).agg(rule)
        pd.testing.assert_series_equal(G[column], expected.rename(column), check_names=False)


# --- training_frame and labels -------------------------------------------------------------------


@pytest.fixture(scope="module")
def small() -> ClientBase:
    orgs = pd.DataFrame(
        {
            "organisation_id": ["A", "B", "C", "D", "E"],
            "industry": ["steel", "food", None, None, "textiles"],
            "created_at": ["2023-01-01", "2023-01-01", "2023-01-01", "2024-03-01", "2024-02-01"],
        }
    )
    deals = pd.DataFrame(
        {
            "organisation_id": ["A", "A", "B", "B", "C", "A"],
            "created_at": [
                "2023-06-01", "2024-01-20", "2023-12-01", "2023-12-15", "2023-03-01", "2024-12-01",
            ],
            "closed_at": [
                "2023-06-02", "2024-02-10", "2024-01-15", "2024-04-15", "2023-03-02", "2024-12-02",
            ],
            "status": ["won", "won", "lost", "won", "won", "won"],
            "amount": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0],
        }
    )  # fmt: skip
    interactions = pd.DataFrame(
        {
            "organisation_id": ["C", "C"],
            "interaction_id": ["I1", "I2"],
            "occurred_at": ["2023-10-01", "2024-02-01"],
            "channel": ["portal", "portal"],
        }
    )
    projects = pd.DataFrame(
        {
            "project_id": ["P1", "P2", "P3"],
            "organisation_id": ["A", "B", "C"],
            "created_at": ["2023-06-01", "2023-07-01", "2023-08-01"],
            "status": ["active", "active", "active"],
        }
    )
    stages = pd.DataFrame(
        {
            "project_id": ["P1", "P1", "P2", "P3"],
            "stage": ["design", "procurement", "design", "procurement"],
            "started_at": ["2023-06-01", "2024-02-01", "2023-07-01", "2023-09-01"],
        }
    )
    return ClientBase.from_frames(
        orgs, deals=deals, interactions=interactions, projects=projects, stages=stages
    )


CUTOFF = pd.Timestamp("2024-01-01")
H = pd.Timedelta("90D")


def test_next_purchase_label(small: ClientBase) -> None:
    y = NextPurchase().label(small, CUTOFF, H)
    assert y.to_dict() == {"A": 1.0, "B": 0.0, "C": 0.0}
    assert y.index.name == "organisation_id"
    assert y.dtype == np.float64
    assert NextPurchase("180D").label(small, CUTOFF, pd.Timedelta("180D"))["B"] == 1.0


def test_won_deal_label_measures_open_deals(small: ClientBase) -> None:
    # Open at the cutoff: B's two deals; the first is lost in the window, the second won later.
    assert WonDeal().label(small, CUTOFF, H).to_dict() == {"B": 0.0}
    assert WonDeal().label(small, CUTOFF, pd.Timedelta("120D")).to_dict() == {"B": 1.0}


def test_procurement_reached_label(small: ClientBase) -> None:
    # C's project is already in procurement; A's gets there within the window, B's does not.
    y = ProcurementReached().label(small, CUTOFF, H)
    assert y.to_dict() == {"A": 1.0, "B": 0.0}


def test_inactivity_label(small: ClientBase) -> None:
    # Active in the year before the cutoff: A (purchases) and C (purchase and interactions); B's
    # lost deal is no activity.
    y = NoActivity("90D").label(small, CUTOFF, H)
    assert y.to_dict() == {"A": 0.0, "C": 0.0}
    y = NoActivity("90D").label(small, pd.Timestamp("2024-03-01"), H)
    assert y.to_dict() == {"A": 1.0, "C": 1.0}
    assert NoActivity("180D").horizon == "180D"
    assert isinstance(NoActivity(), Label)


@pytest.mark.parametrize("make", [NextPurchase, WonDeal, ProcurementReached, NoActivity])
def test_labels_validate_their_windows(make: Any) -> None:
    with pytest.raises(InvalidParameterError, match="positive duration"):
        make("-3D")


def test_training_frame_stacks_features_and_labels(small: ClientBase) -> None:
    cutoffs = ["2024-03-01", "2024-01-01"]
    frame = training_frame(
        small, cutoffs, NextPurchase("90D"), extractors=["purchasing", "firmographics"]
    )
    features = describe_features(["purchasing", "firmographics"])["column"].tolist()
    assert frame.columns.tolist() == ["organisation_id", "cutoff", *features, "label"]
    # D, created exactly at the second cutoff, is not known there yet.
    assert frame["cutoff"].tolist() == [CUTOFF] * 3 + [pd.Timestamp("2024-03-01")] * 4
    assert frame["organisation_id"].tolist() == ["A", "B", "C", "A", "B", "C", "E"]
    assert frame["label"].tolist() == [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0]
    assert isinstance(frame.index, pd.RangeIndex)
    # E's industry is new at the second cutoff: the stacked column stays categorical.
    industry = frame["firmographics__industry"]
    assert industry.cat.categories.tolist() == ["food", "steel", "textiles"]
    assert industry.iloc[-1] == "textiles"
    # No look-ahead: each block equals the features computed on the base cut at its cutoff.
    for cutoff, block in frame.groupby("cutoff"):
        expected = build_features(small.as_of(cutoff), cutoff, ["purchasing", "firmographics"])
        got = block.set_index("organisation_id")[features]
        pd.testing.assert_frame_equal(got, expected, check_categorical=False)


def test_training_frame_rows_are_the_label_population(small: ClientBase) -> None:
    frame = training_frame(small, ["2024-01-01"], WonDeal("90D"), extractors=["pipeline"])
    assert frame["organisation_id"].tolist() == ["B"]
    assert frame.loc[0, "pipeline__open_deals"] == 2.0
    frame = training_frame(
        small, "2024-01-01", NoActivity("90D"), horizon="60D", extractors=["purchasing"]
    )
    assert frame["organisation_id"].tolist() == ["A", "C"]


def test_training_frame_accepts_the_churn_definitions(small: ClientBase) -> None:
    churn = pytest.importorskip("b2bclient.churn")
    frame = training_frame(
        small, ["2024-01-01"], churn.Inactivity("90D"), extractors=["purchasing"]
    )
    assert set(frame["label"]) <= {0.0, 1.0}
    assert set(frame["organisation_id"]) <= {"A", "B", "C"}


def test_training_frame_shows_a_progress_bar_for_many_cutoffs(
    small: ClientBase, capsys: pytest.CaptureFixture[str]
) -> None:
    cutoffs = pd.date_range("2023-06-01", periods=12, freq="7D")
    training_frame(small, cutoffs, NextPurchase("30D"), extractors=["contracts"])
    assert "training_frame" in capsys.readouterr().err
    training_frame(small, cutoffs[:3], NextPurchase("30D"), extractors=["contracts"])
    assert capsys.readouterr().err == ""
    training_frame(small, cutoffs[:3], NextPurchase("30D"), extractors=["contracts"], progress=True)
    assert "training_frame" in capsys.readouterr().err
    training_frame(small, cutoffs, NextPurchase("30D"), extractors=["contracts"], progress=False)
    assert capsys.readouterr().err == ""


def test_training_frame_warns_when_labels_run_past_the_data(small: ClientBase) -> None:
    # The base records 26 events in two years, the last on 2024-12-02: at that pace 59 days of
    # silence are plausible, 179 days are not.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        training_frame(small, ["2024-11-01"], NextPurchase("90D"), extractors=["contracts"])
    with pytest.warns(UserWarning, match="partly unobserved"):
        training_frame(small, ["2025-03-01"], NextPurchase("90D"), extractors=["contracts"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        training_frame(small, ["2024-06-01"], NextPurchase("90D"), extractors=["contracts"])


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (([], NextPurchase()), {}, "at least one point in time"),
        ((["2024-01-01"], NextPurchase), {}, "label instance"),
        ((["2024-01-01"], "churn"), {}, "label instance"),
        (
            (["2024-01-01"], NextPurchase()),
            {"horizon": "-1D"},
            "'horizon' parameter of training_frame",
        ),
        ((["soon"], NextPurchase()), {}, "'cutoffs' parameter of training_frame"),
    ],
)
def test_training_frame_validates_its_arguments(
    small: ClientBase, args: tuple[Any, ...], kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        training_frame(small, *args, **kwargs)


def test_tables_cut_earlier_cannot_be_viewed_later() -> None:
    from b2bclient.features import FeatureTables

    base = example_base()
    early = FeatureTables.prepare(base.tables, pd.Timestamp("2022-06-01"))
    assert FeatureTables.prepare(early, pd.Timestamp("2022-06-01")) is early
    with pytest.raises(InvalidParameterError, match="cannot be viewed as of the later time"):
        Purchasing().compute(early, T)
    # An earlier view of already-cut tables is a further cut.
    X = Purchasing().compute(early, pd.Timestamp("2022-01-01"))
    pd.testing.assert_frame_equal(X, Purchasing().compute(base.tables, pd.Timestamp("2022-01-01")))


def test_feature_tables_join_through_the_reference_positions_of_the_base() -> None:
    from b2bclient.features import FeatureTables

    orgs = pd.DataFrame(
        {
            "organisation_id": ["O-3", "O-1", "O-2"],
            "parent_id": [None, "O-3", None],
            "created_at": ["2024-01-01"] * 3,
        }
    )
    deals = pd.DataFrame(
        {
            "organisation_id": ["O-2", "O-3", "O-1", "O-3"],
            "created_at": ["2024-02-01"] * 4,
            "amount": [1.0, 2.0, 3.0, 4.0],
        }
    )
    base = ClientBase.from_frames(orgs, deals=deals)
    ctx = FeatureTables.prepare(base, pd.Timestamp("2025-01-01"))
    # The base is not cut again (nothing is at or after as_of) but the ids are sorted.
    assert list(ctx.org_ids) == ["O-1", "O-2", "O-3"]
    assert ctx.codes("organisations").tolist() == [2, 0, 1]
    assert ctx.codes("organisations", "parent_id").tolist() == [-1, 2, -1]
    assert ctx.codes("deals").tolist() == [1, 2, 0, 2]
    from_mapping = FeatureTables.prepare(base.tables, pd.Timestamp("2025-01-01"))
    assert from_mapping.codes("deals").tolist() == [1, 2, 0, 2]
    assert ctx.positions("deals", "organisation_id").tolist() == [2, 0, 1, 0]
    with pytest.raises(InvalidParameterError, match="refers to 'organisations', not to 'projects'"):
        ctx.positions("deals", "organisation_id", "projects")
    with pytest.raises(InvalidParameterError, match="not a reference"):
        ctx.codes("deals", "amount")
    with pytest.raises(InvalidParameterError, match="refers to 'projects'"):
        ctx.codes("deals", "project_id")


@pytest.mark.parametrize("base", [{"organisations": pd.DataFrame()}, pd.DataFrame(), None])
def test_training_frame_needs_a_client_base(base: Any) -> None:
    with pytest.raises(InvalidParameterError, match="'base' parameter of training_frame"):
        training_frame(base, ["2024-01-01"], NextPurchase())


def test_build_features_rejects_an_extractors_argument_that_is_not_iterable() -> None:
    with pytest.raises(InvalidParameterError, match="'extractors' parameter of build_features"):
        build_features(example_base(), EXAMPLE_AS_OF, extractors=3)  # type: ignore[arg-type]
