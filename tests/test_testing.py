"""The common suite: every registered extractor passes it, and it catches broken extractors."""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import b2bclient.testing as bt
from b2bclient._exceptions import InvalidParameterError, LookAheadError
from b2bclient.base import ClientBase
from b2bclient.features import Contracts, ExtractorTags, get_extractor, list_extractors
from b2bclient.testing import (
    EXAMPLE_AS_OF,
    check_extractor,
    example_base,
    extractor_checks,
    with_future_rows,
)


@pytest.mark.parametrize("name", list_extractors())
def test_registered_extractor_passes_the_common_suite(name: str) -> None:
    check_extractor(get_extractor(name))


def test_extractors_with_other_parameters_pass_too() -> None:
    check_extractor(get_extractor("engagement", windows=("7D", "30D", "180D")))
    check_extractor(get_extractor("services", categories=("lifting",), window="36h"))


def test_all_is_pinned_to_the_namespace() -> None:
    assert set(bt.__all__) == {n for n in dir(bt) if not n.startswith("_")}


@attrs.frozen
class Orders:
    """A well-behaved extractor, to be broken in the tests below."""

    name: ClassVar[str] = "orders"
    requires: ClassVar[tuple[str, ...]] = ("deals",)

    def output_columns(self) -> tuple[str, ...]:
        return ("orders__n",)

    def describe(self) -> dict[str, str]:
        return {"orders__n": "Number of purchases."}

    def tags(self) -> ExtractorTags:
        return ExtractorTags(rollup={"orders__n": "sum"})

    def known(self, tables: Any, as_of: pd.Timestamp) -> pd.Index:
        orgs = tables["organisations"]
        return pd.Index(
            np.sort(orgs.loc[orgs["created_at"] < as_of, "organisation_id"].to_numpy(dtype=object)),
            name="organisation_id",
        )

    def purchases(self, tables: Any, as_of: pd.Timestamp) -> pd.DataFrame:
        deals = tables["deals"]
        won = deals["status"].astype(object) == "won"
        return deals[won & (deals["closed_at"] < as_of)]

    def compute(self, tables: Any, as_of: pd.Timestamp) -> pd.DataFrame:
        counts = self.purchases(tables, as_of).groupby("organisation_id").size()
        index = self.known(tables, as_of)
        return pd.DataFrame(
            {"orders__n": counts.reindex(index).fillna(0).to_numpy(dtype=float)}, index=index
        )


def test_a_correct_extractor_passes() -> None:
    check_extractor(Orders())


@attrs.frozen
class LooksAhead(Orders):
    def purchases(self, tables: Any, as_of: pd.Timestamp) -> pd.DataFrame:
        deals = tables["deals"]
        return deals[(deals["status"].astype(object) == "won") & (deals["closed_at"] <= as_of)]


@attrs.frozen
class IgnoresStatusChanges(Orders):
    def purchases(self, tables: Any, as_of: pd.Timestamp) -> pd.DataFrame:
        deals = tables["deals"]
        # Counts deals created before as_of that are won *now*, whenever they closed.
        return deals[(deals["status"].astype(object) == "won") & (deals["created_at"] < as_of)]


@attrs.frozen
class DropsInactive(Orders):
    def compute(self, tables: Any, as_of: pd.Timestamp) -> pd.DataFrame:
        out = super().compute(tables, as_of)
        return out[out["orders__n"] > 0]


@attrs.frozen
class WrongDtype(Orders):
    def compute(self, tables: Any, as_of: pd.Timestamp) -> pd.DataFrame:
        return super().compute(tables, as_of).astype("int64")


@attrs.frozen
class WrongColumns(Orders):
    def output_columns(self) -> tuple[str, ...]:
        return ("orders__count",)

    def describe(self) -> dict[str, str]:
        return {"orders__count": "Number of purchases."}

    def tags(self) -> ExtractorTags:
        return ExtractorTags(rollup={"orders__count": "sum"})


@attrs.frozen
class BadPrefix(Orders):
    def output_columns(self) -> tuple[str, ...]:
        return ("n_orders",)

    def describe(self) -> dict[str, str]:
        return {"n_orders": "Number of purchases."}

    def tags(self) -> ExtractorTags:
        return ExtractorTags(rollup={"n_orders": "sum"})


@attrs.frozen
class Undescribed(Orders):
    def describe(self) -> dict[str, str]:
        return {"orders__n": " "}


@attrs.frozen
class Random(Orders):
    def compute(self, tables: Any, as_of: pd.Timestamp) -> pd.DataFrame:
        out = super().compute(tables, as_of)
        return out + np.random.default_rng().random(len(out))[:, None]


@attrs.frozen
class RowOrderDependent(Orders):
    def compute(self, tables: Any, as_of: pd.Timestamp) -> pd.DataFrame:
        out = super().compute(tables, as_of)
        first = tables["deals"]["amount"].iloc[0] if len(tables["deals"]) else 0.0
        return out + float(first)


