"""Validation of a partitioned base: every partition alone, then a reduce across partitions.

Each partition is validated like an in-memory base (``coerce_tables``), except that a reference
it cannot resolve locally is only a candidate: it may name a row of another partition. The map
step returns, per partition, the problems found, those candidates and the range of each key. The
reduce then asks every partition (a second map, reading key columns only) which candidates it
holds and which of its keys fall in a range that another partition's keys overlap, and decides:

* a key held by two partitions is a ``duplicate_key``, as in memory;
* a reference found in no partition is a ``foreign_key`` problem, as in memory;
* a relationship between holdings of two partitions is valid, and checked against the created_at
  of its other end (``before_organisation``), as in memory;
* any other reference into another partition breaks the layout (a holding's rows live in its
  partition), reported as check ``partition``.

Only the candidates and the keys of overlapping ranges travel; partitions written by
``to_parquet(partition_by="holding")`` from one base overlap, those of
:func:`~b2bclient.datasets.write_client_base` never do.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from b2bclient.base._layout import PARTITIONED, SHARED, partition_file, read_partition
from b2bclient.base._problems import Problems, RowIds, plural
from b2bclient.base._relations import _SINGULAR, _shown
from b2bclient.base._schema import SCHEMAS
from b2bclient.base._validate import KEY_NAMES, coerce_tables

__all__ = ["check_partition", "reduce_checks", "resolve_in_partition"]

#: Tables whose single key must be unique across partitions.
_UNIQUE = tuple(n for n in PARTITIONED if len(SCHEMAS[n].key) == 1)
# References that may cross partitions: links between holdings.
_CROSSING = {("relationships", "source_id"), ("relationships", "target_id")}

Group = tuple[str, str, str, str, list[Any], list[Any]]


def check_partition(path: Path, partition: int) -> dict[str, Any]:
    """Validate one partition; return its problems, unresolved references and key ranges."""
    frames = read_partition(path, partition)
    problems = Problems()
    validated = coerce_tables(frames, collect=problems)
    tables = validated.tables
    candidates: list[dict[str, Any]] = []
    for name in PARTITIONED:
        schema = SCHEMAS[name]
        df = tables[name]
        if df.empty:
            continue
        for column in schema.columns:
            target = column.references
            if target is None or target in SHARED:
                continue
            values = df[column.name]
            keys = tables[target][SCHEMAS[target].key[0]]
            dangling = (values.notna() & ~values.isin(keys)).to_numpy()
            if not dangling.any():
                continue
            candidate = {
                "table": name,
                "column": column.name,
                "target": target,
                "row_ids": RowIds(schema, df)[dangling],
                "values": values.to_numpy(dtype=object)[dangling],
            }
            if name == "relationships":
                candidate["since"] = df["since"].to_numpy()[dangling]
            candidates.append(candidate)
    local = [
        g
        for g in problems.groups
        if not (g[2] == "foreign_key" and SCHEMAS[g[0]].column(g[1]).references not in SHARED)
    ]
    ranges = {}
    for name in _UNIQUE:
        keys = tables[name][SCHEMAS[name].key[0]].dropna()
        if len(keys):
            ranges[name] = (str(keys.min()), str(keys.max()))
    return {"problems": local, "candidates": candidates, "ranges": ranges}


def overlaps(ranges: Sequence[dict[str, tuple[str, str]]]) -> dict[str, list[tuple[str, str]]]:
    """Return, per table, the merged key intervals that two or more partitions share.

    Examples
    --------
    >>> overlaps([{"deals": ("a", "f")}, {"deals": ("d", "k")}, {"deals": ("m", "p")}])
    {'deals': [('d', 'f')]}
    """
    out: dict[str, list[tuple[str, str]]] = {}
    for name in _UNIQUE:
        spans = sorted(r[name] for r in ranges if name in r)
        shared: list[tuple[str, str]] = []
        reach: str | None = None
        for lo, hi in spans:
            if reach is not None and lo <= reach:
                piece = (lo, min(hi, reach))
                if shared and piece[0] <= shared[-1][1]:
                    shared[-1] = (shared[-1][0], max(shared[-1][1], piece[1]))
                else:
                    shared.append(piece)
            reach = hi if reach is None else max(reach, hi)
        if shared:
            out[name] = shared
    return out


def resolve_in_partition(
    path: Path,
    partition: int,
    wanted: dict[str, np.ndarray],
    intervals: dict[str, list[tuple[str, str]]],
) -> dict[str, Any]:
    """Return which wanted ids one partition holds (with organisations' created_at) and its keys
    that fall in the overlapping intervals. Reads key columns only."""
    found: dict[str, pd.DataFrame] = {}
    keys: dict[str, np.ndarray] = {}
    for name in sorted(set(wanted) | set(intervals)):
        key = SCHEMAS[name].key[0]
        columns = [key, "created_at"] if name == "organisations" else [key]
        df = pd.read_parquet(partition_file(path, name, partition), columns=columns)
        if name in wanted:
            found[name] = df.loc[df[key].isin(wanted[name])].reset_index(drop=True)
        if name in intervals:
            column = df[key].dropna().astype(str)
            inside = np.zeros(len(column), dtype=bool)
            for lo, hi in intervals[name]:
                inside |= ((column >= lo) & (column <= hi)).to_numpy()
            keys[name] = column.to_numpy(dtype=object)[inside]
    return {"found": found, "keys": keys}


def wanted_ids(reports: Sequence[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Return, per referenced table, the distinct ids some partition could not resolve."""
    by_table: dict[str, list[np.ndarray]] = {}
    for report in reports:
        for c in report["candidates"]:
            by_table.setdefault(c["target"], []).append(np.asarray(c["values"], dtype=object))
    return {t: pd.unique(np.concatenate(v)) for t, v in by_table.items()}


def reduce_checks(
    reports: Sequence[dict[str, Any]], resolved: Sequence[dict[str, Any]]
) -> Problems:
    """Return every problem of a partitioned base from the two map steps' results."""
    problems = Problems()
    for report in reports:
        problems.groups.extend(report["problems"])
    for name in _UNIQUE:
        parts = [
            pd.DataFrame({"key": r["keys"][name], "partition": p})
            for p, r in enumerate(resolved)
            if name in r["keys"] and len(r["keys"][name])
        ]
        if not parts:
            continue
        held = pd.concat(parts, ignore_index=True).drop_duplicates()
        dup = held["key"].duplicated(keep=False).to_numpy()
        if dup.any():
            rows = held.loc[dup].sort_values(["key", "partition"])
            problems.add(
                name,
                SCHEMAS[name].key[0],
                "duplicate_key",
                f"{plural(len(rows), 'row')} sharing a key, in different partitions "
                f"(e.g. {rows['key'].iloc[0]!r} in partitions "
                f"{rows.loc[rows['key'] == rows['key'].iloc[0], 'partition'].tolist()})",
                rows["key"].tolist(),
                rows["key"].tolist(),
            )
    _reduce_references(reports, resolved, problems)
    return problems


def _holders(resolved: Sequence[dict[str, Any]]) -> dict[str, pd.DataFrame]:
    """Return, per table, the wanted ids found with the partition holding them (one row each)."""
    out: dict[str, list[pd.DataFrame]] = {}
    for p, r in enumerate(resolved):
        for name, df in r["found"].items():
            if len(df):
                out.setdefault(name, []).append(df.assign(partition=p))
    return {
        name: pd.concat(frames, ignore_index=True)
        .drop_duplicates(SCHEMAS[name].key[0])
        .set_index(SCHEMAS[name].key[0])
        for name, frames in out.items()
    }


def _reduce_references(
    reports: Sequence[dict[str, Any]], resolved: Sequence[dict[str, Any]], problems: Problems
) -> None:
    holders = _holders(resolved)
    unknown: dict[tuple[str, str], list[tuple[Any, Any]]] = {}
    elsewhere: dict[tuple[str, str], list[tuple[Any, Any]]] = {}
    early: list[tuple[str, Any, Any, Any, Any]] = []
    for report in reports:
        for c in report["candidates"]:
            held = holders.get(c["target"])
            index = held.index if held is not None else pd.Index([])
            is_held = np.asarray(pd.Index(c["values"]).isin(index))
            where = (c["table"], c["column"])
            for i in np.flatnonzero(~is_held):
                unknown.setdefault(where, []).append((c["row_ids"][i], c["values"][i]))
            if where not in _CROSSING:
                for i in np.flatnonzero(is_held):
                    elsewhere.setdefault(where, []).append((c["row_ids"][i], c["values"][i]))
                continue
            assert held is not None or not is_held.any()
            for i in np.flatnonzero(is_held):
                assert held is not None
                created = held.at[c["values"][i], "created_at"]
                if pd.notna(created) and c["since"][i] < created:
                    early.append(
                        (c["column"], c["row_ids"][i], c["since"][i], c["values"][i], created)
                    )
    for (table, column), rows in unknown.items():
        target = SCHEMAS[table].column(column).references
        assert target is not None
        what = _SINGULAR.get(target, target)
        values = np.asarray([v for _, v in rows], dtype=object)
        problems.add(
            table,
            column,
            "foreign_key",
            f"{len(rows)} unknown {what}{'s' * (len(rows) != 1)} {_shown(values)}",
            [r for r, _ in rows],
            values,
        )
    for (table, column), rows in elsewhere.items():
        target = SCHEMAS[table].column(column).references
        assert target is not None
        what = _SINGULAR.get(target, target)
        values = np.asarray([v for _, v in rows], dtype=object)
        problems.add(
            table,
            column,
            "partition",
            f"{plural(len(rows), 'row')} referring to {what}s of another partition "
            f"{_shown(values)}; a holding's rows must share its partition: rewrite the base "
            f"with ClientBase.to_parquet(path, partition_by='holding')",
            [r for r, _ in rows],
            values,
        )
    for column in ("source_id", "target_id"):
        rows_early = [e for e in early if e[0] == column]
        if not rows_early:
            continue
        _, _, since, org, created = rows_early[0]
        problems.add(
            "relationships",
            "since",
            "before_organisation",
            f"{plural(len(rows_early), 'row')} dated before the created_at of its "
            f"{column[:-3]} (e.g. {pd.Timestamp(since)} for {org!r}, created "
            f"{pd.Timestamp(created)}, in another partition)",
            [e[1] for e in rows_early],
            [e[2] for e in rows_early],
        )


def raise_problems(problems: Problems) -> None:
    """Raise :class:`InvalidTablesError` for the collected problems, if any."""
    problems.raise_if_any(KEY_NAMES)
