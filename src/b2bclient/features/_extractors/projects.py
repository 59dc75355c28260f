"""Projects: long engagements by current stage, time in stage, stalls and reaching procurement."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs
import numpy as np

from b2bclient.base._schema import PROJECT_STATUSES, STAGES
from b2bclient.features._context import NAT, FeatureTables
from b2bclient.features._numeric import count, days_between, group_max, ratio, total
from b2bclient.features._spec import (
    FeatureSpec,
    SpecExtractor,
    duration_field,
    window_ns,
    window_suffix,
)

__all__ = ["Projects"]

_PROCUREMENT = STAGES.index("procurement")
_INT_MAX = np.iinfo(np.int64).max


@attrs.frozen
class Projects(SpecExtractor):
    """Summarise projects and their stages (design < production < procurement < ...).

    The current stage of a project is its stage started last before ``as_of`` (the later stage
    in the order on ties). A project reaches procurement when a stage at or after procurement
    starts.

    Parameters
    ----------
    window : str, default "365D"
        Trailing window for projects created and projects reaching procurement.
    stall_after : str, default "180D"
        An active project is stalled when its current stage (or the project itself, before any
        stage) started longer ago than this.

    Examples
    --------
    >>> import pandas as pd
    >>> orgs = pd.DataFrame({"organisation_id": ["A"], "created_at": pd.to_datetime(["2023-01-01"])})
    >>> projects = pd.DataFrame({"project_id": ["P1"], "organisation_id": ["A"],
    ...     "created_at": pd.to_datetime(["2024-01-01"]), "status": ["active"]})
    >>> stages = pd.DataFrame({"project_id": ["P1", "P1"], "stage": ["design", "production"],
    ...     "started_at": pd.to_datetime(["2024-01-01", "2024-03-01"]),
    ...     "ended_at": pd.to_datetime(["2024-03-01", None])})
    >>> X = Projects().compute({"organisations": orgs, "projects": projects, "stages": stages},
    ...                        pd.Timestamp("2025-01-01"))
    >>> X[["projects__active_production", "projects__stalled", "projects__design_days_mean"]].iloc[0].tolist()
    [1.0, 1.0, 60.0]
    """

    name: ClassVar[str] = "projects"
    requires: ClassVar[tuple[str, ...]] = ("projects", "stages")

    window: str = duration_field("365D")
    stall_after: str = duration_field("180D")

    def specs(self) -> tuple[FeatureSpec, ...]:
        """Return the specs of the output columns, in order."""
        c = self.col
        s = window_suffix(self.window)
        specs = [
            FeatureSpec(c("projects_total"), "Number of projects created before as_of.", "sum"),
            FeatureSpec(c("active"), "Number of active projects at as_of.", "sum"),
            FeatureSpec(c("completed"), "Number of projects completed before as_of.", "sum"),
            FeatureSpec(c("cancelled"), "Number of projects cancelled before as_of.", "sum"),
        ]
        for stage in STAGES:
            specs.append(
                FeatureSpec(
                    c(f"active_{stage}"),
                    f"Number of active projects whose current stage is {stage}.",
                    "sum",
                )
            )
        specs += [
            FeatureSpec(
                c("active_no_stage"), "Number of active projects with no stage started yet.", "sum"
            ),
            FeatureSpec(
                c("current_stage_days_mean"),
                "Mean days active projects have spent in their current stage (NaN when none).",
                "mean",
            ),
            FeatureSpec(
                c("current_stage_days_max"),
                "Longest time in days an active project has spent in its current stage (NaN when none).",
                "max",
            ),
            FeatureSpec(
                c("stalled"),
                f"Number of active projects whose current stage started more than {self.stall_after} "
                f"ago (or, before any stage, created more than {self.stall_after} ago).",
                "sum",
            ),
        ]
        for stage in STAGES:
            specs.append(
                FeatureSpec(
                    c(f"{stage}_days_mean"),
                    f"Mean duration in days of the organisation's {stage} stages that ended before "
                    f"as_of (NaN when none).",
                    "mean",
                )
            )
        specs += [
            FeatureSpec(
                c("reached_procurement"),
                "Number of projects that reached procurement (or a later stage) before as_of.",
                "sum",
            ),
            FeatureSpec(
                c(f"reached_procurement_{s}"),
                f"Number of projects that reached procurement in the last {self.window}.",
                "sum",
            ),
            FeatureSpec(
                c("active_expected_value"), "Sum of the expected value of active projects.", "sum"
            ),
            FeatureSpec(
                c(f"created_{s}"), f"Number of projects created in the last {self.window}.", "sum"
            ),
        ]
        return tuple(specs)

    def _compute(self, ctx: FeatureTables) -> Mapping[str, Any]:
        n = ctx.n_orgs
        now = ctx.as_of_ns
        codes = ctx.codes("projects")
        status = ctx.enum_codes("projects", "status", PROJECT_STATUSES)
        created = ctx.times("projects", "created_at")
        known = (codes >= 0) & (created != NAT) & (created < now)
        active = known & (status == 0)
        n_projects = len(codes)

        project = ctx.positions("stages", "project_id")
        stage = ctx.enum_codes("stages", "stage", STAGES)
        started = ctx.times("stages", "started_at")
        ended = ctx.times("stages", "ended_at")
        valid = (project >= 0) & (stage >= 0) & (started != NAT) & (started < now)
        valid[valid] = known[project[valid]]
        project, stage, started, ended = project[valid], stage[valid], started[valid], ended[valid]
        stage_org = codes[project]

        # Current stage of each project: the stage started last (later stage on ties).
        current = np.full(n_projects, -1, dtype=np.intp)
        current_start = np.full(n_projects, NAT, dtype=np.int64)
        if len(project):
            order = np.lexsort((stage, started, project))
            last = np.ones(len(order), dtype=bool)
            last[:-1] = project[order][1:] != project[order][:-1]
            rows = order[last]
            current[project[rows]] = stage[rows]
            current_start[project[rows]] = started[rows]

        c = self.col
        out: dict[str, Any] = {}
        out[c("projects_total")] = count(codes, n, known)
        out[c("active")] = count(codes, n, active)
        out[c("completed")] = count(codes, n, known & (status == 1))
        out[c("cancelled")] = count(codes, n, known & (status == 2))
        for k, name in enumerate(STAGES):
            out[c(f"active_{name}")] = count(codes, n, active & (current == k))
        out[c("active_no_stage")] = count(codes, n, active & (current < 0))
        in_stage = days_between(now, current_start)
        staged = active & (current >= 0)
        n_staged = count(codes, n, staged)
        out[c("current_stage_days_mean")] = ratio(
            total(codes, in_stage, n, staged), n_staged, np.nan
        )
        out[c("current_stage_days_max")] = group_max(codes, in_stage, n, staged)
        since = np.where(current >= 0, current_start, created)
        stalled = (
            active
            & (since != NAT)
            & (now - np.where(since == NAT, now, since) > window_ns(self.stall_after))
        )
        out[c("stalled")] = count(codes, n, stalled)

        finished = (ended != NAT) & (ended < now)
        duration = days_between(ended, started)
        for k, name in enumerate(STAGES):
            mask = finished & (stage == k)
            out[c(f"{name}_days_mean")] = ratio(
                total(stage_org, duration, n, mask), count(stage_org, n, mask), np.nan
            )

        reached_at = np.full(n_projects, _INT_MAX, dtype=np.int64)
        late = stage >= _PROCUREMENT
        np.minimum.at(reached_at, project[late], started[late])
        reached = known & (reached_at != _INT_MAX)
        start = now - window_ns(self.window)
        out[c("reached_procurement")] = count(codes, n, reached)
        out[c(f"reached_procurement_{window_suffix(self.window)}")] = count(
            codes, n, reached & (reached_at >= start)
        )
        expected = ctx.floats("projects", "expected_value")
        out[c("active_expected_value")] = total(codes, expected, n, active)
        out[c(f"created_{window_suffix(self.window)}")] = count(
            codes, n, known & (created >= start)
        )
        return out
