"""The churn section of ``b2bclient demo`` and ``b2bclient report``: a preprocessor and a Cox model."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from b2bclient.cli._context import Context, Printer, Progress
from b2bclient.cli._demo_churn import CHURN_DRIVERS, churn_section
from b2bclient.cli._html import Report
from b2bclient.datasets import make_client_base
from b2bclient.features import FeaturePreprocessor, build_features

END = pd.Timestamp("2025-01-01")


@pytest.fixture(scope="module")
def with_missing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Context, str, pd.Index]:
    """The section on 400 organisations whose portal share at the landmark is missing for 20%."""
    pytest.importorskip("matplotlib")
    base, truth = make_client_base(400, seed=3, end=END, return_truth=True)
    stream = io.StringIO()
    ctx = Context(
        base=base,
        features=build_features(base, as_of=END),
        as_of=END,
        landmark=truth.landmark,
        out=Printer(stream, Report("test")),
        progress=Progress(1, enabled=False),
        out_dir=tmp_path_factory.mktemp("churn"),
        seed=0,
    )
    X = ctx.features_at(ctx.landmark).copy()
    blanked = X.index[np.random.default_rng(0).random(len(X)) < 0.2]
    X.loc[blanked, "engagement__portal_share_365d"] = np.nan
    ctx._cache[ctx.landmark] = X
    churn_section(ctx)
    return ctx, stream.getvalue(), blanked


def test_missing_drivers_are_imputed_by_the_preprocessor_not_dropped(with_missing) -> None:
    ctx, text, blanked = with_missing
    result = ctx.results["churn"]
    assert isinstance(result.model[0], FeaturePreprocessor)
    assert result.drivers == [c for c in CHURN_DRIVERS if c in result.frame.columns]
    frame = result.frame
    at_risk = frame["organisation_id"].isin(blanked)
    assert at_risk.any() and frame.loc[at_risk, "engagement__portal_share_365d"].isna().all()
    missing = int(frame[result.drivers].isna().any(axis=1).sum())
    assert f"{missing:,} organisations miss a driver: median and a missing indicator" in text
    columns = result.matrix(frame).columns
    assert any(c.endswith("__missing") for c in columns)
    assert list(result.cox.explain().index) == list(columns)
    p = result.probability(frame.set_index("organisation_id"), "180D")
    assert p.notna().all() and p.between(0, 1).all() and len(p) == len(frame)


def test_the_riskiest_clients_carry_their_drivers(with_missing) -> None:
    _, text, _ = with_missing
    assert "Riskiest clients as of 2025-01-01" in text
    assert "Hazard ratios per standard deviation of each model column" in text
    table = text.split("Riskiest clients as of 2025-01-01")[1]
    assert "orders_365d=" in table or "tickets_365d=" in table


def test_a_base_whose_drivers_never_vary_is_refused_by_name(tmp_path: Path) -> None:
    from b2bclient._exceptions import InvalidParameterError

    base, truth = make_client_base(150, seed=0, end=END, return_truth=True)
    ctx = Context(
        base=base,
        features=build_features(base, as_of=END),
        as_of=END,
        landmark=truth.landmark,
        out=Printer(io.StringIO(), Report("test")),
        progress=Progress(1, enabled=False),
        out_dir=tmp_path,
    )
    X = ctx.features_at(ctx.landmark).copy()
    X[list(CHURN_DRIVERS)] = 1.0
    ctx._cache[ctx.landmark] = X
    with pytest.raises(InvalidParameterError, match="None of the churn drivers"):
        churn_section(ctx)
