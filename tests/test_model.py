"""Domain records: validators, ordered enums, and frames <-> records round trips."""

from __future__ import annotations

import attrs
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import b2bclient as bc
from b2bclient.base import SCHEMAS, TABLE_NAMES
from b2bclient.model import (
    RECORD_TYPES,
    Contract,
    Deal,
    DealLine,
    DealStatus,
    Organisation,
    SizeBand,
    Stage,
    StageKind,
)


def test_records_are_frozen_and_slotted():
    org = Organisation(organisation_id="O-1", created_at="2024-01-01")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        org.name = "x"  # type: ignore[misc]
    assert not hasattr(org, "__dict__")
    assert attrs.evolve(org, name="Acme").name == "Acme"


def test_every_table_has_a_record_with_the_schema_fields():
    assert set(RECORD_TYPES) == set(TABLE_NAMES)
    for name, cls in RECORD_TYPES.items():
        assert {f.name for f in attrs.fields(cls)} == set(SCHEMAS[name].names), name


@pytest.mark.parametrize(
    "make",
    [
        lambda: Deal(
            deal_id="D", organisation_id="O", created_at="2024-01-01", status="won", amount=1.0
        ),
        lambda: Deal(
            deal_id="D", organisation_id="O", created_at="2024-01-01", status="open", amount=-1.0
        ),
        lambda: Deal(
            deal_id="D", organisation_id="O", created_at="2024-01-01", status="sold", amount=1.0
        ),
        lambda: DealLine(deal_id="D", line_no=1, product_id="P", quantity=0.0, amount=1.0),
        lambda: Stage(
            project_id="P", stage="design", started_at="2024-02-01", ended_at="2024-01-01"
        ),
        lambda: Contract(
            contract_id="K", organisation_id="O", started_at="2024-02-01", ends_at="2024-01-01"
        ),
        lambda: Organisation(organisation_id="O", created_at="not a time"),
    ],
)
def test_record_validators_reject_bad_values(make):
    with pytest.raises(ValueError):
        make()


def test_ordered_enums_compare_by_declaration_order():
    assert StageKind.DESIGN < StageKind.PRODUCTION < StageKind.PROCUREMENT
    assert StageKind.DELIVERY < StageKind.COMMISSIONING
    assert max(StageKind) is StageKind.COMMISSIONING
    assert SizeBand.MICRO < "enterprise"
    assert str(DealStatus.WON) == "won"


def test_records_round_trip_through_the_base(small_base):
    records = [r for name in TABLE_NAMES for r in small_base.records(name)]
    back = bc.ClientBase.from_records(records)
    for name in TABLE_NAMES:
        canonical = list(SCHEMAS[name].names)
        pd.testing.assert_frame_equal(
            back.tables[name], small_base.tables[name][canonical], obj=name
        )


def test_lookups_by_id(small_base):
    assert small_base.organisation("O-2").parent_id == "O-1"
    assert small_base.deal("D-1").status is DealStatus.WON
    assert small_base.contact("C-1").role == "procurement"
    assert small_base.project("PR-2").closed_at is None
    assert small_base.product("S-1").kind == "service"
    assert small_base.contract("K-2").cancelled_at == pd.Timestamp("2024-04-01")
    assert small_base.interaction("I-2").occurred_at == pd.Timestamp("2023-03-01 09:30")
    with pytest.raises(bc.UnknownIdError, match="No organisation with organisation_id 'O-404'"):
        small_base.organisation("O-404")
    with pytest.raises(KeyError):
        small_base.as_of("2024-01-01").organisation("O-4")


def test_personal_data_is_hidden_from_repr(small_base):
    text = repr(small_base.contact("C-1"))
    assert "ada.berg" not in text and "Ada Berg" not in text


def test_from_records_rejects_other_objects():
    with pytest.raises(bc.InvalidParameterError, match="Got dict instead"):
        bc.ClientBase.from_records([{"organisation_id": "O-1"}])  # type: ignore[list-item]


_ids = st.text(alphabet="ABCXYZ0123456789-", min_size=1, max_size=8)
_times = st.datetimes(
    min_value=pd.Timestamp("2000-01-01").to_pydatetime(),
    max_value=pd.Timestamp("2030-01-01").to_pydatetime(),
).map(lambda d: pd.Timestamp(d).as_unit("ns"))
_money = st.floats(min_value=0, max_value=1e12, allow_nan=False)


@st.composite
def _orgs_and_deals(draw: st.DrawFn) -> list:
    ids = draw(st.lists(_ids, min_size=1, max_size=6, unique=True))
    orgs = [
        Organisation(
            organisation_id=i,
            created_at=draw(_times),
            name=draw(st.none() | st.text(max_size=10)),
            size_band=draw(st.none() | st.sampled_from(list(SizeBand))),
            employees=draw(st.none() | st.integers(0, 10**6)),
            annual_revenue=draw(st.none() | _money),
        )
        for i in ids
    ]
    deals = []
    for k in range(draw(st.integers(0, 6))):
        owner = draw(st.sampled_from(orgs))
        # a deal is not dated before its organisation was created (validation refuses it)
        created = owner.created_at + pd.Timedelta(days=draw(st.integers(0, 2000)))
        status = draw(st.sampled_from(list(DealStatus)))
        closed = (
            None
            if status is DealStatus.OPEN
            else created + pd.Timedelta(days=draw(st.integers(0, 400)))
        )
        deals.append(
            Deal(
                deal_id=f"D{k}",
                organisation_id=owner.organisation_id,
                created_at=created,
                closed_at=closed,
                status=status,
                amount=draw(_money),
            )
        )
    return orgs + deals


@settings(max_examples=50, deadline=None)
@given(records=_orgs_and_deals())
def test_records_frames_records_round_trip(records):
    base = bc.ClientBase.from_records(records)
    back = list(base.records("organisations")) + list(base.records("deals"))
    assert back == records


@pytest.mark.parametrize(
    "make",
    [
        lambda: Organisation(organisation_id="O", created_at="01.02.2023"),  # ambiguous
        lambda: Organisation(organisation_id="O", created_at="now"),
        lambda: Organisation(organisation_id="O", created_at="2024-01-01 10:00 EST"),
        lambda: Organisation(organisation_id="O", created_at=2024),
        lambda: Organisation(organisation_id="O", created_at="9999-12-31"),
        lambda: Organisation(organisation_id=1e20, created_at="2024-01-01"),
        lambda: Organisation(organisation_id=True, created_at="2024-01-01"),
        lambda: Organisation(organisation_id="O", created_at="2024-01-01", annual_revenue=np.inf),
        lambda: Deal(
            deal_id="D", organisation_id="O", created_at="2024-01-01", status="open", amount="inf"
        ),
        lambda: Deal(
            deal_id="D", organisation_id="O", created_at="2024-01-01", status="open", amount=1 + 2j
        ),
        lambda: DealLine(deal_id="D", line_no=1, product_id="P", quantity=np.inf, amount=1.0),
    ],
)
def test_records_follow_the_loading_rules(make):
    with pytest.raises(ValueError):
        make()


def test_records_read_whole_number_ids_as_text_like_the_loaders():
    org = Organisation(organisation_id=1001, created_at="2024-01-01", parent_id=1000.0)
    assert (org.organisation_id, org.parent_id) == ("1001", "1000")
