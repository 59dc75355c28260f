"""The segments section of ``b2bclient demo`` and ``b2bclient report``."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from b2bclient.cli._context import Context, Printer, Progress
from b2bclient.cli._demo import SECTIONS
from b2bclient.cli._demo_churn import churn_section
from b2bclient.cli._demo_segments import MIN_ORGANISATIONS, segments_section
from b2bclient.cli._html import Report
from b2bclient.datasets import make_client_base
from b2bclient.features import build_features

END = pd.Timestamp("2025-01-01")


def _context(n: int, tmp_path: Path, *, truth: bool) -> tuple[Context, io.StringIO]:
    base, planted = make_client_base(n, seed=1, end=END, return_truth=True)
    stream = io.StringIO()
    ctx = Context(
        base=base,
        features=build_features(base, as_of=END),
        as_of=END,
        landmark=planted.landmark,
        out=Printer(stream, Report("test")),
        progress=Progress(1, enabled=False),
        out_dir=tmp_path,
        seed=0,
        truth=planted if truth else None,
    )
    return ctx, stream


@pytest.fixture(scope="module")
def demo(tmp_path_factory: Any) -> tuple[Context, str]:
    pytest.importorskip("matplotlib")
    ctx, stream = _context(400, tmp_path_factory.mktemp("seg"), truth=True)
    segments_section(ctx)
    return ctx, stream.getvalue()


def test_the_section_runs_before_churn() -> None:
    assert SECTIONS.index(segments_section) < SECTIONS.index(churn_section)


def test_profiles_in_the_terminal_and_the_report(demo: tuple[Context, str]) -> None:
    ctx, text = demo
    seg = ctx.results["segmenter"]
    assert "Segments of the client base as of 2025-01-01" in text
    assert f"{seg.n_segments_} segments" in text
    assert "Segment profiles:" in text
    table = seg.profile(ctx.features)
    for label in table["label"]:
        assert label in text
    assert "above the rest:" in text and "below:" in text
    section = ctx.report.sections[-1]
    html = "".join(block.html for block in section.blocks)
    assert section.title.startswith("Segments of the client base")
    assert html.count('<img src="data:image/png;base64,') == 2
    assert str(table["label"].iloc[0]) in html
    assert "Agreement with the planted segments" in html


def test_segments_are_handed_on_to_the_churn_section(demo: tuple[Context, str]) -> None:
    ctx, _ = demo
    segments = ctx.results["segments"]
    assert segments.index.equals(ctx.features.index)
    n = ctx.results["segmenter"].n_segments_
    assert set(segments) == {f"segment {j}" for j in range(n)}


def test_without_truth_nothing_is_compared(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    ctx, stream = _context(300, tmp_path, truth=False)
    segments_section(ctx)
    assert "planted" not in stream.getvalue()
    assert "segments" in ctx.results


def test_a_small_base_is_not_segmented(tmp_path: Path) -> None:
    ctx, stream = _context(MIN_ORGANISATIONS // 2, tmp_path, truth=True)
    segments_section(ctx)
    assert "too few to segment" in stream.getvalue()
    assert "segments" not in ctx.results


def test_features_missing_for_everyone_are_left_out(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    ctx, stream = _context(300, tmp_path, truth=False)
    ctx.features = ctx.features.assign(extra__empty=float("nan"))
    segments_section(ctx)
    assert "Left out, missing for every organisation: extra__empty" in stream.getvalue()
    assert "segments" in ctx.results
