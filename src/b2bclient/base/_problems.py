"""Collecting validation problems and naming the rows they point at (STYLE.md rule 7)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidTablesError
from b2bclient.base._schema import TableSchema

__all__ = ["PROBLEM_COLUMNS", "SHOW", "Problems", "RowIds", "plural"]

SHOW = 5  # ids named in a message line
PROBLEM_COLUMNS = ["table", "column", "check", "row_id", "value"]


class Problems:
    """Collects problems; each group is (table, column, check, description, row ids, values)."""

    def __init__(self) -> None:
        self.groups: list[tuple[str, str, str, str, list[Any], list[Any]]] = []

    def add(
        self,
        table: str,
        column: str,
        check: str,
        description: str,
        row_ids: Any = (),
        values: Any = (),
    ) -> None:
        ids = list(row_ids)
        vals = list(values) if len(values) else [None] * len(ids)
        self.groups.append((table, column, check, description, ids, vals))

    def raise_if_any(self, key_names: Mapping[str, str]) -> None:
        if not self.groups:
            return
        records = [
            (t, c, chk, rid, v)
            for t, c, chk, _, ids, vals in self.groups
            for rid, v in (zip(ids, vals, strict=True) if ids else [(None, None)])
        ]
        problems = pd.DataFrame.from_records(records, columns=PROBLEM_COLUMNS)
        tables = list(dict.fromkeys(g[0] for g in self.groups))
        n = len(problems)
        head = (
            f"{n} problem{'s' * (n != 1)} in {tables[0]!r}"
            if len(tables) == 1
            else f"{n} problems in {len(tables)} tables ({', '.join(map(repr, tables))})"
        )
        lines = [head]
        for table in tables:
            if len(tables) > 1:
                lines.append(f" {table}:")
            for t, column, _, description, ids, _vals in self.groups:
                if t != table:
                    continue
                where = ""
                if ids:
                    shown = [str(i) for i in ids[:SHOW]]
                    more = f" and {len(ids) - SHOW} more" if len(ids) > SHOW else ""
                    where = f" at {key_names.get(table, 'row')} {shown}{more}"
                lines.append(f"  {column}: {description}{where}")
        raise InvalidTablesError("\n".join(lines), problems)


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


class RowIds:
    """Printable ids of a table's rows, computed only for the rows a problem points at.

    A row is named by its key (joined with '/' for composite keys), or by its position when the
    key is missing.
    """

    def __init__(self, schema: TableSchema, df: pd.DataFrame) -> None:
        key = [k for k in schema.key if k in df.columns]
        self._parts = (
            [df[k].to_numpy(dtype=object) for k in key] if len(key) == len(schema.key) else []
        )
        self._n = len(df)

    def __getitem__(self, mask: np.ndarray) -> list[Any]:
        positions = np.flatnonzero(mask)
        if not self._parts:
            return [f"row {i}" for i in positions]
        out = []
        for i in positions:
            texts = [_key_text(part[i]) for part in self._parts]
            if any(t is None for t in texts):
                out.append(f"row {i}")
            else:
                out.append("/".join(map(str, texts)))
        return out


def _key_text(value: Any) -> str | None:
    """Return a key value as the id it loads as, or None when it names no row (null, invalid)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)) or value is None:
        return None
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        # a float names a row only as the whole number it is read as; 1e20 is no one's id
        if np.isfinite(value) and float(value).is_integer() and abs(value) < 2**53:
            return str(int(value))
        return None
    return None if pd.api.types.is_scalar(value) and pd.isna(value) else str(value)
