"""Time ``b2bclient demo`` over sizes and seeds: wall and CPU seconds, exit status, failed sections.

Each run is a fresh process, ``python -m b2bclient demo -n N --seed S --out <tmp> --no-progress``,
timed from outside: wall seconds, and the CPU seconds (user + system) of the child from
``resource.getrusage``. The machine's load average is recorded beside each run, since on a
shared machine the wall time follows the load and the CPU time does not. The section times the
demo prints (``[wall, cpu]`` in each header) are summed per section at the largest size.

Run::

    PYTHONPATH=src python benchmarks/demo.py                       # 50, 150, 300, 2 000 x seeds 0-2
    PYTHONPATH=src python benchmarks/demo.py --sizes 2000 --seeds 1  # the make demo run alone
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_HEADER = re.compile(r"^== (.*?) =+ \[ *([\d.]+) s, cpu +([\d.]+) s\]$", re.MULTILINE)


def run(n: int, seed: int) -> dict[str, Any]:
    """Run the demo once in a new process; return its figures."""
    env = dict(os.environ)
    src = str(Path(__file__).parents[1] / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        argv = ["demo", "-n", str(n), "--seed", str(seed), "--out", out, "--no-progress"]
        done = subprocess.run(
            [sys.executable, "-m", "b2bclient", *argv],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    failed = [
        line.split(":", 1)[1].strip()
        for line in done.stdout.splitlines()
        if line.startswith("failed:")
    ]
    return {
        "n": n,
        "seed": seed,
        "exit": done.returncode,
        "failed sections": failed[0] if failed else "",
        "wall_s": wall,
        "cpu_s": cpu,
        "load": load,
        "stdout": done.stdout,
        "stderr": done.stderr[-2000:],
    }


def sections(stdout: str) -> list[tuple[str, float, float]]:
    """Per section, the wall and CPU seconds from its header to the next one (or the summary)."""
    marks = [(m.group(1), float(m.group(2)), float(m.group(3))) for m in _HEADER.finditer(stdout)]
    total = re.search(r"^time: +([\d.]+) s \(CPU ([\d.]+) s\)$", stdout, re.MULTILINE)
    if total:
        marks.append(("end", float(total.group(1)), float(total.group(2))))
    return [
        (name, nxt[1] - wall, nxt[2] - cpu) for (name, wall, cpu), nxt in itertools.pairwise(marks)
    ]


def main() -> None:
    """Run the sweep and print Markdown tables with the machine they ran on."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 150, 300, 2_000])
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0 to this minus one")
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        for seed in range(args.seeds):
            row = run(n, seed)
            rows.append(row)
            print(
                f"n={n:>5} seed={seed} exit={row['exit']} wall={row['wall_s']:6.1f} s "
                f"cpu={row['cpu_s']:6.1f} s load={row['load']:.1f} {row['failed sections']}",
                flush=True,
            )
            if row["exit"] not in (0, 3):
                print(row["stderr"], file=sys.stderr)
    print(
        f"\nMachine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}\n"
    )
    print("| n | seed | exit | failed sections | wall s | CPU s | load (1 min) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['n']:,} | {r['seed']} | {r['exit']} | {r['failed sections'] or '-'} | "
            f"{r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['load']:.1f} |"
        )
    largest = [r for r in rows if r["n"] == max(args.sizes)]
    per: dict[str, list[tuple[float, float]]] = {}
    for r in largest:
        for name, wall, cpu in sections(r["stdout"]):
            per.setdefault(re.sub(r", seed \d+$", "", name), []).append((wall, cpu))
    print(f"\nPer section at {max(args.sizes):,} organisations (mean over {len(largest)} seeds):\n")
    print("| section | wall s | CPU s |")
    print("|---|---|---|")
    for name, values in per.items():
        wall = sum(v[0] for v in values) / len(values)
        cpu = sum(v[1] for v in values) / len(values)
        print(f"| {name} | {wall:.1f} | {cpu:.1f} |")


if __name__ == "__main__":
    main()
