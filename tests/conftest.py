"""Shared fixtures: a small hand-made client base that exercises every table."""

from __future__ import annotations

import pandas as pd
import pytest

from sample_frames import frames


@pytest.fixture
def raw_frames() -> dict[str, pd.DataFrame]:
    """Fresh raw frames, safe to modify in a test."""
    return frames()


@pytest.fixture
def small_base():  # type: ignore[no-untyped-def]
    """A validated ClientBase built from :func:`frames`."""
    from b2bclient import ClientBase

    return ClientBase.from_frames(**frames())
