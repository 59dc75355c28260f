"""Checks across rows and tables: keys, foreign keys, time order, status times, cycles."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from b2bclient.base._options import LoadOptions
from b2bclient.base._problems import SHOW, Problems, RowIds, plural
from b2bclient.base._repairs import Repairs
from b2bclient.base._schema import SCHEMAS, STAGES, TABLE_NAMES

__all__ = ["KeyIndexes", "check_relations", "reference_positions"]

_SINGULAR = {
    "organisations": "organisation",
    "contacts": "contact",
    "products": "product",
    "deals": "deal",
    "projects": "project",
}
# (end column, start column) pairs whose end may not come before the start.
_ORDER = {
    "deals": (("closed_at", "created_at"),),
    "projects": (("closed_at", "created_at"),),
    "stages": (("ended_at", "started_at"),),
    "contracts": (("ends_at", "started_at"), ("cancelled_at", "started_at")),
}


class KeyIndexes:
    """The key of each single-key table as a pandas Index, built once and shared by every check."""

    def __init__(self, tables: Mapping[str, pd.DataFrame]) -> None:
        self._tables = tables
        self.built: dict[str, pd.Index] = {}

    def __getitem__(self, table: str) -> pd.Index:
        index = self.built.get(table)
        if index is None:
            index = pd.Index(self._tables[table][SCHEMAS[table].key[0]])
            self.built[table] = index
        return index


def reference_positions(index: pd.Index, values: pd.Series) -> np.ndarray:
    """Return the position in `index` (unique keys) of each value; -1 for null or unknown.

    A null value is -1 even when the index holds a null key: a missing reference never points at
    a row whose own key is missing.
    """
    pos: np.ndarray = index.get_indexer(values).astype(np.int64, copy=False)
    if index.hasnans:
        pos[values.isna().to_numpy()] = -1
    return pos


def _shown(values: np.ndarray) -> str:
    """Return the first distinct values as a list for a message, with a count of the others."""
    distinct = list(dict.fromkeys(values.tolist()))
    more = f" and {len(distinct) - SHOW} more" if len(distinct) > SHOW else ""
    return f"{distinct[:SHOW]}{more}"


def check_relations(
    tables: dict[str, pd.DataFrame],
    row_ids: dict[str, RowIds],
    complete: dict[str, bool],
    problems: Problems,
    positions: dict[tuple[str, str], np.ndarray],
    indexes: KeyIndexes,
    repairs: Repairs,
    options: LoadOptions,
) -> None:
    """Check keys, references and orders across rows and tables; apply the requested repairs."""
    for name in TABLE_NAMES:
        schema = SCHEMAS[name]
        df = tables[name]
        if not complete[name] or df.empty:
            continue
        ids = row_ids[name]
        # duplicate keys
        if len(schema.key) == 1 and indexes[name].is_unique:
            dup = np.zeros(len(df), dtype=bool)
        else:
            dup = df.duplicated(subset=list(schema.key), keep=False).to_numpy()
            dup &= df[list(schema.key)].notna().all(axis=1).to_numpy()
        if dup.any():
            problems.add(
                name,
                "/".join(schema.key),
                "duplicate_key",
                plural(int(dup.sum()), "row") + " sharing a key",
                ids[dup],
            )
        # foreign keys
        for column in schema.columns:
            if column.references is None:
                continue
            if not complete[column.references]:
                continue
            index = indexes[column.references]
            values = df[column.name]
            if index.is_unique:
                # Positions of the referenced rows: -1 for a null or an unknown reference. Kept
                # by the ClientBase so that as_of and the extractors never hash the ids again.
                pos = reference_positions(index, values)
                positions[(name, column.name)] = pos
                dangling = (pos < 0) & values.notna().to_numpy()
            else:
                dangling = values.notna().to_numpy() & ~values.isin(index).to_numpy()
            if dangling.any():
                what = _SINGULAR.get(column.references, column.references)
                hint = f" (the {column.references} table is empty)" if len(index) == 0 else ""
                bad_values = values.to_numpy()[dangling]
                count = int(dangling.sum())
                problems.add(
                    name,
                    column.name,
                    "foreign_key",
                    f"{count} unknown {what}{'s' * (count != 1)} {_shown(bad_values)}{hint}",
                    ids[dangling],
                    bad_values,
                )
        # ends before starts
        for end, start in _ORDER.get(name, ()):
            bad = (df[end] < df[start]).to_numpy()
            if bad.any():
                problems.add(
                    name,
                    end,
                    "order",
                    f"{plural(int(bad.sum()), 'value')} before {start}",
                    ids[bad],
                    df[end].to_numpy()[bad],
                )
    _check_status_times(tables, row_ids, complete, problems)
    if "known_since_first_activity" in options.repair:
        _known_since_first_activity(tables, positions, repairs)
    _check_known_before_activity(tables, row_ids, problems, positions)
    _check_contact_owners(tables, row_ids, problems, positions)
    _check_parent_cycles(tables, row_ids, complete, problems, positions)
    _check_stage_order(tables, row_ids, complete, problems)
    rel = tables["relationships"]
    if complete["relationships"] and not rel.empty:
        self_link = (rel["source_id"] == rel["target_id"]).to_numpy()
        if self_link.any():
            problems.add(
                "relationships",
                "target_id",
                "self_reference",
                plural(int(self_link.sum()), "link") + " from an organisation to itself",
                row_ids["relationships"][self_link],
            )


def _check_status_times(
    tables: dict[str, pd.DataFrame],
    row_ids: dict[str, RowIds],
    complete: dict[str, bool],
    problems: Problems,
) -> None:
    """A closed deal or project needs its closing time, so ``as_of`` can revert it; an open one has none."""
    for name, open_value in (("deals", "open"), ("projects", "active")):
        df = tables[name]
        if not complete[name] or df.empty:
            continue
        is_open = (df["status"] == open_value).to_numpy()
        status_known = df["status"].notna().to_numpy()
        has_close = df["closed_at"].notna().to_numpy()
        missing = status_known & ~is_open & ~has_close
        if missing.any():
            problems.add(
                name,
                "closed_at",
                "closed_at_missing",
                f"{plural(int(missing.sum()), 'null')} where status is not {open_value!r}; a closed row needs the time it closed",
                row_ids[name][missing],
            )
        stray = is_open & has_close
        if stray.any():
            problems.add(
                name,
                "closed_at",
                "closed_at_on_open",
                f"{plural(int(stray.sum()), 'value')} on rows whose status is {open_value!r}",
                row_ids[name][stray],
            )


# Rows that hang from an organisation, with the time from which they are known.
_DATED_BY_ORGANISATION = (
    ("contacts", "organisation_id", "created_at"),
    ("projects", "organisation_id", "created_at"),
    ("deals", "organisation_id", "created_at"),
    ("interactions", "organisation_id", "occurred_at"),
    ("contracts", "organisation_id", "started_at"),
    ("relationships", "source_id", "since"),
    ("relationships", "target_id", "since"),
)


def _dated_rows(
    tables: dict[str, pd.DataFrame], positions: dict[tuple[str, str], np.ndarray]
) -> list[tuple[str, str, str, np.ndarray, np.ndarray]]:
    """Return (table, reference, time column, organisation row, time in ns) of dated rows."""
    out = []
    for table, reference, column in _DATED_BY_ORGANISATION:
        pos = positions.get((table, reference))
        if pos is None:
            continue  # keys that are not unique, reported already
        times = tables[table][column].to_numpy().view(np.int64)
        has = (pos >= 0) & (times != _NAT)
        out.append((table, reference, column, np.where(has, pos, -1), times))
    return out


_NAT = np.iinfo(np.int64).min


def _known_since_first_activity(
    tables: dict[str, pd.DataFrame],
    positions: dict[tuple[str, str], np.ndarray],
    repairs: Repairs,
) -> None:
    """Move each organisation's created_at back to its earliest dated row, and report it."""
    orgs = tables["organisations"]
    created = orgs["created_at"].to_numpy().view(np.int64)
    earliest = np.where(created == _NAT, np.iinfo(np.int64).max, created)
    for _, _, _, pos, times in _dated_rows(tables, positions):
        has = pos >= 0
        np.minimum.at(earliest, pos[has], times[has])
    moved = (created != _NAT) & (earliest < created)
    if not moved.any():
        return
    new = np.where(moved, earliest, created).view("datetime64[ns]")
    tables["organisations"] = orgs.assign(created_at=new)
    ids = orgs["organisation_id"].to_numpy(dtype=object)[moved]
    before = orgs["created_at"].to_numpy()[moved]
    after = new[moved]
    n = int(moved.sum())
    repairs.add(
        "organisations",
        "created_at",
        "known_since_first_activity",
        f"{plural(n, 'organisation')} known since {'its' if n == 1 else 'their'} first activity: "
        f"created_at moved back to the earliest row of the organisation (e.g. {ids[0]!r} from "
        f"{pd.Timestamp(before[0])} to {pd.Timestamp(after[0])})",
        [
            (i, pd.Timestamp(b), pd.Timestamp(a), 1)
            for i, b, a in zip(ids, before, after, strict=True)
        ],
    )


