"""``ClientBase.as_of`` is a hard wall: nothing at or after t, later state changes reverted."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import b2bclient as bc
from b2bclient.base import SCHEMAS, TABLE_NAMES
from sample_frames import frames

T = pd.Timestamp("2024-01-01")


def test_drops_rows_at_or_after_t(small_base):
    cut = small_base.as_of("2024-01-01")
    for name in TABLE_NAMES:
        column = SCHEMAS[name].time_column
        if column:
            assert (cut.tables[name][column] < T).all(), name
    assert cut.known_before == T
    assert "O-4" not in set(cut.organisations.organisation_id)


def test_event_exactly_at_t_is_not_known(small_base):
    # interaction I-3 happened at 2024-01-01T00:00Z exactly
    cut = small_base.as_of("2024-01-01")
    assert "I-3" not in set(cut.interactions.interaction_id)
    assert "I-3" in set(small_base.as_of("2024-01-01 00:00:01").interactions.interaction_id)


def test_reverts_later_state_changes(small_base):
    cut = small_base.as_of("2024-01-01")
    d2 = cut.deals.set_index("deal_id").loc["D-2"]
    assert d2.status == "open" and pd.isna(d2.closed_at)  # lost on 2024-03-10
    pr1 = cut.projects.set_index("project_id").loc["PR-1"]
    assert pr1.status == "active" and pd.isna(pr1.closed_at)  # completed 2024-01-15
    stages = cut.stages.set_index(["project_id", "stage"])
    assert pd.isna(stages.loc[("PR-1", "procurement"), "ended_at"])
    assert pd.isna(stages.loc[("PR-2", "design"), "ended_at"])  # ended 2024-03-01
    assert pd.isna(cut.contracts.set_index("contract_id").loc["K-2", "cancelled_at"])
    # planned contract end stays: it was known when the contract was signed
    assert cut.contracts.set_index("contract_id").loc["K-1", "ends_at"] == pd.Timestamp(
        "2023-12-31"
    )


def test_children_of_dropped_rows_are_dropped(small_base):
    cut = small_base.as_of("2023-10-01")
    assert set(cut.deal_lines.deal_id) <= set(cut.deals.deal_id)
    assert set(cut.stages.project_id) <= set(cut.projects.project_id)
    assert "PR-2" not in set(cut.projects.project_id)
    # an interaction before a contact existed keeps the row but loses the unknown reference
    early = small_base.as_of("2021-01-01")
    assert early.contacts.contact_id.tolist() == ["C-1"]


def test_unknown_references_become_null():
    raw = frames()
    raw["interactions"].loc[3, "occurred_at"] = "2024-05-01"  # C-3 is created 2024-06-01
    base = bc.ClientBase(raw)
    cut = base.as_of("2024-05-15")
    row = cut.interactions.set_index("interaction_id").loc["I-4"]
    assert row.contact_id is None


def test_cut_base_is_consistent_and_revalidates(small_base):
    for t in ["2020-01-01", "2020-02-01", "2022-01-01", "2023-06-01", "2024-04-01", "2030-01-01"]:
        cut = small_base.as_of(t)
        again = bc.ClientBase(cut.tables)  # every foreign key still resolves
        assert again.equals(cut)


def test_original_is_unchanged(small_base):
    before = {n: df.copy() for n, df in small_base.tables.items()}
    small_base.as_of("2023-01-01")
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(small_base.tables[name], before[name])


def test_as_of_is_idempotent_and_composes(small_base):
    a = small_base.as_of("2024-01-01")
    assert a.as_of("2024-01-01").equals(a)
    assert small_base.as_of("2024-01-01").as_of("2023-01-01").equals(small_base.as_of("2023-01-01"))
    with pytest.raises(bc.InvalidParameterError, match="cannot be viewed as of the later"):
        a.as_of("2024-06-01")


@pytest.mark.parametrize("bad", [None, "not a date", ""])
def test_as_of_requires_a_time(small_base, bad):
    with pytest.raises(bc.InvalidParameterError, match=r"never defaults to now|point in time"):
        small_base.as_of(bad)


def test_aware_cutoff_is_converted(small_base):
    assert small_base.as_of("2024-01-01T02:00:00+02:00").equals(small_base.as_of("2024-01-01"))


# --- property tests ------------------------------------------------------------------------------

_times = st.datetimes(
    min_value=pd.Timestamp("2019-06-01").to_pydatetime(),
    max_value=pd.Timestamp("2025-06-01").to_pydatetime(),
)


def _future_rows(draw: st.DrawFn, t: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """Rows that all happen at or after t, including status changes of existing rows."""
    raw = frames()
    later = st.integers(min_value=0, max_value=10**8).map(lambda s: t + pd.Timedelta(seconds=s))
    n = draw(st.integers(min_value=1, max_value=4))
    new_orgs = pd.DataFrame(
        {
            "organisation_id": [f"NEW-{i}" for i in range(n)],
            "created_at": [draw(later) for _ in range(n)],
            "employees": [draw(st.integers(0, 10**7)) for _ in range(n)],
        }
    )
    raw["organisations"] = pd.concat([raw["organisations"], new_orgs], ignore_index=True)
    owners = ["O-1", "O-2", "O-3", "NEW-0"]
    k = draw(st.integers(min_value=1, max_value=6))
    deals = pd.DataFrame(
        {
            "deal_id": [f"ND-{i}" for i in range(k)],
            "organisation_id": [draw(st.sampled_from(owners)) for _ in range(k)],
            "created_at": [draw(later) for _ in range(k)],
            "status": "won",
            "amount": [draw(st.floats(0, 1e12)) for _ in range(k)],
            "channel": "portal",
        }
    )
    deals["closed_at"] = deals["created_at"] + pd.Timedelta(days=1)
    raw["deals"] = pd.concat([raw["deals"], deals], ignore_index=True)
    raw["deal_lines"] = pd.concat(
        [
            raw["deal_lines"],
            pd.DataFrame(
                {
                    "deal_id": deals.deal_id,
                    "line_no": 1,
                    "product_id": "S-1",
                    "quantity": 1e9,
                    "amount": deals.amount,
                }
            ),
        ],
        ignore_index=True,
    )
    raw["interactions"] = pd.concat(
        [
            raw["interactions"],
            pd.DataFrame(
                {
                    "interaction_id": [f"NI-{i}" for i in range(k)],
                    "organisation_id": deals.organisation_id,
                    "occurred_at": [draw(later) for _ in range(k)],
                    "channel": "support",
                }
            ),
        ],
        ignore_index=True,
    )
    raw["relationships"] = pd.concat(
        [
            raw["relationships"],
            pd.DataFrame(
                {
                    "source_id": ["O-3"],
                    "target_id": ["O-2"],
                    "kind": ["partner"],
                    "since": [draw(later)],
                }
            ),
        ],
        ignore_index=True,
    )
    # status changes after t of rows that existed before t
    deals_raw = raw["deals"]
    for i in range(len(deals_raw)):
        created = pd.Timestamp(deals_raw.loc[i, "created_at"])
        if created < t and deals_raw.loc[i, "status"] == "open" and draw(st.booleans()):
            deals_raw.loc[i, "status"] = draw(st.sampled_from(["won", "lost"]))
            deals_raw.loc[i, "closed_at"] = max(draw(later), created)
    contracts = raw["contracts"]
    for i in range(len(contracts)):
        if pd.isna(contracts.loc[i, "cancelled_at"]) and draw(st.booleans()):
            contracts.loc[i, "cancelled_at"] = max(
                draw(later), pd.Timestamp(contracts.loc[i, "started_at"])
            )
    return raw


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), t=_times)
def test_rows_at_or_after_t_never_change_the_view(data, t):
    t = pd.Timestamp(t).floor("s")
    base = bc.ClientBase(frames())
    with warnings.catch_warnings():
        # Rows at or after t may predate their organisation's created_at; the repair moves it
        # back to them, never before t, so the view at t stays the same.
        warnings.simplefilter("ignore", bc.B2BClientWarning)
        noisy = bc.ClientBase(_future_rows(data.draw, t), repair="known_since_first_activity")
    expected = base.as_of(t)
    got = noisy.as_of(t)
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(
            got.tables[name].reset_index(drop=True),
            expected.tables[name].reset_index(drop=True),
            obj=name,
        )


@settings(max_examples=40, deadline=None)
@given(t=_times)
def test_no_time_at_or_after_t_survives(t):
    t = pd.Timestamp(t)
    cut = bc.ClientBase(frames()).as_of(t)
    for name in TABLE_NAMES:
        df = cut.tables[name]
        for column in SCHEMAS[name].columns:
            if column.kind == "time" and column.name != "ends_at":
                values = df[column.name].dropna()
                assert (values < t).all(), (name, column.name)
    # a deal not yet closed is open; a won or lost deal has its closing time
    deals = cut.deals
    assert (deals.closed_at.isna() == (deals.status == "open")).all()


@settings(max_examples=40, deadline=None)
@given(t1=_times, t2=_times)
def test_views_are_monotone_in_time(t1, t2):
    t1, t2 = sorted([pd.Timestamp(t1), pd.Timestamp(t2)])
    base = bc.ClientBase(frames())
    early, late = base.as_of(t1), base.as_of(t2)
    for name in TABLE_NAMES:
        key = list(SCHEMAS[name].key)
        early_keys = set(map(tuple, early.tables[name][key].to_numpy()))
        late_keys = set(map(tuple, late.tables[name][key].to_numpy()))
        assert early_keys <= late_keys
    assert late.as_of(t1).equals(early)
    assert np.all(early.deals.amount.to_numpy() >= 0)


@settings(max_examples=25, deadline=None)
@given(t=_times)
def test_cut_carries_correct_reference_positions(t):
    cut = bc.ClientBase(frames()).as_of(pd.Timestamp(t))
    fresh = bc.ClientBase(cut.tables)  # computes positions from the ids again
    for name in TABLE_NAMES:
        for column in SCHEMAS[name].columns:
            if column.references:
                np.testing.assert_array_equal(
                    cut.reference_positions(name, column.name),
                    fresh.reference_positions(name, column.name),
                    err_msg=f"{name}.{column.name}",
                )


def test_reference_positions_name_the_references(small_base):
    assert small_base.reference_positions("deal_lines", "deal_id").tolist() == [0, 0, 1, 2, 3]
    assert small_base.reference_positions("interactions", "contact_id").tolist() == [
        0,
        1,
        -1,
        2,
        -1,
    ]
    with pytest.raises(bc.InvalidParameterError, match="not a reference"):
        small_base.reference_positions("deals", "amount")
