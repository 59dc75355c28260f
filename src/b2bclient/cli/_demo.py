"""``b2bclient demo`` and the analysis it shares with ``b2bclient report``.

The analysis is the list :data:`SECTIONS`, run in order on a :class:`~b2bclient.cli._context.Context`;
see :mod:`b2bclient.cli._context` for how a capability adds its section.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from b2bclient.cli._context import Context, Printer, Progress, SectionFunction, run_sections
from b2bclient.cli._demo_account import account_section
from b2bclient.cli._demo_base import base_section, features_section
from b2bclient.cli._demo_btyd import btyd_section
from b2bclient.cli._demo_churn import churn_section, planted_churn_section
from b2bclient.cli._demo_lifecycle import lifecycle_section
from b2bclient.cli._demo_persist import persist_section
from b2bclient.cli._demo_pipeline import pipeline_section
from b2bclient.cli._demo_recommend import cross_sell_section, partner_section
from b2bclient.cli._demo_segments import segments_section
from b2bclient.cli._html import Report

__all__ = ["DEMO_END", "SECTIONS", "analyse", "run_demo"]

DEMO_END = pd.Timestamp("2025-01-01")  # the synthetic data end just before this time

#: The report, in order. A capability adds its section function here (one line).
SECTIONS: tuple[SectionFunction, ...] = (
    base_section,
    features_section,
    segments_section,
    churn_section,
    planted_churn_section,
    btyd_section,
    pipeline_section,
    cross_sell_section,
    partner_section,
    lifecycle_section,
    account_section,
    persist_section,
)

#: Steps before the sections, for the progress bar: generate, store, read back, features.
_DEMO_STEPS = 4


def analyse(ctx: Context, sections: Sequence[SectionFunction] = SECTIONS) -> list[str]:
    """Run `sections`, then write ``report.html`` and ``features.csv`` into ``ctx.out_dir``.

    Returns the names of the sections that failed (their errors are in the report).
    """
    failed = run_sections(ctx, sections)
    ctx.progress.close()
    from b2bclient import __version__

    page = ctx.report.render(footer=f"b2bclient {__version__}")
    (ctx.out_dir / "report.html").write_text(page, encoding="utf-8")
    ctx.features.to_csv(ctx.out_dir / "features.csv")
    return failed


def summarise(out: Printer, ctx: Context, failed: list[str]) -> None:
    """Print where everything was written: after the files exist, never before."""
    report = ctx.out_dir / "report.html"
    out.write("\n== Summary " + "=" * 64)
    out.write(
        f"report:    {report.resolve()}  ({len(ctx.report.sections)} sections, "
        f"{ctx.report.figures()} figures)"
    )
    out.write(f"features:  {(ctx.out_dir / 'features.csv').resolve()}")
    for name, path in ctx.outputs.items():
        out.write(f"{name + ':':<10} {path.resolve()}")
    if failed:
        out.write(f"failed:    {', '.join(failed)} (the errors are in the report)")
    out.write(
        f"time:      {time.perf_counter() - out.started:.1f} s "
        f"(CPU {time.process_time() - out.cpu_started:.1f} s)"
    )


def run_demo(args: Any, out: Printer, *, progress: bool, out_dir: Path) -> list[str]:
    """Generate the synthetic base into SQLite, read it back, analyse it and write the report.

    The numerical libraries run on one thread: the demo's matrices (a few thousand rows) gain
    nothing from more, and on a machine that is busy with other work their threads wait for each
    other spinning, which doubled the demo's CPU time at 2 000 organisations (docs/benchmarks.md).
    """
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    with threadpool_limits(limits=1):
        return _run_demo(args, out, progress=progress, out_dir=out_dir)


def _run_demo(args: Any, out: Printer, *, progress: bool, out_dir: Path) -> list[str]:
    from b2bclient.base import ClientBase
    from b2bclient.datasets import make_client_base
    from b2bclient.features import build_features

    steps = Progress(_DEMO_STEPS + len(SECTIONS), enabled=progress, desc="demo", printer=out)
    out.report.title = "b2bclient demo report"
    with steps.step("generate"):
        out.section(
            f"Synthetic client base: {args.n_organisations:,} organisations, seed {args.seed}"
        )
        generated, truth = make_client_base(
            n_organisations=args.n_organisations, seed=args.seed, end=DEMO_END, return_truth=True
        )
    database = out_dir / "clients.db"
    url = f"sqlite:///{database}"
    with steps.step("store"):
        database.unlink(missing_ok=True)
        generated.to_sql(url)
    with steps.step("read back"):
        base = ClientBase.read_sql(url)
    out.line(
        f"Stored in the embedded SQLite database {database} and read back through "
        f"ClientBase.read_sql: identical to the generated base: {base.equals(generated)}."
    )
    as_of, landmark = DEMO_END, truth.landmark
    out.line(
        f"The data end before {as_of.date()}. Models are fitted at the landmark "
        f"{landmark.date()}, checked on what happened after it, and score the clients as of "
        f"{as_of.date()}. The generator's planted truth is compared where it helps."
    )
    out.report.subtitle = (
        f"Synthetic client base of {args.n_organisations:,} organisations (seed {args.seed}), "
        f"as of {as_of.date()}"
    )
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
        truth=truth,
    )
    ctx.outputs["database"] = database
    failed = analyse(ctx)
    summarise(out, ctx, failed)
    return failed


def make_report(out_stream: Any) -> Printer:
    """A printer on `out_stream` with an empty report."""
    return Printer(out_stream, Report("b2bclient report"))
