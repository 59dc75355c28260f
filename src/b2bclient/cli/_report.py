"""``b2bclient report`` (the demo's analysis on the user's data) and ``b2bclient validate``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient.cli._context import Context, Printer, Progress
from b2bclient.cli._demo import SECTIONS, analyse, summarise
from b2bclient.cli._source import read_source

__all__ = ["landmark_of", "run_report", "run_validate"]

_HISTORY = pd.Timedelta(days=365)


def landmark_of(as_of: pd.Timestamp, landmark: str | None) -> pd.Timestamp:
    """The landmark: `landmark` when given, else a year before `as_of`; always before `as_of`."""
    from b2bclient._time import to_timestamp

    if landmark is None:
        if as_of < pd.Timestamp.min + _HISTORY:
            raise InvalidParameterError(
                f"The --as-of {as_of.date()} leaves no year before it in the range of "
                f"datetime64[ns] (from {pd.Timestamp.min.date()}) for the default --landmark; "
                "pass a later --as-of or a --landmark."
            )
        return as_of - _HISTORY
    at = to_timestamp(landmark, name="landmark", owner="b2bclient report")
    if at >= as_of:
        raise InvalidParameterError(
            f"The --landmark {at.date()} must be before --as-of {as_of.date()}: models are "
            "fitted at the landmark on what happened between the two."
        )
    return at


def run_report(args: Any, out: Printer, *, progress: bool, out_dir: Path) -> list[str]:
    """Read the user's base, analyse it as of ``args.as_of`` and write the report."""
    from b2bclient._time import to_timestamp
    from b2bclient.features import build_features

    as_of = to_timestamp(args.as_of, name="as_of", owner="b2bclient report")
    landmark = landmark_of(as_of, args.landmark)
    steps = Progress(2 + len(SECTIONS), enabled=progress, desc="report", printer=out)
    with steps.step("read"):
        base = read_source(args.source)
    out.report.title = "b2bclient report"
    out.report.subtitle = f"{len(base):,} organisations, as of {as_of.date()}"
    out.write(f"read {base!r} from {args.source}")
    with steps.step("features"):
        X = build_features(base, as_of=as_of)
    ctx = Context(
        base=base,
        features=X,
        as_of=as_of,
        landmark=landmark,
        out=out,
        progress=steps,
        out_dir=out_dir,
        seed=args.seed,
    )
    failed = analyse(ctx)
    summarise(out, ctx, failed)
    return failed


def run_validate(args: Any, out: Printer) -> None:
    """Read and validate ``args.source``; print its tables (raises on invalid data)."""
    base = read_source(args.source)
    out.frame(base.summary()[["rows", "columns", "first", "last"]], floatfmt="{:,.0f}")
    out.write(f"\nvalid: {args.source} holds a client base of {len(base):,} organisations")
