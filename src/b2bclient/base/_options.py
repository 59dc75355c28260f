"""Options of the loaders: date formats, column and value mappings, repairs.

Every loader (``ClientBase(...)``, ``from_frames``, ``read_csv``, ``read_parquet``, ``read_sql``)
takes the same keyword options; :class:`LoadOptions` checks them once and applies them per table.

``columns`` and ``values`` are either flat (applied to every table that has the column) or per
table (keyed by table name)::

    columns={"Organisation ID": "organisation_id"}
    columns={"deals": {"Opportunity ID": "deal_id"}, "contacts": {"Account": "organisation_id"}}
    values={"status": {"Closed Won": "won", "Closed Lost": "lost"}}
    values={"deals": {"status": {"Closed Won": "won"}}}
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient._time import check_date_options
from b2bclient.base._schema import TABLE_NAMES

__all__ = ["REPAIRS", "LoadOptions"]

#: The repairs a loader can be asked for.
REPAIRS = ("known_since_first_activity",)
_ALL = "*"


def _table_keyed(value: Mapping[Any, Any], *, leaf: type | tuple[type, ...]) -> bool:
    """Return whether `value` is keyed by table (its values are mappings of mappings/leaves)."""
    return (
        bool(value)
        and all(isinstance(v, Mapping) for v in value.values())
        and all(isinstance(vv, leaf) for v in value.values() for vv in v.values())
    )


def _unknown_table(name: Any, parameter: str, owner: str) -> InvalidParameterError:
    close = difflib.get_close_matches(str(name), TABLE_NAMES, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return InvalidParameterError(
        f"The {parameter!r} parameter of {owner} is keyed by table, but {name!r} is not a table; "
        f"tables are {', '.join(TABLE_NAMES)}.{hint}"
    )


def _columns(value: Any, owner: str) -> dict[str, dict[str, str]]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidParameterError(
            f"The 'columns' parameter of {owner} must be a mapping such as "
            f"{{'Organisation ID': 'organisation_id'}}. Got {value!r} instead."
        )
    if _table_keyed(value, leaf=str):
        out: dict[str, dict[str, str]] = {}
        for table, mapping in value.items():
            if table not in TABLE_NAMES:
                raise _unknown_table(table, "columns", owner)
            out[table] = dict(mapping)
        return out
    if all(isinstance(v, str) for v in value.values()):
        return {_ALL: dict(value)}
    raise InvalidParameterError(
        f"The 'columns' parameter of {owner} must map column names to names "
        f"({{'Organisation ID': 'organisation_id'}}), or table names to such mappings "
        f"({{'deals': {{'Opportunity ID': 'deal_id'}}}}). Got {value!r} instead."
    )


def _values(value: Any, owner: str) -> dict[str, dict[str, dict[Any, Any]]]:
    if value is None:
        return {}
    problem = InvalidParameterError(
        f"The 'values' parameter of {owner} must map column names to value mappings "
        f"({{'status': {{'Closed Won': 'won'}}}}), or table names to such mappings "
        f"({{'deals': {{'status': {{'Closed Won': 'won'}}}}}}). Got {value!r} instead."
    )
    if not isinstance(value, Mapping):
        raise problem
    if _table_keyed(value, leaf=Mapping):
        out: dict[str, dict[str, dict[Any, Any]]] = {}
        for table, mapping in value.items():
            if table not in TABLE_NAMES:
                raise _unknown_table(table, "values", owner)
            out[table] = {column: dict(m) for column, m in mapping.items()}
        return out
    if all(isinstance(v, Mapping) for v in value.values()):
        return {_ALL: {column: dict(m) for column, m in value.items()}}
    raise problem


def _repair(value: Any, owner: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, Iterable) or not all(isinstance(i, str) for i in items):
        raise InvalidParameterError(
            f"The 'repair' parameter of {owner} must be None, a repair name or a list of them "
            f"({', '.join(map(repr, REPAIRS))}). Got {value!r} instead."
        )
    unknown = [i for i in items if i not in REPAIRS]
    if unknown:
        raise InvalidParameterError(
            f"The 'repair' parameter of {owner} takes {', '.join(map(repr, REPAIRS))}. Got "
            f"{unknown[0]!r} instead."
        )
    return frozenset(items)


@attrs.frozen(kw_only=True)
class LoadOptions:
    """The loaders' keyword options, checked.

    Build one with :meth:`make`, which raises InvalidParameterError for a malformed option.
    """

    date_format: str | dict[str, str] | None = None
    dayfirst: bool | None = None
    columns: dict[str, dict[str, str]] = attrs.field(factory=dict)
    values: dict[str, dict[str, dict[Any, Any]]] = attrs.field(factory=dict)
    repair: frozenset[str] = frozenset()

    @classmethod
    def make(
        cls,
        *,
        date_format: Any = None,
        dayfirst: Any = None,
        columns: Any = None,
        values: Any = None,
        repair: Any = None,
        owner: str = "ClientBase",
    ) -> LoadOptions:
        """Check the options and return them.

        Examples
        --------
        >>> LoadOptions.make(columns={"Organisation ID": "organisation_id"}).columns
        {'*': {'Organisation ID': 'organisation_id'}}
        """
        check_date_options(date_format, dayfirst, owner=owner)
        formats: str | dict[str, str] | None = None
        if isinstance(date_format, Mapping):
            for table, fmt in date_format.items():
                if table not in TABLE_NAMES:
                    raise _unknown_table(table, "date_format", owner)
                if not isinstance(fmt, str):
                    raise InvalidParameterError(
                        f"The 'date_format' parameter of {owner} maps table {table!r} to "
                        f"{fmt!r}; give a format such as '%d.%m.%Y'."
                    )
            formats = dict(date_format)
        else:
            formats = date_format
        return cls(
            date_format=formats,
            dayfirst=None if dayfirst is None else bool(dayfirst),
            columns=_columns(columns, owner),
            values=_values(values, owner),
            repair=_repair(repair, owner),
        )

    def date_format_for(self, table: str) -> str | None:
        """Return the date format of `table`'s time strings that are not ISO 8601."""
        if isinstance(self.date_format, dict):
            return self.date_format.get(table)
        return self.date_format

    def check_columns(self, frames: Mapping[str, Any], owner: str) -> None:
        """Raise InvalidParameterError for a mapped column that no frame holds."""
        present = {
            name: set(map(str, df.columns))
            for name, df in frames.items()
            if isinstance(df, pd.DataFrame) and not isinstance(df.columns, pd.MultiIndex)
        }
        for table, mapping in self.columns.items():
            targets = present if table == _ALL else {table: present.get(table, set())}
            found = set().union(*targets.values()) if targets else set()
            missing = [c for c in mapping if c not in found]
            if missing:
                where = "no table has" if table == _ALL else f"table {table!r} does not have"
                raise InvalidParameterError(
                    f"The 'columns' parameter of {owner} renames {missing[0]!r}, which {where}; "
                    f"found {sorted(found)[:12]}."
                )
        for table, columns in self.values.items():
            targets = present if table == _ALL else {table: present.get(table, set())}
            found = set().union(*targets.values()) if targets else set()
            renamed = {
                self.columns.get(t, {}).get(c, self.columns.get(_ALL, {}).get(c, c))
                for t, cs in targets.items()
                for c in cs
            }
            missing = [c for c in columns if c not in renamed]
            if missing:
                where = "no table has" if table == _ALL else f"table {table!r} does not have"
                raise InvalidParameterError(
                    f"The 'values' parameter of {owner} maps values of column {missing[0]!r}, "
                    f"which {where} (after 'columns' renamed them); found "
                    f"{sorted(renamed)[:12]}."
                )

    def apply(self, table: str, df: pd.DataFrame) -> pd.DataFrame:
        """Return `df` with the columns renamed and values mapped (a shallow copy when changed)."""
        rename = {**self.columns.get(_ALL, {}), **self.columns.get(table, {})}
        rename = {k: v for k, v in rename.items() if k in df.columns}
        if rename:
            df = df.rename(columns=rename)
        mappings = {**self.values.get(_ALL, {}), **self.values.get(table, {})}
        mappings = {c: m for c, m in mappings.items() if c in df.columns}
        if mappings:
            df = df.copy(deep=False)
            for column, mapping in mappings.items():
                df[column] = _map_values(df[column], mapping)
        return df


def _map_values(s: pd.Series, mapping: Mapping[Any, Any]) -> pd.Series:
    """Return `s` with the values in `mapping` replaced (others, and nulls, kept)."""
    codes, uniques = pd.factorize(s.astype(object) if s.dtype != np.dtype(object) else s)
    replaced = np.empty(len(uniques) + 1, dtype=object)
    for k, value in enumerate(uniques):
        try:
            replaced[k] = mapping.get(value, value)
        except TypeError:  # an unhashable value is never a key
            replaced[k] = value
    replaced[-1] = None
    return pd.Series(replaced[np.where(codes >= 0, codes, len(uniques))], index=s.index)
