"""The :class:`ClientBase`: ten validated canonical tables with point-in-time views."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from b2bclient._exceptions import B2BClientWarning, InvalidParameterError
from b2bclient._time import to_timestamp
from b2bclient.base._access import TableAccess
from b2bclient.base._frozen import freeze
from b2bclient.base._options import LoadOptions
from b2bclient.base._readers import ReadWrite
from b2bclient.base._repairs import empty_repairs
from b2bclient.base._schema import SCHEMAS, TABLE_NAMES
from b2bclient.base._validate import coerce_tables
from b2bclient.model._records import Record

__all__ = ["ClientBase"]


class ClientBase(TableAccess, ReadWrite):
    """A validated set of the ten canonical tables of a B2B client base.

    Build one with :meth:`from_frames`, :meth:`from_records` or a reader (:meth:`read_parquet`,
    :meth:`read_csv`, :meth:`read_sql`). Tables are available as attributes (``base.deals``) and
    through :attr:`tables`. They are read-only: each access hands out a new frame over the base's
    data, whose arrays cannot be written (``base.deals.loc[0, "amount"] = -1`` raises
    ``ValueError: assignment destination is read-only``); take ``base.deals.copy()`` to edit.

    Every loader takes the same keyword options (see ``docs/index.md``, "Loading rules").

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        Tables by canonical name; only ``organisations`` is required.
    validate : bool, default True
        Coerce and validate the tables. Pass False only for tables that already passed through a
        ClientBase unchanged.
    known_before : str or pandas.Timestamp, optional
        The time the tables were cut at (set by :meth:`as_of`).
    date_format : str or mapping of str to str, optional
        ``strftime`` format of time strings that are not ISO 8601 (ISO 8601 always parses), for
        every table or per table (``{"deals": "%d.%m.%Y %H:%M"}``).
    dayfirst : bool, optional
        Read numeric dates whose day and month could be swapped (``01.02.2023``) day-first
        (True) or month-first (False). By default such dates are refused, naming table, column
        and examples.
    columns : mapping, optional
        Columns to rename before validation: ``{"Organisation ID": "organisation_id"}`` for every
        table that has the column, or per table: ``{"deals": {"Opportunity": "deal_id"}}``.
    values : mapping, optional
        Values to replace before validation: ``{"status": {"Closed Won": "won"}}`` for every table
        with a ``status`` column, or per table: ``{"deals": {"status": {...}}}``.
    repair : str or list of str, optional
        Repairs to apply instead of refusing the data: ``"known_since_first_activity"`` moves an
        organisation's ``created_at`` back to its earliest row when rows are dated before it.
        Every repair is reported.

    Raises
    ------
    InvalidTablesError
        Listing every problem found in the tables.
    InvalidParameterError
        For a malformed option, or a mapping that names a column no table has.

    Warns
    -----
    B2BClientWarning
        When loading changed values on purpose (ids read as text, empty strings read as null,
        enum values matched ignoring case and spacing, repairs); :attr:`repairs` lists them.

    Examples
    --------
    >>> import pandas as pd
    >>> orgs = pd.DataFrame({"organisation_id": ["O-1", "O-2"],
    ...                      "created_at": ["2023-01-05", "2024-02-01"]})
    >>> deals = pd.DataFrame({"organisation_id": ["O-1", "O-1", "O-2"],
    ...                       "created_at": ["2023-03-01", "2024-06-01", "2024-07-01"],
    ...                       "amount": [1200.0, 800.0, 50.0]})
    >>> base = ClientBase.from_frames(organisations=orgs, deals=deals)
    >>> base
    ClientBase(organisations=2, deals=3)
    >>> base.as_of("2024-03-01").deals[["deal_id", "status", "amount"]]
      deal_id status  amount
    0     D-1    won  1200.0
    """

    __slots__ = ("_absent", "_index", "_known_before", "_positions", "_repairs", "_tables")

    def __init__(
        self,
        tables: Mapping[str, Any],
        *,
        validate: bool = True,
        known_before: Any = None,
        date_format: str | Mapping[str, str] | None = None,
        dayfirst: bool | None = None,
        columns: Mapping[str, Any] | None = None,
        values: Mapping[str, Any] | None = None,
        repair: str | Iterable[str] | None = None,
    ) -> None:
        options = LoadOptions.make(
            date_format=date_format,
            dayfirst=dayfirst,
            columns=columns,
            values=values,
            repair=repair,
            owner="ClientBase",
        )
        self._setup(
            tables, validate=validate, known_before=known_before, options=options, stacklevel=3
        )

    def _setup(
        self,
        tables: Mapping[str, Any],
        *,
        validate: bool = True,
        known_before: Any = None,
        options: LoadOptions | None = None,
        stacklevel: int = 3,
    ) -> None:
        self._positions: dict[tuple[str, str], np.ndarray] = {}
        self._index: dict[str, pd.Index] = {}
        self._repairs = empty_repairs()
        if validate:
            validated = coerce_tables(tables, options)
            self._tables = {name: freeze(df) for name, df in validated.tables.items()}
            self._positions = validated.positions
            for positions in self._positions.values():
                positions.flags.writeable = False
            self._index = validated.key_indexes
            self._repairs = validated.repairs.frame()
            message = validated.repairs.message()
            if message:
                warnings.warn(message, B2BClientWarning, stacklevel=stacklevel)
        else:
            if options is not None and options != LoadOptions():
                raise InvalidParameterError(
                    "Loading options (date_format, dayfirst, columns, values, repair) apply to "
                    "validation; they cannot be combined with validate=False."
                )
            self._tables = {name: tables[name] for name in TABLE_NAMES}
        self._absent = frozenset(n for n in TABLE_NAMES if len(self._tables[n]) == 0)
        self._known_before: pd.Timestamp | None = (
            None if known_before is None else to_timestamp(known_before, name="known_before")
        )

    @classmethod
    def _load(
        cls, frames: Mapping[str, Any], options: LoadOptions, *, stacklevel: int = 4
    ) -> ClientBase:
        base = cls.__new__(cls)
        base._setup(frames, options=options, stacklevel=stacklevel)
        return base

    # --- construction ---------------------------------------------------------------------------

    @classmethod
    def from_frames(
        cls,
        organisations: pd.DataFrame,
        *,
        contacts: pd.DataFrame | None = None,
        products: pd.DataFrame | None = None,
        deals: pd.DataFrame | None = None,
        deal_lines: pd.DataFrame | None = None,
        projects: pd.DataFrame | None = None,
        stages: pd.DataFrame | None = None,
        interactions: pd.DataFrame | None = None,
        contracts: pd.DataFrame | None = None,
        relationships: pd.DataFrame | None = None,
        date_format: str | Mapping[str, str] | None = None,
        dayfirst: bool | None = None,
        columns: Mapping[str, Any] | None = None,
        values: Mapping[str, Any] | None = None,
        repair: str | Iterable[str] | None = None,
    ) -> ClientBase:
        """Validate pandas frames and build a client base.

        Column names are fixed (DESIGN.md section 3); extra columns are kept. Times may be
        strings, naive (taken as UTC) or aware (converted to UTC). Minimal exports load: an order
        log with only ``organisation_id``, ``created_at`` and ``amount`` becomes won deals closed
        when created, with generated ids ``D-1``, ``D-2``, ...; a product without ``kind`` is a
        good. To combine an order log with CRM opportunities, see :func:`deals_from_orders`.

        Parameters
        ----------
        organisations : pandas.DataFrame
            Required, with at least ``organisation_id`` and ``created_at``.
        contacts, products, deals, deal_lines, projects, stages, interactions, contracts, relationships : pandas.DataFrame, optional
            The other canonical tables; an absent one is empty.
        date_format, dayfirst, columns, values, repair
            Loading options, as in :class:`ClientBase`.

        Returns
        -------
        ClientBase

        Raises
        ------
        InvalidTablesError
            With every problem found; ``err.problems`` is a DataFrame with columns table, column,
            check, row_id and value.

        Warns
        -----
        B2BClientWarning
            When values were changed on purpose; see :attr:`repairs`.

        Examples
        --------
        >>> import pandas as pd
        >>> orgs = pd.DataFrame({"organisation_id": ["O-1"], "created_at": ["2024-01-01"]})
        >>> ClientBase.from_frames(orgs).organisations.dtypes["created_at"]
        dtype('<M8[ns]')
        >>> export = pd.DataFrame({"Organisation ID": ["O-1"], "Created": ["31.01.2024"]})
        >>> base = ClientBase.from_frames(
        ...     export, columns={"Organisation ID": "organisation_id", "Created": "created_at"},
        ...     dayfirst=True)
        >>> base.organisations.loc[0, "created_at"]
        Timestamp('2024-01-31 00:00:00')
        """
        frames = {
            "organisations": organisations,
            "contacts": contacts,
            "products": products,
            "deals": deals,
            "deal_lines": deal_lines,
            "projects": projects,
            "stages": stages,
            "interactions": interactions,
            "contracts": contracts,
            "relationships": relationships,
        }
        options = LoadOptions.make(
            date_format=date_format,
            dayfirst=dayfirst,
            columns=columns,
            values=values,
            repair=repair,
            owner="ClientBase.from_frames",
        )
        return cls._load({k: v for k, v in frames.items() if v is not None}, options)

    @classmethod
    def from_records(cls, records: Iterable[Record]) -> ClientBase:
        """Build a client base from domain records of any of the ten kinds.

        Parameters
        ----------
        records : iterable of Record
            :class:`~b2bclient.model.Organisation`, :class:`~b2bclient.model.Deal`, ... in any order.

        Returns
        -------
        ClientBase

        Examples
        --------
        >>> from b2bclient.model import Organisation, Deal
        >>> base = ClientBase.from_records([
        ...     Organisation(organisation_id="O-1", created_at="2024-01-01"),
        ...     Deal(deal_id="D-1", organisation_id="O-1", created_at="2024-02-01",
        ...          closed_at="2024-02-03", status="won", amount=10.0),
        ... ])
        >>> base.deal("D-1").amount
        10.0
        """
        rows: dict[str, list[dict[str, Any]]] = {}
        for record in records:
            if not isinstance(record, Record):
                raise InvalidParameterError(
                    "ClientBase.from_records takes b2bclient.model records such as Organisation "
                    f"or Deal. Got {type(record).__name__} instead."
                )
            rows.setdefault(record.table, []).append(record.to_dict())
        frames = {
            name: pd.DataFrame.from_records(rows[name], columns=list(SCHEMAS[name].names))
            for name in rows
        }
        return cls._load(frames, LoadOptions())

    # --- description ----------------------------------------------------------------------------

    @property
    def known_before(self) -> pd.Timestamp | None:
        """Return the time this base was cut at by :meth:`as_of`, or None for a full base."""
        return self._known_before

    @property
    def absent_tables(self) -> frozenset[str]:
        """Return the tables this base was loaded without (no frame, or a frame without rows).

        A view :meth:`as_of` keeps the set of the base it was cut from, so it says what the data
        holds, not what is known at the cut. The default extractors of
        :func:`~b2bclient.features.build_features` leave out those needing an absent table.

        Examples
        --------
        >>> import pandas as pd
        >>> orgs = pd.DataFrame({"organisation_id": ["O-1"], "created_at": ["2024-01-01"]})
        >>> sorted(ClientBase.from_frames(orgs).absent_tables)[:3]
        ['contacts', 'contracts', 'deal_lines']
        """
        return self._absent

    @property
    def repairs(self) -> pd.DataFrame:
        """Return what loading changed on purpose, one line per change.

        Columns: ``table``, ``column``, ``check`` (``id_as_text``, ``empty_as_null``,
        ``enum_spelling``, ``known_since_first_activity``), ``row_id`` (the row, for a change
        of one row; None for a line that covers every row holding ``value``), ``value`` (the
        value as loaded; an example for ``id_as_text``), ``repaired_to`` and ``rows`` (how many
        rows the line covers). Empty when nothing was changed. A view :meth:`as_of` keeps the
        repairs of the base it was cut from.

        Examples
        --------
        >>> import pandas as pd, warnings
        >>> orgs = pd.DataFrame({"organisation_id": ["O-1", "O-2"], "created_at": ["2024-01-01"] * 2,
        ...                      "size_band": ["Large", "large"]})
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     base = ClientBase.from_frames(orgs)
        >>> base.repairs[["column", "check", "value", "repaired_to", "rows"]]
              column          check  value repaired_to  rows
        0  size_band  enum_spelling  Large       large     1
        >>> print(caught[0].message)
        Loading changed values in 1 place (each is a line of base.repairs; nothing else was changed):
          organisations.size_band: 1 value matched ignoring case and spacing: 'Large' -> 'large' (1 row)
        """
        return self._repairs.copy()

    def summary(self) -> pd.DataFrame:
        """Return one row per table: rows, columns, extra columns and the span of its time column.

        Examples
        --------
        >>> import pandas as pd
        >>> orgs = pd.DataFrame({"organisation_id": ["O-1"], "created_at": ["2024-01-01"]})
        >>> int(ClientBase.from_frames(orgs).summary().loc["organisations", "rows"])
        1
        """
        rows = []
        for name in TABLE_NAMES:
            df = self._tables[name]
            schema = SCHEMAS[name]
            col = schema.time_column
            first = df[col].min() if col and len(df) else pd.NaT
            last = df[col].max() if col and len(df) else pd.NaT
            rows.append(
                {
                    "table": name,
                    "rows": len(df),
                    "columns": df.shape[1],
                    "extra_columns": df.shape[1] - len(schema.columns),
                    "first": first,
                    "last": last,
                }
            )
        return pd.DataFrame(rows).set_index("table")

    def __repr__(self) -> str:
        parts = [
            f"{name}={len(df):,}"
            for name, df in self._tables.items()
            if name == "organisations" or len(df)
        ]
        cut = (
            f", known_before={self._known_before.isoformat()!r}"
            if self._known_before is not None
            else ""
        )
        return f"ClientBase({', '.join(parts)}{cut})"

    def __len__(self) -> int:
        """Return the number of organisations."""
        return len(self._tables["organisations"])

    def equals(self, other: object) -> bool:
        """Return whether `other` is a client base with equal tables (dtypes included)."""
        if not isinstance(other, ClientBase):
            return False
        return all(self._tables[n].equals(other._tables[n]) for n in TABLE_NAMES)

    # --- point in time --------------------------------------------------------------------------

    def as_of(
        self, t: Any, *, date_format: str | None = None, dayfirst: bool | None = None
    ) -> ClientBase:
        """Return the client base as it was known just before `t`.

        The view is half-open: an event at exactly `t` is not known. Rows whose time column
        (``created_at``, ``occurred_at``, ``started_at``, ``since``) is at or after `t` are dropped,
        with the rows that hang from them (lines of a dropped deal, stages of a dropped project,
        anything of an organisation created later). Later state changes are reverted: a deal closed
        at or after `t` is ``open`` with no ``closed_at``; a project closed then is ``active``; a
        stage ended then has no ``ended_at``; a contract cancelled then is not cancelled. A
        reference to a contact, project or parent not yet known is set to null.

        Parameters
        ----------
        t : str, datetime or pandas.Timestamp
            The cut-off; required, never defaults to now. Strings follow the loading rules: ISO
            8601 always parses; ``"01.07.2024"`` needs `dayfirst` or `date_format`; a number
            such as ``2024`` is refused.
        date_format : str, optional
            ``strftime`` format of `t` when it is a string that is not ISO 8601.
        dayfirst : bool, optional
            Read a numeric date whose day and month could be swapped day-first (True) or
            month-first (False).

        Returns
        -------
        ClientBase
            A new base; the original is unchanged. ``known_before`` records `t`.

        Examples
        --------
        >>> import pandas as pd
        >>> orgs = pd.DataFrame({"organisation_id": ["O-1"], "created_at": ["2024-01-01"]})
        >>> deals = pd.DataFrame({"deal_id": ["D-1"], "organisation_id": ["O-1"],
        ...     "created_at": ["2024-02-01"], "closed_at": ["2024-03-01"], "status": ["won"],
        ...     "amount": [5.0]})
        >>> cut = ClientBase.from_frames(orgs, deals=deals).as_of("2024-03-01")
        >>> cut.deals.loc[0, "status"], cut.deals.loc[0, "closed_at"]
        ('open', NaT)
        """
        cut = to_timestamp(
            t, name="t", owner="ClientBase.as_of", date_format=date_format, dayfirst=dayfirst
        )
        if self._known_before is not None and cut > self._known_before:
            raise InvalidParameterError(
                f"This client base was cut as of {self._known_before}; it cannot be viewed as of "
                f"the later time {cut}. Call as_of on the full base instead."
            )
        from b2bclient.base._asof import cut_tables

        tables, positions = cut_tables(self._tables, cut, self.reference_positions)
        view = ClientBase(
            {name: freeze(df) for name, df in tables.items()}, validate=False, known_before=cut
        )
        for pos in positions.values():
            pos.flags.writeable = False
        view._positions.update(positions)
        view._repairs = self._repairs
        view._absent = self._absent
        return view