def _check_known_before_activity(
    tables: dict[str, pd.DataFrame],
    row_ids: dict[str, RowIds],
    problems: Problems,
    positions: dict[tuple[str, str], np.ndarray],
) -> None:
    """A row dated before its organisation's created_at would be seen by as_of without it."""
    created = tables["organisations"]["created_at"].to_numpy().view(np.int64)
    org_ids = tables["organisations"]["organisation_id"].to_numpy(dtype=object)
    for table, reference, column, pos, times in _dated_rows(tables, positions):
        has = pos >= 0
        if not has.any():  # no row names a known owner (none is known: organisations is empty)
            continue
        org_created = np.where(has, created[np.maximum(pos, 0)], _NAT)
        bad = has & (org_created != _NAT) & (times < org_created)
        if not bad.any():
            continue
        first = int(np.flatnonzero(bad)[0])
        whose = "its organisation" if reference == "organisation_id" else f"its {reference[:-3]}"
        problems.add(
            table,
            column,
            "before_organisation",
            f"{plural(int(bad.sum()), 'row')} dated before the created_at of {whose} (e.g. "
            f"{pd.Timestamp(times[first])} for {org_ids[pos[first]]!r}, created "
            f"{pd.Timestamp(created[pos[first]])}); pass repair='known_since_first_activity' to "
            f"move created_at back to the first activity",
            row_ids[table][bad],
            tables[table][column].to_numpy()[bad],
        )


