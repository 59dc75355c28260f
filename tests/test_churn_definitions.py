"""Churn definitions and survival frames: spells, landmarks, composition and no look-ahead."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from b2bclient._exceptions import InvalidParameterError
from b2bclient.base import ClientBase
from b2bclient.churn import (
    AllOf,
    AnyOf,
    ChurnDefinition,
    ContractEnd,
    Custom,
    Inactivity,
    Surv,
    survival_frame,
)

T0 = pd.Timestamp("2023-01-01")


def day(n: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(days=n)


def deals(rows: list[tuple[str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "organisation_id": [o for o, _ in rows],
            "status": ["won"] * len(rows),
            "closed_at": [day(d) for _, d in rows],
            "created_at": [day(d) for _, d in rows],
        }
    )


def test_inactivity_spells_end_after_gap_and_restart_on_return() -> None:
    tables = {"deals": deals([("A", 0), ("A", 50), ("A", 300), ("B", 10), ("B", 380)])}
    spells = Inactivity(100).spells(tables, day(400))
    expected = pd.DataFrame(
        {
            "organisation_id": ["A", "A", "B", "B"],
            "start": [day(0), day(300), day(10), day(380)],
            "stop": [day(150), day(400), day(110), day(400)],
            "event": [True, True, True, False],
        }
    )
    pd.testing.assert_frame_equal(spells, expected)


def test_inactivity_ignores_open_lost_and_future_deals() -> None:
    d = deals([("A", 0), ("A", 20), ("A", 30), ("A", 500)])
    d["status"] = ["won", "lost", "open", "won"]
    spells = Inactivity(100).spells({"deals": d}, day(400))
    assert spells[["start", "stop"]].to_dict("list") == {"start": [day(0)], "stop": [day(100)]}


def test_inactivity_counts_interactions_only_when_asked() -> None:
    inter = pd.DataFrame(
        {"organisation_id": ["A"], "occurred_at": [day(80)], "channel": ["portal"]}
    )
    tables = {"deals": deals([("A", 0)]), "interactions": inter}
    assert Inactivity(100).spells(tables, day(400))["stop"].tolist() == [day(100)]
    assert Inactivity(100, interactions=True).spells(tables, day(400))["stop"].tolist() == [
        day(180)
    ]


def test_outcomes_keep_only_organisations_at_risk() -> None:
    tables = {"deals": deals([("A", 0), ("B", 10), ("B", 90), ("C", 250), ("D", 150)])}
    out = Inactivity(100).outcomes(tables, day(400), pd.DatetimeIndex([day(120), day(200)]))
    # At day 120 A was declared churned on day 100 and C and D had not bought yet; at day 200 B
    # was declared churned on day 190.
    assert out.to_dict("list") == {
        "organisation_id": ["B", "D"],
        "landmark": [day(120), day(200)],
        "duration": [70.0, 50.0],
        "event": [True, True],
    }


def test_churn_becomes_observable_only_when_the_gap_has_passed() -> None:
    tables = {"deals": deals([("A", 0)])}
    out = Inactivity(100).outcomes(tables, day(90), pd.DatetimeIndex([day(50)]))
    assert out[["duration", "event"]].values.tolist() == [[40.0, False]]
    out = Inactivity(100).outcomes(tables, day(100), pd.DatetimeIndex([day(50)]))
    assert out[["duration", "event"]].values.tolist() == [[50.0, True]]


def contracts(rows: list[tuple[str, float, float, float | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "organisation_id": [r[0] for r in rows],
            "started_at": [day(r[1]) for r in rows],
            "ends_at": [day(r[2]) for r in rows],
            "cancelled_at": [pd.NaT if r[3] is None else day(r[3]) for r in rows],
        }
    )


def test_contract_end_merges_renewals_within_grace() -> None:
    c = contracts(
        [
            ("A", 0, 100, None),
            ("A", 130, 200, None),  # renewed within the 60-day grace: same spell
            ("A", 300, 900, None),  # new spell after a lapse; ends after as_of: censored
            ("B", 0, 365, 50),  # cancelled early
            ("C", 0, 100, None),
            ("C", 20, 300, 450),  # overlapping; cancellation after as_of is not known yet
        ]
    )
    spells = ContractEnd(60).spells({"contracts": c}, day(400))
    assert spells.to_dict("list") == {
        "organisation_id": ["A", "A", "B", "C"],
        "start": [day(0), day(300), day(0), day(0)],
        "stop": [day(260), day(400), day(110), day(360)],
        "event": [True, False, True, True],
    }


def test_contract_end_without_contracts_is_empty() -> None:
    out = ContractEnd().outcomes({}, day(400), pd.DatetimeIndex([day(10)]))
    assert list(out.columns) == ["organisation_id", "landmark", "duration", "event"]
    assert out.empty


def test_any_of_takes_the_first_churn() -> None:
    tables = {
        "deals": deals([("A", 0), ("B", 0)]),
        "contracts": contracts([("A", 0, 50, None), ("C", 0, 500, None)]),
    }
    both = AnyOf(Inactivity(100), ContractEnd(10))
    out = both.outcomes(tables, day(400), pd.DatetimeIndex([day(20)]))
    assert out.to_dict("list") == {
        "organisation_id": ["A", "B", "C"],
        "landmark": [day(20)] * 3,
        "duration": [40.0, 80.0, 380.0],
        "event": [True, True, False],
    }


def test_all_of_waits_for_every_definition() -> None:
    tables = {
        "deals": deals([("A", 0), ("B", 0)]),
        "contracts": contracts([("A", 0, 50, None), ("C", 0, 500, None)]),
    }
    both = AllOf(Inactivity(100), ContractEnd(10))
    out = both.outcomes(tables, day(400), pd.DatetimeIndex([day(20)]))
    assert out.to_dict("list") == {
        "organisation_id": ["A", "B", "C"],
        "landmark": [day(20)] * 3,
        "duration": [80.0, 80.0, 380.0],
        "event": [True, True, False],
    }


def test_composition_needs_two_definitions() -> None:
    with pytest.raises(InvalidParameterError, match="at least two"):
        AnyOf(Inactivity())
    with pytest.raises(InvalidParameterError, match="churn definitions"):
        AllOf(Inactivity(), "180D")  # type: ignore[arg-type]


def test_definitions_are_churn_definitions() -> None:
    for d in (Inactivity(), ContractEnd(), AnyOf(Inactivity(), ContractEnd())):
        assert isinstance(d, ChurnDefinition)


def test_parameters_are_validated() -> None:
    with pytest.raises(InvalidParameterError, match="'gap' parameter of Inactivity"):
        Inactivity("-3D")
    with pytest.raises(InvalidParameterError, match="'grace' parameter of ContractEnd"):
        ContractEnd("soon")
    assert ContractEnd(0).grace == pd.Timedelta(0)


def test_custom_definition_from_spells() -> None:
    def first_to_last(tables: dict[str, pd.DataFrame], as_of: pd.Timestamp) -> pd.DataFrame:
        d = tables["deals"]
        g = d.groupby("organisation_id")["closed_at"]
        return pd.DataFrame({"start": g.min(), "stop": g.max(), "event": True}).reset_index()

    tables = {"deals": deals([("A", 0), ("A", 30), ("B", 5), ("B", 200)])}
    out = Custom(first_to_last).outcomes(tables, day(400), pd.DatetimeIndex([day(10)]))
    assert out[["organisation_id", "duration"]].values.tolist() == [["A", 20.0], ["B", 190.0]]


@pytest.mark.parametrize(
    ("spells", "match"),
    [
        (pd.DataFrame({"organisation_id": ["A"], "start": [day(0)]}), "missing"),
        (
            pd.DataFrame(
                {"organisation_id": ["A"], "start": [day(0)], "stop": [day(500)], "event": [1]}
            ),
            "at most as_of",
        ),
        (
            pd.DataFrame(
                {
                    "organisation_id": ["A", "A"],
                    "start": [day(0), day(5)],
                    "stop": [day(10), day(20)],
                    "event": [True, True],
                }
            ),
            "overlap",
        ),
        (
            pd.DataFrame(
                {"organisation_id": [None], "start": [day(0)], "stop": [day(10)], "event": [True]}
            ),
            "'organisation_id' must not be missing",
        ),
        ("not a frame", "must return a DataFrame"),
    ],
)
def test_custom_definition_rejects_bad_spells(spells: object, match: str) -> None:
    bad = Custom(lambda tables, as_of: spells, name="bad")
    with pytest.raises(InvalidParameterError, match=match):
        bad.outcomes({}, day(400), pd.DatetimeIndex([day(10)]))


# --------------------------------------------------------------------------- survival_frame


def small_base(extra_deals: list[tuple[str, float]] | None = None) -> ClientBase:
    orgs = pd.DataFrame({"organisation_id": ["A", "B", "C"], "created_at": [day(-30)] * 3})
    rows = [("A", 0), ("A", 40), ("B", 10), ("B", 200), ("C", 300)] + (extra_deals or [])
    d = pd.DataFrame(
        {
            "organisation_id": [o for o, _ in rows],
            "created_at": [day(t) for _, t in rows],
            "amount": 1.0,
        }
    )
    return ClientBase.from_frames(orgs, deals=d)


def orders(base: object, landmark: pd.Timestamp) -> pd.DataFrame:
    d = base.deals  # type: ignore[attr-defined]
    d = d[d["created_at"] < landmark]
    counts = d.groupby("organisation_id").size().astype(float)
    return counts.rename("orders").to_frame()


def test_survival_frame_joins_features_at_each_landmark() -> None:
    frame = survival_frame(
        small_base(),
        "2024-02-01",
        Inactivity(90),
        landmarks=[day(50), day(250)],
        features=orders,
    )
    assert list(frame.columns) == ["organisation_id", "landmark", "orders", "duration", "event"]
    assert frame[["organisation_id", "orders", "duration"]].values.tolist() == [
        ["A", 2.0, 80.0],
        ["B", 1.0, 50.0],
        ["B", 2.0, 40.0],
    ]
    y = Surv.from_frame(frame)
    assert y["event"].all()


def test_survival_frame_features_see_only_rows_before_the_landmark() -> None:
    def all_deals(base: object, landmark: pd.Timestamp) -> pd.DataFrame:
        d = base.deals  # type: ignore[attr-defined]
        assert (d["created_at"] < landmark).all()
        return d.groupby("organisation_id").size().astype(float).rename("orders").to_frame()

    args = (small_base(), "2024-02-01", Inactivity(90))
    marks = [day(50), day(250)]
    unfiltered = survival_frame(*args, landmarks=marks, features=all_deals)
    pd.testing.assert_frame_equal(
        unfiltered, survival_frame(*args, landmarks=marks, features=orders)
    )


def test_survival_frame_censors_at_as_of_and_at_horizon() -> None:
    frame = survival_frame(
        small_base(), day(320), Inactivity(90), landmarks=day(250), features=False
    )
    assert frame[["organisation_id", "duration", "event"]].values.tolist() == [["B", 40.0, True]]
    frame = survival_frame(
        small_base(), day(400), Inactivity(90), landmarks=[day(250), day(310)], features=False
    )
    assert frame[["organisation_id", "duration", "event"]].values.tolist() == [
        ["B", 40.0, True],
        ["C", 80.0, True],
    ]
    frame = survival_frame(
        small_base(), day(400), Inactivity(90), landmarks=day(250), features=False, horizon=30
    )
    assert frame[["duration", "event"]].values.tolist() == [[30.0, False]]


def test_survival_frame_default_features_come_from_build_features() -> None:
    frame = survival_frame(small_base(), day(400), Inactivity(90), landmarks=[day(50)])
    assert "purchasing__orders_365d" in frame.columns
    assert frame["purchasing__orders_365d"].tolist() == [2.0, 1.0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"landmarks": [day(500)]}, "strictly before as_of"),
        ({"landmarks": []}, "is empty"),
        ({"landmarks": [day(10)], "definition": "180D"}, "churn definition"),
        ({"landmarks": [day(10)], "features": 3}, "'features' parameter"),
        ({"landmarks": [day(10)], "horizon": "-1D"}, "'horizon' parameter"),
    ],
)
def test_survival_frame_rejects_bad_arguments(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"definition": Inactivity(90)}
    args.update(kwargs)
    definition = args.pop("definition")
    with pytest.raises(InvalidParameterError, match=match):
        survival_frame(small_base(), day(400), definition, **args)  # type: ignore[arg-type]


def test_survival_frame_needs_a_client_base() -> None:
    with pytest.raises(InvalidParameterError, match="must be a ClientBase"):
        survival_frame({"deals": deals([])}, day(400), Inactivity(), landmarks=[day(10)])  # type: ignore[arg-type]


def test_survival_frame_requires_as_of() -> None:
    with pytest.raises(InvalidParameterError, match="never defaults to now"):
        survival_frame(small_base(), None, Inactivity(), landmarks=[day(10)])


ORGS = ["A", "B", "C", "D"]
AS_OF = 400


def random_base(
    past: list[tuple[int, int, str]],
    future: list[tuple[int, int, str]],
    contract_rows: list[tuple[int, int, int, int | None]],
) -> ClientBase:
    """Deals/interactions (org, day, kind) and contracts (org, start, length, cancel offset)."""
    orgs = pd.DataFrame({"organisation_id": ORGS, "created_at": [day(-400)] * len(ORGS)})
    rows = past + future
    deal_rows = [(ORGS[o], t) for o, t, k in rows if k == "deal"]
    inter_rows = [(ORGS[o], t) for o, t, k in rows if k != "deal"]
    d = pd.DataFrame(
        {
            "deal_id": [f"D{i}" for i in range(len(deal_rows))],
            "organisation_id": [o for o, _ in deal_rows],
            "created_at": [day(t) for _, t in deal_rows],
            "amount": 1.0,
        }
    )
    inter = pd.DataFrame(
        {
            "interaction_id": [f"I{i}" for i in range(len(inter_rows))],
            "organisation_id": [o for o, _ in inter_rows],
            "occurred_at": [day(t) for _, t in inter_rows],
            "channel": "portal",
        }
    )
    c = pd.DataFrame(
        {
            "contract_id": [f"C{i}" for i in range(len(contract_rows))],
            "organisation_id": [ORGS[r[0]] for r in contract_rows],
            "started_at": [day(r[1]) for r in contract_rows],
            "ends_at": [day(r[1] + r[2]) for r in contract_rows],
            "cancelled_at": [pd.NaT if r[3] is None else day(r[1] + r[3]) for r in contract_rows],
        }
    )
    return ClientBase.from_frames(orgs, deals=d, interactions=inter, contracts=c)


event_rows = st.tuples(
    st.integers(0, len(ORGS) - 1), st.integers(-300, AS_OF - 1), st.sampled_from(["deal", "web"])
)
future_rows = st.tuples(
    st.integers(0, len(ORGS) - 1),
    st.integers(AS_OF, AS_OF + 300),
    st.sampled_from(["deal", "web"]),
)
contract_rows = st.tuples(
    st.integers(0, len(ORGS) - 1),
    st.integers(-300, AS_OF + 200),
    st.integers(1, 400),
    st.one_of(st.none(), st.integers(0, 500)),
)
DEFINITIONS = [
    Inactivity(60),
    Inactivity(45, interactions=True),
    ContractEnd(30),
    AnyOf(Inactivity(60), ContractEnd(30)),
    AllOf(Inactivity(60, interactions=True), ContractEnd(0)),
]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    past=st.lists(event_rows, max_size=25),
    future=st.lists(future_rows, max_size=10),
    contracts_=st.lists(contract_rows, max_size=8),
    which=st.integers(0, len(DEFINITIONS) - 1),
)
def test_rows_at_or_after_as_of_change_nothing(
    past: list[tuple[int, int, str]],
    future: list[tuple[int, int, str]],
    contracts_: list[tuple[int, int, int, int | None]],
    which: int,
) -> None:
    definition = DEFINITIONS[which]
    landmarks = [day(100), day(250), day(AS_OF - 1)]
    known = [c for c in contracts_ if c[1] < AS_OF]
    # Contracts that start later, and cancellations at or after as_of, are unknown at as_of.
    known_now = [
        (o, s, n, None if cancel is None or s + cancel >= AS_OF else cancel)
        for o, s, n, cancel in known
    ]
    full = random_base(past, future, contracts_)
    cut = random_base(past, [], known_now)
    kwargs = {"landmarks": landmarks, "features": orders}
    a = survival_frame(full, day(AS_OF), definition, **kwargs)  # type: ignore[arg-type]
    b = survival_frame(cut, day(AS_OF), definition, **kwargs)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(a, b)
    assert (a["duration"] > 0).all()
    end = (day(AS_OF) - a["landmark"]) / pd.Timedelta(days=1)
    assert (a["duration"] <= end).all()


def test_future_rows_change_nothing_with_default_features() -> None:
    base = small_base()
    later = small_base(extra_deals=[("A", 400), ("C", 401), ("B", 700)])
    a = survival_frame(base, day(400), Inactivity(90), landmarks=[day(50), day(250)])
    b = survival_frame(later, day(400), Inactivity(90), landmarks=[day(50), day(250)])
    pd.testing.assert_frame_equal(a, b)


def test_inactivity_is_a_training_frame_label() -> None:
    from b2bclient.features import training_frame

    frame = training_frame(small_base(), cutoffs=[day(50)], label=Inactivity(90), horizon="60D")
    # A is declared churned on day 130, after the window; B on day 100, inside it.
    assert frame[["organisation_id", "label"]].values.tolist() == [["A", 0.0], ["B", 1.0]]
    # The label agrees with the survival frame: churn declared within the horizon.
    sf = survival_frame(small_base(), day(110), Inactivity(90), landmarks=[day(50)], features=False)
    assert (sf["event"] & (sf["duration"] < 60)).astype(float).tolist() == [0.0, 1.0]


def test_label_uses_only_the_observation_window() -> None:
    # B buys again on day 60, so its churn is declared on day 150; A's deal on day 500 lies after
    # the window and cannot undo A's churn declared on day 130.
    base = small_base(extra_deals=[("B", 60), ("A", 500)])
    label = Inactivity(90).label(base, day(50), pd.Timedelta(days=90))
    assert label.to_dict() == {"A": 1.0, "B": 0.0}
    assert label.dtype == np.float64


# --------------------------------------------------------------------------- Custom sees a cut


def _seen_by_custom(tables: object, as_of: pd.Timestamp) -> dict[str, pd.DataFrame]:
    seen: dict[str, pd.DataFrame] = {}

    def record(t: dict[str, pd.DataFrame], cut: pd.Timestamp) -> pd.DataFrame:
        seen.update(t)
        return pd.DataFrame(columns=["organisation_id", "start", "stop", "event"])

    Custom(record).outcomes(tables, as_of, pd.DatetimeIndex([as_of - pd.Timedelta(days=1)]))  # type: ignore[arg-type]
    return seen


def test_custom_receives_the_tables_cut_at_as_of_from_a_client_base() -> None:
    orgs = pd.DataFrame({"organisation_id": ["A", "B"], "created_at": [day(-30), day(150)]})
    d = pd.DataFrame(
        {
            "deal_id": ["D1", "D2", "D3", "D4"],
            "organisation_id": ["A", "A", "A", "B"],
            "created_at": [day(0), day(50), day(120), day(160)],
            "closed_at": [day(10), day(130), pd.NaT, pd.NaT],
            "status": ["won", "won", "open", "open"],
            "amount": 1.0,
        }
    )
    base = ClientBase.from_frames(orgs, deals=d)
    seen = _seen_by_custom(base.tables, day(100))
    expected = base.as_of(day(100)).tables
    assert set(seen) == set(expected)
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(seen[name], frame)
    # D2, won on day 130, was still open on day 100; D3 and B did not exist yet.
    assert seen["deals"][["deal_id", "status"]].values.tolist() == [["D1", "won"], ["D2", "open"]]
    assert seen["deals"]["closed_at"].isna().tolist() == [False, True]
    assert seen["organisations"]["organisation_id"].tolist() == ["A"]


def test_custom_receives_a_partial_mapping_cut_at_as_of() -> None:
    d = deals([("A", 0), ("A", 30), ("B", 200)])
    d["status"] = ["won", "won", "won"]
    d.loc[1, "closed_at"] = day(150)
    stages = pd.DataFrame(
        {
            "project_id": ["P", "P"],
            "stage": ["design", "production"],
            "started_at": [day(0), day(120)],
            "ended_at": [day(110), pd.NaT],
        }
    )
    seen = _seen_by_custom({"deals": d, "stages": stages}, day(100))
    assert seen["deals"]["organisation_id"].tolist() == ["A", "A"]
    assert seen["deals"]["status"].tolist() == ["won", "open"]
    assert seen["deals"]["closed_at"].tolist() == [day(0), pd.NaT]
    assert seen["stages"]["stage"].tolist() == ["design"]
    assert seen["stages"]["ended_at"].isna().all()


@pytest.mark.parametrize("as_of", ["2022-06-01", "2024-03-15"])
def test_a_partial_mapping_is_cut_by_the_rule_of_client_base_as_of(as_of: str) -> None:
    from b2bclient.churn._custom import known_tables
    from b2bclient.datasets import make_client_base

    base = make_client_base(n_organisations=150, seed=3)
    names = ["organisations", "deals", "deal_lines", "projects", "stages", "contracts"]
    t = pd.Timestamp(as_of)
    partial = known_tables({n: base.tables[n] for n in names}, t, owner="test")
    expected = base.as_of(t).tables
    for name in names:
        pd.testing.assert_frame_equal(partial[name], expected[name])


# --------------------------------------------------------------------------- as_of past the data


@pytest.fixture(scope="module")
def synthetic() -> ClientBase:
    from b2bclient.datasets import make_client_base

    return make_client_base(n_organisations=200, seed=0)  # its data end on 2025-01-01


def test_survival_frame_warns_when_as_of_lies_past_the_end_of_the_data(
    synthetic: ClientBase,
) -> None:
    args = {"definition": Inactivity("180D"), "landmarks": ["2024-01-01"], "features": False}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        inside = survival_frame(synthetic, "2025-01-01", **args)  # type: ignore[arg-type]
    with pytest.warns(UserWarning, match="as_of is 2026-01-01 00:00:00, 365 days after"):
        beyond = survival_frame(synthetic, "2026-01-01", **args)  # type: ignore[arg-type]
    # What the warning is about: a year of silence declares every organisation churned.
    assert inside["event"].mean() < beyond["event"].mean() == 1.0


def test_survival_frame_does_not_warn_on_a_small_base_at_its_own_pace() -> None:
    # Five deals over 300 days: 100 days of silence before as_of are plausible.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        survival_frame(small_base(), day(400), Inactivity(90), landmarks=[day(50)], features=False)
    with pytest.warns(UserWarning, match="after the last event recorded in the base"):
        survival_frame(small_base(), day(900), Inactivity(90), landmarks=[day(50)], features=False)
