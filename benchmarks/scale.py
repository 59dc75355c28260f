"""Run the whole pipeline on a large synthetic base: time and peak memory per stage.

The stages, in order, on ``make_client_base(100_000, seed=0)`` (``-n`` to change):

* **generate**: ``make_client_base`` with its planted truth (the base is validated as it is built);
* **validate**: ``ClientBase.from_frames`` on every generated table again (every loading rule);
* **parquet**: ``to_parquet`` and ``read_parquet`` back, checked equal to the generated base;
* **features**: ``build_features`` as of the report date;
* every section of ``b2bclient report`` in its order (segments, churn, buy-till-you-die, pipeline
  with ``WinModel``, ``forecast`` and ``WalletModel``, cross-sell, partners, lifecycle, the
  account view with ``Models.fit`` and the portraits of every organisation, saving the models),
  each its own stage, run exactly as the command runs it;
* **report**: the HTML report and ``features.csv`` written.

For every stage: wall seconds, CPU seconds of the process (all threads) and of finished child
processes, and the peak resident memory during the stage. The peak is per stage: the kernel's
high-water mark (``VmHWM``) is reset through ``/proc/self/clear_refs`` before each stage and read
after it (Linux); elsewhere the column is the process's peak so far. The run fails if a stage's
peak exceeds ``--limit-gib`` (8 GiB) or a section fails.

Run ``python benchmarks/scale.py`` (``-n 2000`` for a smoke run); it prints a Markdown table and
the machine's load average before and after. ``--skip validate parquet segments`` leaves out
stages or report sections already measured (the later sections then run without their results).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark of this process; False where that is not possible."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def _peak_mib() -> float:
    """The peak resident memory in MiB: since the last reset on Linux, of the process elsewhere."""
    if _STATUS.exists():
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024**2 if sys.platform == "darwin" else peak / 1024


def _cpu() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


class Stages:
    """Collect one row per stage: wall, CPU, children's CPU and peak memory."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.per_stage = _reset_peak()

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        _reset_peak()
        wall, (cpu, kids) = time.perf_counter(), _cpu()
        yield
        cpu2, kids2 = _cpu()
        row = {
            "stage": name,
            "wall s": time.perf_counter() - wall,
            "CPU s": cpu2 - cpu,
            "children CPU s": kids2 - kids,
            "peak MiB": _peak_mib(),
            "load": os.getloadavg()[0],
        }
        self.rows.append(row)
        print(
            f"{name:<26} {row['wall s']:8.1f} s wall {row['CPU s']:8.1f} s CPU "
            f"{row['peak MiB']:8.0f} MiB  load {row['load']:.1f}",
            flush=True,
        )


def run(
    n: int, seed: int, out_dir: Path, skip: frozenset[str] = frozenset()
) -> tuple[pd.DataFrame, list[str]]:
    """Run every stage on `n` organisations but those in `skip`; return the table and failures.

    `skip` names stages (``validate``, ``parquet``) or report sections (``segments``) measured
    by an earlier run; the sections after a skipped one then run without its results.
    """
    from b2bclient.base import ClientBase
    from b2bclient.cli._context import Context, Printer, Progress, run_sections
    from b2bclient.cli._demo import DEMO_END, SECTIONS
    from b2bclient.cli._html import Report
    from b2bclient.datasets import make_client_base
    from b2bclient.features import build_features

    stages = Stages()
    with stages.stage("generate"):
        generated, truth = make_client_base(n, seed=seed, end=DEMO_END, return_truth=True)
    rows = sum(len(t) for t in generated.tables.values())
    print(f"{n:,} organisations, {rows:,} rows in {len(generated.tables)} tables", flush=True)
    if "validate" not in skip:
        with stages.stage("validate"):
            validated = ClientBase.from_frames(**generated.tables)
        assert validated.equals(generated)
        del validated
    if "parquet" in skip:
        base = generated
    else:
        with stages.stage("parquet write + read"):
            generated.to_parquet(out_dir / "base")
            base = ClientBase.read_parquet(out_dir / "base")
        assert base.equals(generated)
    del generated
    as_of, landmark = DEMO_END, truth.landmark
    with stages.stage("build_features"):
        X = build_features(base, as_of=as_of)
    printer = Printer(open(os.devnull, "w"), Report("b2bclient report"))  # noqa: SIM115
    ctx = Context(
        base=base,
        features=X,
        as_of=as_of,
        landmark=landmark,
        out=printer,
        progress=Progress(len(SECTIONS), enabled=False, desc="report", printer=printer),
        out_dir=out_dir,
        seed=seed,
    )
    failed: list[str] = []
    for section in SECTIONS:
        name = section.__name__.removesuffix("_section").replace("_", " ")
        if name in skip:
            continue
        with stages.stage(f"section {name}"):
            failed += run_sections(ctx, [section])
    with stages.stage("write report"):
        from b2bclient import __version__

        page = ctx.report.render(footer=f"b2bclient {__version__}")
        (out_dir / "report.html").write_text(page, encoding="utf-8")
        X.to_csv(out_dir / "features.csv")
    table = pd.DataFrame(stages.rows).set_index("stage")
    if not stages.per_stage:
        print("peak memory is the process's peak so far (no per-stage reset here)")
    return table, failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--n-organisations", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit-gib", type=float, default=8.0)
    parser.add_argument("--out", type=Path, default=None, help="keep the outputs here")
    parser.add_argument(
        "--skip",
        nargs="+",
        default=[],
        help="stages (validate, parquet) or report sections (segments) measured by an earlier run",
    )
    args = parser.parse_args()
    print(f"{platform.platform()}, {os.cpu_count()} CPUs, load {os.getloadavg()}", flush=True)
    with contextlib.ExitStack() as stack:
        out = args.out or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        out.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        table, failed = run(args.n_organisations, args.seed, out, frozenset(args.skip))
    total = table[["wall s", "CPU s", "children CPU s"]].sum()
    print(f"\nload after {os.getloadavg()}; total {time.perf_counter() - started:.0f} s wall")
    shown = table.assign(**{"peak GiB": table["peak MiB"] / 1024}).drop(columns="peak MiB")
    shown.loc["total"] = [*total, float("nan"), table["peak MiB"].max() / 1024]
    print(shown.to_markdown(floatfmt=".1f"))
    over = table.index[table["peak MiB"] > args.limit_gib * 1024].tolist()
    if over:
        print(f"stages above {args.limit_gib} GiB: {over}")
    if failed:
        print(f"failed sections: {failed}")
    return 1 if over or failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