def _check_contact_owners(
    tables: dict[str, pd.DataFrame],
    row_ids: dict[str, RowIds],
    problems: Problems,
    positions: dict[tuple[str, str], np.ndarray],
) -> None:
    """An interaction's contact must be a contact of the interaction's own organisation."""
    contact = positions.get(("interactions", "contact_id"))
    org = positions.get(("interactions", "organisation_id"))
    owner = positions.get(("contacts", "organisation_id"))
    if contact is None or org is None or owner is None:
        return  # a key or reference problem is already reported
    has = (contact >= 0) & (org >= 0)
    contact_org = np.where(has, owner[np.maximum(contact, 0)], -1)
    bad = has & (contact_org >= 0) & (contact_org != org)
    if not bad.any():
        return
    org_ids = tables["organisations"]["organisation_id"].to_numpy(dtype=object)
    first = int(np.flatnonzero(bad)[0])
    contacts = tables["interactions"]["contact_id"].to_numpy(dtype=object)[bad]
    problems.add(
        "interactions",
        "contact_id",
        "contact_organisation",
        f"{plural(int(bad.sum()), 'contact')} of another organisation, e.g. contact "
        f"{contacts[0]!r} of {org_ids[contact_org[first]]!r} on an interaction of "
        f"{org_ids[org[first]]!r}",
        row_ids["interactions"][bad],
        contacts,
    )


def _check_parent_cycles(
    tables: dict[str, pd.DataFrame],
    row_ids: dict[str, RowIds],
    complete: dict[str, bool],
    problems: Problems,
    positions: dict[tuple[str, str], np.ndarray],
) -> None:
    orgs = tables["organisations"]
    parent = positions.get(("organisations", "parent_id"))  # absent when keys are not unique
    if parent is None or not complete["organisations"] or not (parent >= 0).any():
        return
    n = len(parent)
    jump = parent.copy()
    for _ in range(int(np.ceil(np.log2(max(n, 2)))) + 1):
        has = jump >= 0
        nxt = jump.copy()
        nxt[has] = jump[jump[has]]
        jump = nxt
    # after more than n steps a chain that has not reached a root is in, or hangs below, a cycle
    bad = jump >= 0
    if bad.any():
        problems.add(
            "organisations",
            "parent_id",
            "cycle",
            f"{plural(int(bad.sum()), 'organisation')} in or below a parent_id cycle",
            row_ids["organisations"][bad],
            orgs["parent_id"].to_numpy()[bad],
        )


def _check_stage_order(
    tables: dict[str, pd.DataFrame],
    row_ids: dict[str, RowIds],
    complete: dict[str, bool],
    problems: Problems,
) -> None:
    stages = tables["stages"]
    if not complete["stages"] or stages.empty:
        return
    rank = stages["stage"].cat.codes.to_numpy()
    order = np.lexsort((rank, stages["project_id"].astype(object).fillna("").to_numpy()))
    ordered = stages.iloc[order]
    starts = ordered["started_at"]
    previous_max = starts.groupby(ordered["project_id"].to_numpy(), sort=False).cummax()
    previous_max = previous_max.groupby(ordered["project_id"].to_numpy(), sort=False).shift(1)
    bad_sorted = (starts < previous_max).to_numpy()
    if bad_sorted.any():
        bad = np.zeros(len(stages), dtype=bool)
        bad[order[bad_sorted]] = True
        problems.add(
            "stages",
            "started_at",
            "stage_order",
            f"{plural(int(bad.sum()), 'stage')} starting before an earlier stage ({' < '.join(STAGES)})",
            row_ids["stages"][bad],
            stages["started_at"].to_numpy()[bad],
        )
