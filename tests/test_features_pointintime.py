"""Point in time: rows at or after as_of, extreme values and later status changes change nothing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from b2bclient.base import ClientBase
from b2bclient.base._schema import CHANNELS, DEAL_CHANNELS, DEAL_STATUSES, STAGES
from b2bclient.features import build_features, get_extractor, list_extractors
from b2bclient.testing import EXAMPLE_AS_OF, example_base, with_future_rows

SETTINGS = settings(derandomize=True, deadline=None, max_examples=25, database=None)
START = pd.Timestamp("2021-02-01")
END = pd.Timestamp("2024-01-01")
_BASELINES: dict[pd.Timestamp, pd.DataFrame] = {}


def baseline(t: pd.Timestamp) -> pd.DataFrame:
    """Return the features of the example base as of `t`, computed on the cut base."""
    if t not in _BASELINES:
        _BASELINES[t] = build_features(example_base().as_of(t), t)
    return _BASELINES[t]


AS_OFS = st.sampled_from(
    [EXAMPLE_AS_OF, pd.Timestamp("2021-09-15 13:00"), pd.Timestamp("2023-08-01")]
)


@SETTINGS
@given(
    as_of=AS_OFS,
    seed=st.integers(0, 2**32 - 1),
    n_rows=st.integers(1, 30),
    max_offset_days=st.floats(0.0, 3_000.0),
    extreme=st.booleans(),
)
def test_generated_future_rows_change_no_feature(
    as_of: pd.Timestamp, seed: int, n_rows: int, max_offset_days: float, extreme: bool
) -> None:
    tables = with_future_rows(
        example_base().tables,
        as_of,
        seed=seed,
        n_rows=n_rows,
        max_offset_days=max_offset_days,
        extreme=extreme,
    )
    pd.testing.assert_frame_equal(build_features(tables, as_of), baseline(as_of), check_exact=True)


_SECONDS = 3 * 365 * 86_400
AMOUNTS = st.one_of(
    st.just(0.0), st.just(1e15), st.floats(0.0, 1e12, allow_nan=False, allow_infinity=False)
)
DEALS = st.lists(
    st.fixed_dictionaries(
        {
            "org": st.integers(0, 10**6),
            "offset": st.integers(0, _SECONDS),
            "duration": st.integers(0, _SECONDS),
            "status": st.sampled_from(DEAL_STATUSES),
            "channel": st.sampled_from(DEAL_CHANNELS),
            "amount": AMOUNTS,
            "product": st.integers(0, 10**6),
        }
    ),
    max_size=8,
)
INTERACTIONS = st.lists(
    st.fixed_dictionaries(
        {
            "org": st.integers(0, 10**6),
            "contact": st.integers(0, 10**6),
            "offset": st.integers(0, _SECONDS),
            "channel": st.sampled_from(CHANNELS),
            "kind": st.sampled_from(["login", "ticket", "call", "page_view"]),
        }
    ),
    max_size=8,
)
CHANGES = st.lists(
    st.tuples(
        st.integers(0, 10**6), st.sampled_from(["open", "won", "lost"]), st.integers(0, _SECONDS)
    ),
    max_size=6,
)
STAGE_ENDS = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, _SECONDS)), max_size=6)


def _at(t: pd.Timestamp, seconds: list[int]) -> pd.Series:
    return pd.Series(t + pd.to_timedelta(seconds, unit="s"), dtype="datetime64[ns]")


@SETTINGS
@given(
    as_of=AS_OFS,
    deals=DEALS,
    interactions=INTERACTIONS,
    changes=CHANGES,
    stage_ends=STAGE_ENDS,
)
def test_drawn_future_rows_and_status_changes_change_no_feature(
    as_of: pd.Timestamp,
    deals: list[dict[str, Any]],
    interactions: list[dict[str, Any]],
    changes: list[tuple[int, str, int]],
    stage_ends: list[tuple[int, int]],
) -> None:
    base = example_base()
    tables = dict(base.tables)
    orgs = base.organisations
    known = orgs.loc[orgs["created_at"] < as_of, "organisation_id"].to_numpy(dtype=object)
    products = base.products["product_id"].to_numpy(dtype=object)
    contacts = base.contacts["contact_id"].to_numpy(dtype=object)

    if deals:
        ids = [f"H-D{i}" for i in range(len(deals))]
        created = _at(as_of, [d["offset"] for d in deals])
        closed = created + pd.to_timedelta([d["duration"] for d in deals], unit="s")
        status = [d["status"] for d in deals]
        new = pd.DataFrame(
            {
                "deal_id": ids,
                "organisation_id": [known[d["org"] % len(known)] for d in deals],
                "created_at": created,
                "closed_at": closed.where(pd.Series(status) != "open", pd.NaT),
                "status": status,
                "amount": [d["amount"] for d in deals],
                "channel": [d["channel"] for d in deals],
            }
        )
        lines = pd.DataFrame(
            {
                "deal_id": ids,
                "line_no": 1,
                "product_id": [products[d["product"] % len(products)] for d in deals],
                "quantity": 1.0,
                "amount": [d["amount"] for d in deals],
            }
        )
        tables["deals"] = pd.concat([tables["deals"], new], ignore_index=True)
        tables["deal_lines"] = pd.concat([tables["deal_lines"], lines], ignore_index=True)
    if interactions:
        owners = [known[x["org"] % len(known)] for x in interactions]
        # an interaction's contact is one of its own organisation's (validation refuses others)
        pools = {o: contacts[base.contacts["organisation_id"].to_numpy() == o] for o in owners}
        new = pd.DataFrame(
            {
                "interaction_id": [f"H-I{i}" for i in range(len(interactions))],
                "organisation_id": owners,
                "contact_id": [
                    pools[o][x["contact"] % len(pools[o])] if len(pools[o]) else None
                    for o, x in zip(owners, interactions, strict=True)
                ],
                "occurred_at": _at(as_of, [x["offset"] for x in interactions]),
                "channel": [x["channel"] for x in interactions],
                "kind": [x["kind"] for x in interactions],
            }
        )
        tables["interactions"] = pd.concat([tables["interactions"], new], ignore_index=True)
    # Deals open at as_of may close in any way at or after it.
    d = tables["deals"].astype({"status": object})
    open_at = np.flatnonzero(((d["created_at"] < as_of) & ~(d["closed_at"] < as_of)).to_numpy())
    for pick, status, seconds in changes:
        if not len(open_at):
            break
        row = open_at[pick % len(open_at)]
        d.loc[row, "status"] = status
        d.loc[row, "closed_at"] = pd.NaT if status == "open" else as_of + pd.Timedelta(seconds, "s")
    tables["deals"] = d
    # Stages running at as_of may end at or after it.
    s = tables["stages"].copy()
    running = np.flatnonzero(((s["started_at"] < as_of) & ~(s["ended_at"] < as_of)).to_numpy())
    for pick, seconds in stage_ends:
        if len(running):
            s.loc[running[pick % len(running)], "ended_at"] = as_of + pd.Timedelta(seconds, "s")
    tables["stages"] = s

    pd.testing.assert_frame_equal(build_features(tables, as_of), baseline(as_of), check_exact=True)


@SETTINGS
@given(seconds=st.integers(0, int((END - START).total_seconds())))
def test_the_full_base_and_the_cut_base_agree_at_any_time(seconds: int) -> None:
    base = example_base()
    t = START + pd.Timedelta(seconds, "s")
    cut = base.as_of(t)
    for name in list_extractors():
        extractor = get_extractor(name)
        pd.testing.assert_frame_equal(
            extractor.compute(base.tables, t), extractor.compute(cut.tables, t), check_exact=True
        )
    pd.testing.assert_frame_equal(build_features(base, t), build_features(cut, t), check_exact=True)


def _event_times() -> list[pd.Timestamp]:
    base = example_base()
    times = pd.concat(
        [
            base.deals["closed_at"],
            base.deals["created_at"],
            base.interactions["occurred_at"],
            base.stages["ended_at"],
            base.contracts["cancelled_at"],
            base.contracts["ends_at"],
        ]
    ).dropna()
    times = times[(times > START) & (times < END)].sort_values()
    return [pd.Timestamp(x) for x in times.iloc[:: max(len(times) // 40, 1)]]


@pytest.mark.parametrize("t", _event_times()[:40:4])
def test_an_event_exactly_at_as_of_is_not_known(t: pd.Timestamp) -> None:
    base = example_base()
    pd.testing.assert_frame_equal(
        build_features(base, t), build_features(base.as_of(t), t), check_exact=True
    )


def test_the_boundary_purchase_is_excluded() -> None:
    base = example_base()
    X = build_features(base, EXAMPLE_AS_OF, ["purchasing"])
    # Z-GRANDCHILD bought 1 ns before as_of (250.0) and exactly at as_of (1e9).
    assert X.loc["Z-GRANDCHILD", "purchasing__orders_total"] == 1.0
    assert X.loc["Z-GRANDCHILD", "purchasing__revenue_total"] == 250.0
    assert X.loc["Z-GRANDCHILD", "purchasing__recency_days"] == pytest.approx(1e-9 / 86_400)
    later = build_features(base, EXAMPLE_AS_OF + pd.Timedelta("1ns"), ["purchasing"])
    assert later.loc["Z-GRANDCHILD", "purchasing__orders_total"] == 2.0


def test_an_organisation_created_after_as_of_has_no_row_and_leaves_its_parent_alone() -> None:
    base = example_base()
    t = pd.Timestamp("2021-04-01")
    X = build_features(base, t, ["firmographics"])
    assert "Z-GRANDCHILD" not in X.index
    assert X.loc["Z-EMPTY", "firmographics__holding_size"] == 1.0
    assert X.loc["Z-EMPTY", "firmographics__subsidiaries"] == 0.0
    later = build_features(base, "2022-06-01", ["firmographics"])
    assert later.loc["Z-EMPTY", "firmographics__holding_size"] == 3.0
    assert later.loc["Z-GRANDCHILD", "firmographics__hierarchy_depth"] == 2.0


def test_a_stage_reverted_by_as_of_is_a_current_stage() -> None:
    orgs = pd.DataFrame({"organisation_id": ["A"], "created_at": ["2023-01-01"]})
    projects = pd.DataFrame(
        {
            "project_id": ["P"],
            "organisation_id": ["A"],
            "created_at": ["2023-02-01"],
            "status": ["completed"],
            "closed_at": ["2024-06-01"],
        }
    )
    stages = pd.DataFrame(
        {
            "project_id": ["P"] * len(STAGES),
            "stage": list(STAGES),
            "started_at": ["2023-02-01", "2023-04-01", "2023-06-01", "2024-01-01", "2024-03-01"],
            "ended_at": ["2023-04-01", "2023-06-01", "2024-01-01", "2024-03-01", "2024-06-01"],
        }
    )
    base = ClientBase.from_frames(orgs, projects=projects, stages=stages)
    X = build_features(base, "2023-07-01", ["projects"]).iloc[0]
    assert X["projects__active"] == 1.0
    assert X["projects__active_procurement"] == 1.0
    assert X["projects__procurement_days_mean"] != X["projects__procurement_days_mean"]
    assert X["projects__design_days_mean"] == 59.0