@attrs.frozen
class HiddenRequirement(Orders):
    def compute(self, tables: Any, as_of: pd.Timestamp) -> pd.DataFrame:
        out = super().compute(tables, as_of)
        bonus = (
            float((tables["contacts"]["created_at"] < as_of).sum()) if "contacts" in tables else 0.0
        )
        return out + bonus


@attrs.frozen
class NeedsUndeclaredTable(Orders):
    def compute(self, tables: Any, as_of: pd.Timestamp) -> pd.DataFrame:
        return super().compute(tables, as_of) + 0.0 * len(tables["contracts"])


@attrs.frozen
class FailsWithoutActivity(Orders):
    def compute(self, tables: Any, as_of: pd.Timestamp) -> pd.DataFrame:
        if not len(tables["deals"]):
            raise ValueError("no deals")
        return super().compute(tables, as_of)


@attrs.frozen
class LeaksNames(Orders):
    requires: ClassVar[tuple[str, ...]] = ("deals", "contacts")

    def output_columns(self) -> tuple[str, ...]:
        return ("orders__n", "orders__buyer")

    def describe(self) -> dict[str, str]:
        return {"orders__n": "Number of purchases.", "orders__buyer": "The buyer."}

    def tags(self) -> ExtractorTags:
        return ExtractorTags(
            rollup={"orders__n": "sum", "orders__buyer": "first"},
            categorical=frozenset({"orders__buyer"}),
        )

    def compute(self, tables: Any, as_of: pd.Timestamp) -> pd.DataFrame:
        out = super().compute(tables, as_of)
        contacts = tables["contacts"]
        first = (
            contacts[contacts["created_at"] < as_of]
            .sort_values("contact_id")
            .drop_duplicates("organisation_id")
            .set_index("organisation_id")["full_name"]
        )
        out["orders__buyer"] = pd.Categorical(first.reindex(out.index).astype(object))
        return out


