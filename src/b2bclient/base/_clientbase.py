"""The :class:`ClientBase`: ten validated canonical tables with point-in-time views."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError, UnknownIdError
from b2bclient._time import to_timestamp
from b2bclient.base import _io
from b2bclient.base._schema import SCHEMAS, TABLE_NAMES
from b2bclient.base._validate import coerce_tables, reference_positions
from b2bclient.model import RECORD_TYPES
from b2bclient.model._records import (
    Contact,
    Contract,
    Deal,
    Interaction,
    Organisation,
    Product,
    Project,
    Record,
)

if TYPE_CHECKING:
    from types import MappingProxyType

__all__ = ["ClientBase"]


class ClientBase:
    """A validated set of the ten canonical tables of a B2B client base.

    Build one with :meth:`from_frames`, :meth:`from_records` or a reader (:meth:`read_parquet`,
    :meth:`read_csv`, :meth:`read_sql`). Tables are available as attributes (``base.deals``) and
    through :attr:`tables`; they are shared, not copied, so treat them as read-only.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        Tables by canonical name; only ``organisations`` is required.
    validate : bool, default True
        Coerce and validate the tables. Pass False only for tables that already passed through a
        ClientBase unchanged.

    Raises
    ------
    InvalidTablesError
        Listing every problem found in the tables.

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

    __slots__ = ("_index", "_known_before", "_positions", "_tables")

    def __init__(
        self,
        tables: Mapping[str, Any],
        *,
        validate: bool = True,
        known_before: Any = None,
    ) -> None:
        self._positions: dict[tuple[str, str], np.ndarray] = {}
        self._index: dict[str, pd.Index] = {}
        if validate:
            self._tables, self._positions, self._index = coerce_tables(tables)
        else:
            self._tables = {name: tables[name] for name in TABLE_NAMES}
        self._known_before: pd.Timestamp | None = (
            None if known_before is None else to_timestamp(known_before, name="known_before")
        )

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
    ) -> ClientBase:
        """Validate pandas frames and build a client base.

        Column names are fixed (DESIGN.md section 3); extra columns are kept. Times may be
        strings, naive (taken as UTC) or aware (converted to UTC). Minimal exports load: an order
        log with only ``organisation_id``, ``created_at`` and ``amount`` becomes won deals closed
        when created, with generated ids ``D-1``, ``D-2``, ...; a product without ``kind`` is a
        good.

        Parameters
        ----------
        organisations : pandas.DataFrame
            Required, with at least ``organisation_id`` and ``created_at``.
        contacts, products, deals, deal_lines, projects, stages, interactions, contracts, relationships : pandas.DataFrame, optional
            The other canonical tables; an absent one is empty.

        Returns
        -------
        ClientBase

        Raises
        ------
        InvalidTablesError
            With every problem found; ``err.problems`` is a DataFrame with columns table, column,
            check, row_id and value.

        Examples
        --------
        >>> import pandas as pd
        >>> orgs = pd.DataFrame({"organisation_id": ["O-1"], "created_at": ["2024-01-01"]})
        >>> ClientBase.from_frames(orgs).organisations.dtypes["created_at"]
        dtype('<M8[ns]')
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
        return cls({k: v for k, v in frames.items() if v is not None})

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
        return cls(frames)

    # --- access ---------------------------------------------------------------------------------

    @property
    def tables(self) -> MappingProxyType[str, pd.DataFrame]:
        """Return the ten tables by canonical name (read-only mapping)."""
        from types import MappingProxyType

        return MappingProxyType(self._tables)

    @property
    def known_before(self) -> pd.Timestamp | None:
        """Return the time this base was cut at by :meth:`as_of`, or None for a full base."""
        return self._known_before

    @property
    def organisations(self) -> pd.DataFrame:
        """Return the ``organisations`` table."""
        return self._tables["organisations"]

    @property
    def contacts(self) -> pd.DataFrame:
        """Return the ``contacts`` table (holds personal data: full_name, email, phone)."""
        return self._tables["contacts"]

    @property
    def products(self) -> pd.DataFrame:
        """Return the ``products`` table."""
        return self._tables["products"]

    @property
    def deals(self) -> pd.DataFrame:
        """Return the ``deals`` table."""
        return self._tables["deals"]

    @property
    def deal_lines(self) -> pd.DataFrame:
        """Return the ``deal_lines`` table."""
        return self._tables["deal_lines"]

    @property
    def projects(self) -> pd.DataFrame:
        """Return the ``projects`` table."""
        return self._tables["projects"]

    @property
    def stages(self) -> pd.DataFrame:
        """Return the ``stages`` table."""
        return self._tables["stages"]

    @property
    def interactions(self) -> pd.DataFrame:
        """Return the ``interactions`` table."""
        return self._tables["interactions"]

    @property
    def contracts(self) -> pd.DataFrame:
        """Return the ``contracts`` table."""
        return self._tables["contracts"]

    @property
    def relationships(self) -> pd.DataFrame:
        """Return the ``relationships`` table."""
        return self._tables["relationships"]

    def _key_index(self, table: str) -> pd.Index:
        index = self._index.get(table)
        if index is None:
            index = pd.Index(self._tables[table][SCHEMAS[table].key[0]])
            self._index[table] = index
        return index

    def reference_positions(self, table: str, column: str) -> np.ndarray:
        """Return, for each row of `table`, the row position of the row its `column` refers to.

        Computed once (at validation, or on first use) and carried through :meth:`as_of`, so that
        joins on ids cost an integer lookup instead of hashing strings.

        Parameters
        ----------
        table : str
            A canonical table.
        column : str
            One of its foreign-key columns (``organisation_id``, ``project_id``, ``deal_id``, ...).

        Returns
        -------
        numpy.ndarray of int64
            Positions into the referenced table (``SCHEMAS[table].column(column).references``);
            -1 where the reference is null. Treat it as read-only.

        Examples
        --------
        >>> import pandas as pd
        >>> orgs = pd.DataFrame({"organisation_id": ["O-1", "O-2"], "created_at": ["2024-01-01"] * 2})
        >>> deals = pd.DataFrame({"organisation_id": ["O-2", "O-2", "O-1"],
        ...     "created_at": ["2024-02-01"] * 3, "amount": [1.0, 2.0, 3.0]})
        >>> ClientBase.from_frames(orgs, deals=deals).reference_positions("deals", "organisation_id")
        array([1, 1, 0])
        """
        key = (table, column)
        pos = self._positions.get(key)
        if pos is None:
            try:
                parent = SCHEMAS[table].column(column).references
            except KeyError:
                parent = None
            if parent is None:
                raise InvalidParameterError(
                    f"{table}.{column} is not a reference to another table; references are "
                    + ", ".join(
                        f"{t}.{c.name}"
                        for t, s in SCHEMAS.items()
                        for c in s.columns
                        if c.references
                    )
                    + "."
                )
            pos = reference_positions(self._key_index(parent), self._tables[table][column])
            self._positions[key] = pos
        return pos

    def _lookup(self, table: str, key: str) -> dict[str, Any]:
        index = self._key_index(table)
        try:
            position = index.get_loc(key)
        except KeyError:
            raise UnknownIdError(
                f"No {table[:-1]} with {SCHEMAS[table].key[0]} {key!r} in this client base"
                + (f" (cut as of {self._known_before})" if self._known_before is not None else "")
                + "."
            ) from None
        # keys are unique after validation, so the position is an integer
        row = self._tables[table].iloc[int(position)]
        return {c: row[c] for c in SCHEMAS[table].names}

    def organisation(self, organisation_id: str) -> Organisation:
        """Return the organisation `organisation_id` as a typed record.

        Raises
        ------
        UnknownIdError
            If the id is not in the base.
        """
        return Organisation(**self._lookup("organisations", organisation_id))

    def contact(self, contact_id: str) -> Contact:
        """Return the contact `contact_id` as a typed record."""
        return Contact(**self._lookup("contacts", contact_id))

    def product(self, product_id: str) -> Product:
        """Return the product `product_id` as a typed record."""
        return Product(**self._lookup("products", product_id))

    def deal(self, deal_id: str) -> Deal:
        """Return the deal `deal_id` as a typed record (its lines are in :attr:`deal_lines`)."""
        return Deal(**self._lookup("deals", deal_id))

    def project(self, project_id: str) -> Project:
        """Return the project `project_id` as a typed record (its stages are in :attr:`stages`)."""
        return Project(**self._lookup("projects", project_id))

    def interaction(self, interaction_id: str) -> Interaction:
        """Return the interaction `interaction_id` as a typed record."""
        return Interaction(**self._lookup("interactions", interaction_id))

    def contract(self, contract_id: str) -> Contract:
        """Return the contract `contract_id` as a typed record."""
        return Contract(**self._lookup("contracts", contract_id))

    def records(self, table: str) -> Iterator[Record]:
        """Iterate over the rows of `table` as typed records (extra columns are left out).

        Parameters
        ----------
        table : str
            A canonical table name.

        Yields
        ------
        Record
            One record per row, in table order.

        Examples
        --------
        >>> import pandas as pd
        >>> orgs = pd.DataFrame({"organisation_id": ["O-1"], "created_at": ["2024-01-01"]})
        >>> [o.organisation_id for o in ClientBase.from_frames(orgs).records("organisations")]
        ['O-1']
        """
        if table not in SCHEMAS:
            raise InvalidParameterError(
                f"The 'table' parameter of ClientBase.records must be one of "
                f"{', '.join(TABLE_NAMES)}. Got {table!r} instead."
            )
        cls = RECORD_TYPES[table]
        names = SCHEMAS[table].names
        frame = self._tables[table][list(names)]
        for row in frame.itertuples(index=False, name=None):
            yield cls(**dict(zip(names, row, strict=True)))

    # --- description ----------------------------------------------------------------------------

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

    def as_of(self, t: Any) -> ClientBase:
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
            The cut-off; required, never defaults to now.

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
        cut = to_timestamp(t, name="t", owner="ClientBase.as_of")
        if self._known_before is not None and cut > self._known_before:
            raise InvalidParameterError(
                f"This client base was cut as of {self._known_before}; it cannot be viewed as of "
                f"the later time {cut}. Call as_of on the full base instead."
            )
        from b2bclient.base._asof import cut_tables

        tables, positions = cut_tables(self._tables, cut, self.reference_positions)
        view = ClientBase(tables, validate=False, known_before=cut)
        view._positions.update(positions)
        return view

    # --- I/O ------------------------------------------------------------------------------------

    def to_parquet(self, path: str | Path) -> None:
        """Write one Parquet file per table into the directory `path` (needs the ``parquet`` extra).

        Examples
        --------
        >>> import pandas as pd, tempfile
        >>> orgs = pd.DataFrame({"organisation_id": ["O-1"], "created_at": ["2024-01-01"]})
        >>> base = ClientBase.from_frames(orgs)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     base.to_parquet(d)
        ...     ClientBase.read_parquet(d).equals(base)
        True
        """
        _io.to_parquet(self._tables, Path(path))

    @classmethod
    def read_parquet(cls, path: str | Path) -> ClientBase:
        """Read and validate a directory written by :meth:`to_parquet` (``<table>.parquet`` files)."""
        return cls(_io.read_parquet(Path(path)))

    def to_csv(self, path: str | Path) -> None:
        """Write one CSV file per table into the directory `path` (times in ISO 8601, UTC)."""
        _io.to_csv(self._tables, Path(path))

    @classmethod
    def read_csv(cls, path: str | Path) -> ClientBase:
        """Read and validate a directory of ``<table>.csv`` files; only ``organisations.csv`` is required.

        Examples
        --------
        >>> import pandas as pd, tempfile
        >>> orgs = pd.DataFrame({"organisation_id": ["007"], "created_at": ["2024-01-01T10:00+02:00"]})
        >>> with tempfile.TemporaryDirectory() as d:
        ...     ClientBase.from_frames(orgs).to_csv(d)
        ...     ClientBase.read_csv(d).organisations.iloc[0].tolist()[::8]
        ['007', Timestamp('2024-01-01 08:00:00')]
        """
        return cls(_io.read_csv(Path(path)))

    def to_sql(
        self, con: Any, *, prefix: str = "", schema: str | None = None, if_exists: str = "fail"
    ) -> None:
        """Write every table to a SQL database through SQLAlchemy (needs the ``sql`` extra).

        Parameters
        ----------
        con : str or sqlalchemy.engine.Engine
            A SQLAlchemy URL (``"sqlite:///clients.db"``, ``"postgresql+psycopg://..."``) or engine.
        prefix : str
            Prefix of the table names, for sharing a database with other data.
        schema : str, optional
            Database schema (PostgreSQL) to write into.
        if_exists : {"fail", "replace"}
            What to do when a table already exists.

        Examples
        --------
        >>> import pandas as pd
        >>> import sqlalchemy
        >>> engine = sqlalchemy.create_engine("sqlite://")
        >>> orgs = pd.DataFrame({"organisation_id": ["O-1"], "created_at": ["2024-01-01"]})
        >>> ClientBase.from_frames(orgs).to_sql(engine)
        >>> ClientBase.read_sql(engine).organisations["organisation_id"].tolist()
        ['O-1']
        """
        _io.to_sql(self._tables, con, prefix=prefix, schema=schema, if_exists=if_exists)

    @classmethod
    def read_sql(cls, con: Any, *, prefix: str = "", schema: str | None = None) -> ClientBase:
        """Read and validate the tables written by :meth:`to_sql` (or any with the canonical names)."""
        return cls(_io.read_sql(con, prefix=prefix, schema=schema))
