"""Labels of training frames: what a base cut before the end of the observation window gives."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from b2bclient._exceptions import InvalidParameterError
from b2bclient.base import ClientBase
from b2bclient.churn import Inactivity
from b2bclient.features import NextPurchase, NoActivity, ProcurementReached, WonDeal

CUTOFF = pd.Timestamp("2024-01-01")
H = pd.Timedelta("90D")


@pytest.fixture(scope="module")
def base() -> ClientBase:
    orgs = pd.DataFrame({"organisation_id": ["A", "B", "C"], "created_at": ["2023-01-01"] * 3})
    # A wins a deal in the window; C's last purchase is on 2023-12-10, so C goes silent.
    deals = pd.DataFrame(
        {
            "organisation_id": ["A", "A", "B", "C"],
            "created_at": ["2023-06-01", "2023-12-01", "2023-11-01", "2023-12-10"],
            "closed_at": ["2023-06-02", "2024-02-15", "2024-03-01", "2023-12-10"],
            "status": ["won", "won", "lost", "won"],
            "amount": [1.0, 2.0, 3.0, 4.0],
        }
    )
    projects = pd.DataFrame(
        {
            "project_id": ["P1"],
            "organisation_id": ["A"],
            "created_at": ["2023-06-01"],
            "status": ["active"],
        }
    )
    stages = pd.DataFrame(
        {
            "project_id": ["P1", "P1"],
            "stage": ["design", "procurement"],
            "started_at": ["2023-06-01", "2024-02-20"],
        }
    )
    return ClientBase.from_frames(orgs, deals=deals, projects=projects, stages=stages)


LABELS = [NextPurchase(), WonDeal(), ProcurementReached(), NoActivity("90D"), Inactivity("90D")]


@pytest.mark.parametrize("label", LABELS, ids=lambda label: type(label).__name__)
def test_a_base_cut_before_the_end_of_the_window_is_refused(base: ClientBase, label: Any) -> None:
    # Cut in the middle of [cutoff, cutoff + horizon): A's deal won on 2024-02-15 is unknown.
    cut = base.as_of("2024-02-01")
    with pytest.raises(InvalidParameterError, match="cut as of 2024-02-01"):
        label.label(cut, CUTOFF, H)


@pytest.mark.parametrize("label", LABELS, ids=lambda label: type(label).__name__)
def test_a_base_cut_at_the_end_of_the_window_gives_the_full_label(
    base: ClientBase, label: Any
) -> None:
    full = label.label(base, CUTOFF, H)
    assert full.max() == 1.0  # each label sees a positive in the window
    pd.testing.assert_series_equal(label.label(base.as_of(CUTOFF + H), CUTOFF, H), full)