@pytest.mark.parametrize(
    ("extractor", "error", "match"),
    [
        (LooksAhead(), LookAheadError, "no look-ahead"),
        (IgnoresStatusChanges(), LookAheadError, "no look-ahead"),
        (DropsInactive(), AssertionError, "index: one row per organisation"),
        (WrongDtype(), AssertionError, "dtypes: 'orders__n' is int64"),
        (WrongColumns(), AssertionError, "columns"),
        (BadPrefix(), AssertionError, "declaration: columns must be named 'orders__"),
        (Undescribed(), AssertionError, "declaration: empty descriptions"),
        (Random(), AssertionError, "determinism: two runs differ"),
        (RowOrderDependent(), AssertionError, "depends on the row order"),
        (HiddenRequirement(), AssertionError, "'requires' is incomplete"),
        (NeedsUndeclaredTable(), AssertionError, "KeyError.*'requires' is incomplete"),
        (FailsWithoutActivity(), ValueError, "no deals"),
        (LeaksNames(), AssertionError, "personal data"),
    ],
)
def test_broken_extractors_are_caught(extractor: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        check_extractor(extractor)


def test_checks_can_run_one_by_one_on_another_base() -> None:
    from b2bclient.datasets import make_client_base

    base = make_client_base(n_organisations=60, seed=11, start="2022-01-01", end="2024-01-01")
    names = []
    for name, check in extractor_checks(get_extractor("pipeline"), base=base):
        check()
        names.append(name)
    assert names == [
        "declaration",
        "output",
        "determinism",
        "requires",
        "no look-ahead",
        "no look-ahead at an event time",
        "no activity",
        "personal data",
    ]
    check_extractor(get_extractor("projects"), base=base, as_of="2023-03-01")


def test_example_base_holds_the_awkward_cases() -> None:
    base = example_base()
    orgs = base.organisations.set_index("organisation_id")
    assert orgs.loc["Z-GRANDCHILD", "parent_id"] == "Z-CHILD"
    assert orgs.loc["Z-NEW", "created_at"] < EXAMPLE_AS_OF
    deals = base.deals.set_index("deal_id")
    assert deals.loc["Z-D2", "closed_at"] == EXAMPLE_AS_OF
    assert not (base.deals["organisation_id"] == "Z-EMPTY").any()
    assert example_base() is base


@pytest.mark.parametrize("seed", [0, 1])
def test_future_rows_change_nothing_known_before_as_of(seed: int) -> None:
    base = example_base()
    future = with_future_rows(base.tables, EXAMPLE_AS_OF, seed=seed, n_rows=15)
    assert all(len(future[n]) > len(base.tables[n]) for n in base.tables)
    later = ClientBase(future, validate=False).as_of(EXAMPLE_AS_OF).tables
    before = base.as_of(EXAMPLE_AS_OF).tables
    for name in before:
        if name == "products":
            # Products are timeless: new ones are only added, for future lines.
            pd.testing.assert_frame_equal(later[name].iloc[: len(before[name])], before[name])
        else:
            pd.testing.assert_frame_equal(later[name], before[name])
    # Some rows land exactly at as_of, and deals open at as_of get another future.
    assert (future["deals"]["created_at"] == EXAMPLE_AS_OF).any()
    deals = base.deals
    open_at = (deals["created_at"] < EXAMPLE_AS_OF) & ~(deals["closed_at"] < EXAMPLE_AS_OF)
    assert open_at.sum() > 5
    ids = deals.loc[open_at, "deal_id"]
    old = deals.set_index("deal_id").loc[ids, ["status", "closed_at"]]
    new = future["deals"].set_index("deal_id").loc[ids, ["status", "closed_at"]]
    assert (old["status"] != new["status"]).any()
    assert (new["closed_at"].dropna() >= EXAMPLE_AS_OF).all()


@settings(derandomize=True, deadline=None, max_examples=12, database=None)
@given(
    as_of=st.sampled_from(
        [EXAMPLE_AS_OF, pd.Timestamp("2021-09-15 13:00"), pd.Timestamp("2023-08-01")]
    ),
    seed=st.integers(0, 2**32 - 1),
    n_rows=st.integers(1, 30),
    max_offset_days=st.floats(0.0, 3_000.0),
    extreme=st.booleans(),
)
def test_future_rows_make_valid_tables(
    as_of: pd.Timestamp, seed: int, n_rows: int, max_offset_days: float, extreme: bool
) -> None:
    future = with_future_rows(
        example_base().tables,
        as_of,
        seed=seed,
        n_rows=n_rows,
        max_offset_days=max_offset_days,
        extreme=extreme,
    )
    ClientBase(future)  # raises InvalidTablesError listing every problem


@pytest.fixture(scope="module")
def synthetic() -> ClientBase:
    from b2bclient.datasets import make_client_base

    return make_client_base(n_organisations=150, seed=2)


@pytest.mark.parametrize("as_of", ["2022-01-01", "2024-06-01"])
def test_future_rows_of_a_synthetic_base_are_valid_and_consistent(
    synthetic: ClientBase, as_of: str
) -> None:
    base = synthetic
    for seed in range(3):
        future = ClientBase(with_future_rows(base.tables, as_of, seed=seed))
        t = pd.Timestamp(as_of)
        created = future.organisations.set_index("organisation_id")["created_at"]
        # Rows of an organisation never predate it; an interaction's contact is its own.
        for name, column in [
            ("contacts", "created_at"),
            ("deals", "created_at"),
            ("projects", "created_at"),
            ("interactions", "occurred_at"),
            ("contracts", "started_at"),
        ]:
            table = future.tables[name]
            new = table[column] >= t
            owner = created.loc[table.loc[new, "organisation_id"]].to_numpy()
            assert (table.loc[new, column].to_numpy() >= owner).all(), name
        inter = future.interactions
        contact_org = future.contacts.set_index("contact_id")["organisation_id"]
        with_contact = inter[inter["contact_id"].notna() & (inter["occurred_at"] >= t)]
        assert (
            contact_org.loc[with_contact["contact_id"]].to_numpy()
            == with_contact["organisation_id"].to_numpy()
        ).all()


def test_the_look_ahead_check_validates_the_future_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    from b2bclient._exceptions import InvalidTablesError
    from b2bclient.testing import _extractor_checks

    def broken(tables: Any, as_of: Any, **kwargs: Any) -> dict[str, pd.DataFrame]:
        future = with_future_rows(tables, as_of, **kwargs)
        deals = future["deals"].copy()
        future_won = deals["deal_id"].str.startswith("F-") & (deals["status"] == "won")
        deals.loc[future_won, "closed_at"] = pd.NaT  # won, but without a closing time
        return {**future, "deals": deals}

    monkeypatch.setattr(_extractor_checks, "with_future_rows", broken)
    base = example_base()
    with pytest.raises(InvalidTablesError, match="closed_at"):
        _extractor_checks.check_no_look_ahead(get_extractor("purchasing"), base, EXAMPLE_AS_OF)


def test_future_rows_on_a_base_without_activity() -> None:
    orgs = pd.DataFrame({"organisation_id": ["A"], "created_at": pd.to_datetime(["2024-01-01"])})
    future = with_future_rows({"organisations": orgs}, "2025-01-01", n_rows=4, extreme=False)
    assert (future["interactions"]["occurred_at"] >= pd.Timestamp("2025-01-01")).all()
    assert len(future["organisations"]) == 5


@pytest.mark.parametrize(
    ("extractor", "base", "match"),
    [
        ("purchasing", None, r"get_extractor\('purchasing'\)"),
        (Contracts, None, r"pass an instance such as Contracts\(\)"),
        (Contracts(), {"organisations": None}, "'base' parameter of check_extractor"),
    ],
)
def test_check_extractor_rejects_what_is_not_an_extractor_or_a_base(
    extractor: Any, base: Any, match: str
) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        check_extractor(extractor, base=base)
