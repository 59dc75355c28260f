"""The procurement oracle: the true distribution of the time to procurement at as_of."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from b2bclient._exceptions import InvalidParameterError
from b2bclient.base import ClientBase
from b2bclient.datasets import SyntheticTruth, make_client_base, procurement_oracle

AS_OF = pd.Timestamp("2024-01-01")


@pytest.fixture(scope="module")
def small() -> tuple[ClientBase, SyntheticTruth]:
    return make_client_base(700, seed=2, return_truth=True)


@pytest.fixture(scope="module")
def large() -> tuple[ClientBase, SyntheticTruth]:
    return make_client_base(8_000, seed=21, return_truth=True)


def test_one_row_per_active_project_before_procurement(
    small: tuple[ClientBase, SyntheticTruth],
) -> None:
    base, truth = small
    oracle = procurement_oracle(base, truth, AS_OF)
    view = base.as_of(AS_OF)
    active = view.projects.loc[view.projects["status"] == "active", "project_id"]
    current = view.stages[view.stages["project_id"].isin(active)].groupby("project_id")["stage"]
    expected = sorted(current.max()[lambda s: s.isin(["design", "production"])].index)
    assert oracle["project_id"].tolist() == expected
    assert list(oracle.columns) == [
        "project_id",
        "organisation_id",
        "stage",
        "days_in_stage",
        "p_procurement_30d",
        "p_procurement_90d",
        "p_procurement_180d",
        "p_cancel",
        "expected_days_to_procurement",
        "median_days_to_procurement",
        "days_to_procurement_q10",
        "days_to_procurement_q90",
    ]
    assert (oracle["days_in_stage"] > 0).all()
    p = oracle[["p_procurement_30d", "p_procurement_90d", "p_procurement_180d"]]
    assert ((p >= 0) & (p <= 1)).all().all()
    assert (p.diff(axis=1).iloc[:, 1:] >= 0).all().all()
    assert (p["p_procurement_180d"] <= 1 - oracle["p_cancel"] + 1e-12).all()
    live = oracle["p_cancel"] < 1
    days = oracle.loc[live, ["days_to_procurement_q10", "median_days_to_procurement"]]
    assert (days.diff(axis=1).iloc[:, 1] >= 0).all()
    assert (oracle.loc[live, "days_to_procurement_q90"] >= days["median_days_to_procurement"]).all()


def test_deterministic_and_accurate(small: tuple[ClientBase, SyntheticTruth]) -> None:
    base, truth = small
    first = procurement_oracle(base, truth, AS_OF)
    pd.testing.assert_frame_equal(first, procurement_oracle(base, truth, AS_OF))
    fine = procurement_oracle(base, truth, AS_OF, n_draws=1 << 16, seed=5)
    columns = ["p_procurement_30d", "p_procurement_90d", "p_procurement_180d", "p_cancel"]
    assert (first[columns] - fine[columns]).abs().max().max() < 0.005
    relative = (
        first["expected_days_to_procurement"] / fine["expected_days_to_procurement"] - 1
    ).abs()
    assert relative.max() < 0.01


def test_projects_of_churned_organisations_never_reach_procurement(
    small: tuple[ClientBase, SyntheticTruth],
) -> None:
    base, truth = small
    oracle = procurement_oracle(base, truth, AS_OF)
    gone = (oracle["organisation_id"].map(truth.churned_at) < AS_OF).to_numpy()
    assert (oracle.loc[gone, "p_cancel"] == 1).all()
    assert (oracle.loc[gone, "p_procurement_180d"] == 0).all()
    assert (oracle.loc[~gone, "p_cancel"] < 1).all()


def test_calibrated_against_what_happens(large: tuple[ClientBase, SyntheticTruth]) -> None:
    base, truth = large
    reached = base.stages[base.stages["stage"] == "procurement"].set_index("project_id")
    frames = []
    for as_of in (pd.Timestamp("2023-06-01"), pd.Timestamp("2024-02-01")):
        oracle = procurement_oracle(base, truth, as_of)
        start = oracle["project_id"].map(reached["started_at"])
        for days in (90, 180):
            oracle[f"seen_{days}"] = (start < as_of + pd.Timedelta(days=days)).to_numpy()
        frames.append(oracle)
    both = pd.concat(frames)
    assert len(both) > 500
    for days in (90, 180):
        for stage, rows in both.groupby("stage", observed=True):
            p = rows[f"p_procurement_{days}d"]
            seen = rows[f"seen_{days}"].mean()
            se = np.sqrt((p * (1 - p)).sum()) / len(rows)
            assert abs(p.mean() - seen) < 3 * se + 0.01, (stage, days, p.mean(), seen)


def test_same_answer_on_a_point_in_time_view(small: tuple[ClientBase, SyntheticTruth]) -> None:
    base, truth = small
    pd.testing.assert_frame_equal(
        procurement_oracle(base, truth, AS_OF), procurement_oracle(base.as_of(AS_OF), truth, AS_OF)
    )


def _another_future(base: ClientBase, t: pd.Timestamp, seed: int) -> ClientBase:
    """Return `base` as known before `t` with a different, valid future after it.

    Running stages end at or after `t` and hand over to the next stage (or the project is
    cancelled then), open deals close either way, and copies of earlier deals and interactions
    (new ids, times shifted to at or after `t`) are added.
    """
    rng = np.random.default_rng(seed)
    view = base.as_of(t).tables
    projects, stages = view["projects"].copy(), view["stages"].copy()
    later = lambda n, days: t + pd.to_timedelta(rng.uniform(0, days, n), unit="D")  # noqa: E731
    running = stages.index[stages["ended_at"].isna()]
    fate = rng.random(len(running))
    ends = later(len(running), 300)
    stages.loc[running[fate < 0.7], "ended_at"] = ends[fate < 0.7]
    moved = stages.loc[running[fate < 0.5]]
    follow = moved[moved["stage"] != "commissioning"].copy()
    follow["stage"] = (
        follow["stage"].cat.codes.add(1).map(dict(enumerate(follow["stage"].cat.categories)))
    )
    follow["started_at"], follow["ended_at"] = follow["ended_at"], pd.NaT
    cancelled = stages.loc[running[(fate >= 0.5) & (fate < 0.7)], ["project_id", "ended_at"]]
    idx = projects["project_id"].isin(cancelled["project_id"])
    projects.loc[idx, "status"] = "cancelled"
    projects.loc[idx, "closed_at"] = projects.loc[idx, "project_id"].map(
        cancelled.set_index("project_id")["ended_at"]
    )
    finished = moved[moved["stage"] == "commissioning"]["project_id"]
    idx = projects["project_id"].isin(finished)
    projects.loc[idx, "status"] = "completed"
    projects.loc[idx, "closed_at"] = projects.loc[idx, "project_id"].map(
        moved.set_index("project_id")["ended_at"]
    )
    stages = pd.concat([stages, follow.astype(stages.dtypes.to_dict())], ignore_index=True)
    deals = view["deals"].copy()
    open_ = deals.index[deals["status"] == "open"]
    deals.loc[open_, "status"] = np.where(rng.random(len(open_)) < 0.5, "won", "lost")
    deals.loc[open_, "closed_at"] = later(len(open_), 60)
    extra = deals.sample(min(30, len(deals)), random_state=seed).assign(
        deal_id=lambda d: "F-" + d["deal_id"], project_id=None, status="open", closed_at=pd.NaT
    )
    extra["created_at"] = later(len(extra), 400)
    inter = view["interactions"]
    more = inter.sample(min(200, len(inter)), random_state=seed).assign(
        interaction_id=lambda d: "F-" + d["interaction_id"], project_id=None
    )
    more["occurred_at"] = later(len(more), 400)
    tables = dict(view)
    tables.update(
        projects=projects,
        stages=stages,
        deals=pd.concat([deals, extra], ignore_index=True),
        deal_lines=view["deal_lines"],
        interactions=pd.concat([inter, more], ignore_index=True),
    )
    return ClientBase.from_frames(**tables)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), as_of_days=st.integers(0, 700))
def test_rows_at_or_after_as_of_change_nothing(seed: int, as_of_days: int) -> None:
    base, truth = make_client_base(250, seed=4, return_truth=True)
    as_of = truth.landmark + pd.Timedelta(days=as_of_days)
    future = _another_future(base, as_of, seed)
    assert len(future.deals) > len(base.as_of(as_of).deals)
    expected = procurement_oracle(base, truth, as_of, n_draws=256)
    pd.testing.assert_frame_equal(expected, procurement_oracle(future, truth, as_of, n_draws=256))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"as_of": "2022-06-01"}, "as_of"),
        ({"as_of": None}, "as_of"),
        ({"horizons": "90D"}, "horizons"),
        ({"horizons": ()}, "horizons"),
        ({"horizons": ("-3D",)}, "horizons"),
        ({"horizons": ("90D", "90D")}, "horizons"),
        ({"n_draws": 10}, "n_draws"),
        ({"seed": -1}, "seed"),
    ],
)
def test_invalid_parameters_raise(
    small: tuple[ClientBase, SyntheticTruth], kwargs: dict[str, object], name: str
) -> None:
    base, truth = small
    arguments: dict[str, object] = {"as_of": AS_OF, **kwargs}
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter of procurement_oracle"):
        procurement_oracle(base, truth, **arguments)  # type: ignore[arg-type]


def test_wrong_inputs_raise(small: tuple[ClientBase, SyntheticTruth]) -> None:
    base, truth = small
    with pytest.raises(InvalidParameterError, match="'base' parameter"):
        procurement_oracle(base.tables, truth, AS_OF)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'truth' parameter"):
        procurement_oracle(base, base, AS_OF)  # type: ignore[arg-type]
