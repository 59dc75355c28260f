"""Custom churn definitions: spells from the user's function, given the tables as known at ``as_of``.

The function is promised the tables cut at ``as_of`` by the rule of
:meth:`b2bclient.ClientBase.as_of`, however the definition is called: through
:func:`~b2bclient.churn.survival_frame` (which cuts the base first) or directly with
``outcomes(base.tables, as_of, landmarks)``. The tables of a client base are cut by
``ClientBase.as_of`` itself; a hand-made mapping holding only some tables is cut table by table
with the same rule (:func:`known_tables`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient._time import to_duration, to_timestamp
from b2bclient._typing import Tables
from b2bclient.base import SCHEMAS, TABLE_NAMES
from b2bclient.churn._definitions import _SPELL_COLUMNS, _SpellLabel

__all__ = ["Custom", "known_tables"]

# Status a row had before its revert column, as ClientBase.as_of restores it.
_REVERTED_STATUS = {"deals": "open", "projects": "active"}
# Tables in an order where every referenced table comes before the tables referring to it.
_CASCADE = (
    "organisations",
    "products",
    "contacts",
    "projects",
    "deals",
    "deal_lines",
    "stages",
    "interactions",
    "contracts",
    "relationships",
)


def _custom_horizon(value: Any) -> pd.Timedelta:
    return to_duration(value, name="horizon", owner="Custom")


def known_tables(tables: Mapping[str, Any], as_of: pd.Timestamp, *, owner: str) -> Tables:
    """Return `tables` as known just before `as_of`, by the rule of ``ClientBase.as_of``.

    Rows timed at or after `as_of` are dropped with the rows hanging from them (lines of a dropped
    deal, stages of a dropped project, anything of a dropped organisation); later state changes
    are reverted (a deal won then is ``open`` with no ``closed_at``, a project closed then is
    ``active``, a stage ended then has no ``ended_at``, a contract cancelled then is not
    cancelled); a reference to a dropped contact, project or parent becomes null.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        Every canonical table of a client base (``base.tables``), or some of them; tables and
        columns that are absent are left absent, and other entries pass through.
    as_of : pandas.Timestamp
        The cut-off.
    owner : str
        Who asks, for error messages.

    Returns
    -------
    dict of str to pandas.DataFrame

    Raises
    ------
    InvalidParameterError
        If a time column of a partial mapping does not hold times.

    Examples
    --------
    >>> deals = pd.DataFrame({"organisation_id": ["A", "A"], "status": ["won", "won"],
    ...     "created_at": pd.to_datetime(["2023-01-01", "2023-02-01"]),
    ...     "closed_at": pd.to_datetime(["2023-01-05", "2023-09-01"])})
    >>> known_tables({"deals": deals}, pd.Timestamp("2023-06-01"), owner="example")["deals"]
      organisation_id status created_at  closed_at
    0               A    won 2023-01-01 2023-01-05
    1               A   open 2023-02-01        NaT
    """
    if all(isinstance(tables.get(name), pd.DataFrame) for name in TABLE_NAMES):
        from b2bclient.base import ClientBase

        # The tables of a client base: cut them exactly as the base would.
        return dict(ClientBase(tables, validate=False).as_of(as_of).tables)
    return _cut_partial(dict(tables), as_of, owner)


def _before(df: pd.DataFrame, column: str, t: pd.Timestamp, table: str, owner: str) -> Any:
    try:
        return (df[column] < t).to_numpy(dtype=bool)
    except TypeError as exc:
        raise InvalidParameterError(
            f"Column {column!r} of the {table!r} table passed to {owner} must hold times "
            f"(datetime64), as in a ClientBase's tables; got {df[column].dtype} values."
        ) from exc


def _cut_partial(tables: dict[str, Any], t: pd.Timestamp, owner: str) -> Tables:
    out: dict[str, Any] = dict(tables)
    dropped: dict[str, pd.Index] = {}
    for name in _CASCADE:
        df = out.get(name)
        if not isinstance(df, pd.DataFrame):
            continue
        schema = SCHEMAS[name]
        keep = np.ones(len(df), dtype=bool)
        if schema.time_column is not None and schema.time_column in df.columns:
            keep &= _before(df, schema.time_column, t, name, owner)
        for column in schema.columns:
            parent = column.references
            if parent is None or column.name not in df.columns or parent not in dropped:
                continue
            gone = df[column.name].isin(dropped[parent]).to_numpy(dtype=bool)
            if column.required:
                keep &= ~gone
            elif gone.any():
                values = df[column.name].astype(object).to_numpy(copy=True)
                values[gone] = None
                df = df.assign(**{column.name: values})
        key = schema.key[0] if len(schema.key) == 1 else None
        if key is not None and key in df.columns:
            dropped[name] = pd.Index(df[key].to_numpy()[~keep])
        df = df.loc[keep].reset_index(drop=True)
        for column_name in schema.revert:
            if column_name not in df.columns:
                continue
            later = ~_before(df, column_name, t, name, owner) & df[column_name].notna().to_numpy()
            if not later.any():
                continue
            times = df[column_name].to_numpy(copy=True)
            times[later] = np.datetime64("NaT")
            df = df.assign(**{column_name: times})
            if name in _REVERTED_STATUS and "status" in df.columns:
                status = df["status"].astype(object).to_numpy(copy=True)
                status[later] = _REVERTED_STATUS[name]
                df = df.assign(status=pd.Series(status).astype(df["status"].dtype))
        out[name] = df
    return out


def _check_spells(frame: Any, as_of: pd.Timestamp, owner: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise InvalidParameterError(
            f"The function of {owner} must return a DataFrame with the columns "
            f"{_SPELL_COLUMNS}. Got {type(frame).__name__} instead."
        )
    missing = [c for c in _SPELL_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidParameterError(
            f"The function of {owner} must return the columns {_SPELL_COLUMNS}; {missing} are "
            f"missing (got {list(frame.columns)[:10]})."
        )
    out = frame[_SPELL_COLUMNS].reset_index(drop=True)
    try:
        start = pd.to_datetime(out["start"]).astype("datetime64[ns]")
        stop = pd.to_datetime(out["stop"]).astype("datetime64[ns]")
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"The 'start' and 'stop' columns returned by {owner} must hold times. {exc}"
        ) from exc
    event = out["event"]
    if event.isna().any() or not event.isin([True, False, 0, 1]).all():
        raise InvalidParameterError(
            f"The 'event' column returned by {owner} must be bool (True = churn at 'stop')."
        )
    problems = []
    if out["organisation_id"].isna().any():
        problems.append("'organisation_id' must not be missing")
    if start.isna().any() or stop.isna().any():
        problems.append("'start' and 'stop' must not be missing (censor open spells at as_of)")
    if (stop > as_of).any():
        problems.append(f"'stop' must be at most as_of ({as_of}); censor later spells at as_of")
    if (start >= stop).any():
        problems.append("'start' must be before 'stop'")
    result = pd.DataFrame(
        {
            "organisation_id": out["organisation_id"].astype(object).to_numpy(),
            "start": start.to_numpy(),
            "stop": stop.to_numpy(),
            "event": event.astype(bool).to_numpy(),
        }
    ).sort_values(["organisation_id", "start"], kind="stable", ignore_index=True)
    same = result["organisation_id"].to_numpy()[1:] == result["organisation_id"].to_numpy()[:-1]
    overlap = same & (result["start"].to_numpy()[1:] < result["stop"].to_numpy()[:-1])
    if overlap.any():
        problems.append("spells of one organisation must not overlap")
    if problems:
        raise InvalidParameterError(
            f"The spells returned by {owner} are invalid: {'; '.join(problems)}."
        )
    return result


@attrs.frozen
class Custom(_SpellLabel):
    """Define churn by a function that returns client spells.

    The function receives the tables as known just before ``as_of`` and ``as_of``, also when
    :meth:`outcomes` or :meth:`spells` is called directly with uncut tables: the tables are cut
    by the rule of :meth:`b2bclient.ClientBase.as_of` first (:func:`known_tables`), so rows at or
    after ``as_of`` are gone and later state changes are reverted. The function returns one row
    per spell with the columns ``organisation_id``, ``start`` (when the organisation became a
    client), ``stop`` (churn date, or ``as_of`` when still a client) and ``event``. Spells of one organisation must not overlap. Date each churn when it
    becomes knowable, so that an organisation at risk at a landmark is decided by data before it.

    Parameters
    ----------
    func : callable
        ``func(tables, as_of) -> DataFrame`` of spells.
    name : str, default="custom"
        Name shown in messages.
    horizon : str or pandas.Timedelta, default="180D"
        Default observation window when used as a label.

    Examples
    --------
    >>> def key_account_loss(tables, as_of):
    ...     d = tables["deals"]
    ...     big = d[(d["status"] == "won") & (d["amount"] >= 1000)]
    ...     first = big.groupby("organisation_id")["closed_at"].min()
    ...     return pd.DataFrame({"organisation_id": first.index, "start": first.to_numpy(),
    ...                          "stop": as_of, "event": False})
    >>> deals = pd.DataFrame({"organisation_id": ["A", "B"], "status": ["won", "won"],
    ...     "amount": [5000.0, 10.0], "closed_at": pd.to_datetime(["2023-01-01", "2023-02-01"])})
    >>> Custom(key_account_loss).outcomes({"deals": deals}, pd.Timestamp("2024-01-01"),
    ...                                   pd.DatetimeIndex(["2023-06-01"]))
      organisation_id   landmark  duration  event
    0               A 2023-06-01     214.0  False
    """

    func: Callable[[Tables, pd.Timestamp], pd.DataFrame] = attrs.field(
        validator=attrs.validators.is_callable()
    )
    name: str = "custom"
    horizon: pd.Timedelta = attrs.field(default="180D", converter=_custom_horizon)

    def spells(self, tables: Tables, as_of: pd.Timestamp) -> pd.DataFrame:
        """Return the checked spells the function gives for the rows before `as_of`.

        Parameters
        ----------
        tables : mapping of str to pandas.DataFrame
            Canonical tables.
        as_of : pandas.Timestamp
            End of the observed data.

        Returns
        -------
        pandas.DataFrame
            Columns ``organisation_id``, ``start``, ``stop`` and ``event``.

        Raises
        ------
        InvalidParameterError
            If the function returns malformed or overlapping spells.

        Examples
        --------
        >>> def open_spell(tables, as_of):
        ...     return pd.DataFrame({"organisation_id": ["A"], "start": ["2023-01-01"],
        ...                          "stop": [as_of], "event": [False]})
        >>> Custom(open_spell).spells({}, pd.Timestamp("2024-01-01"))["start"].dtype
        dtype('<M8[ns]')
        """
        owner = f"Custom({self.name!r})"
        as_of = to_timestamp(as_of, owner=f"{owner}.spells")
        known = known_tables(tables, as_of, owner=owner)
        return _check_spells(self.func(known, as_of), as_of, owner)
