"""Read access to a client base: its tables, typed records by id, and reference positions."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError, UnknownIdError
from b2bclient.base._relations import reference_positions
from b2bclient.base._schema import SCHEMAS, TABLE_NAMES
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
    id_text,
)

__all__ = ["TableAccess", "handed_out", "id_text"]


def handed_out(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a new frame over `frame`'s read-only data, with its own copy of the time columns.

    Writing into the new frame raises ``ValueError: assignment destination is read-only``, and
    assigning a column changes only the new frame. Time columns are copied: pandas cannot report
    a write into a read-only datetime array (it fails with an internal AssertionError), so a
    written time changes the new frame only. The copy replaces the values of the new frame's
    own datetime blocks: assigning the columns one by one (``isetitem``) would split each block
    and copy it again, about a hundred times slower.
    """
    out = frame.copy(deep=False)  # new blocks over the same arrays
    for block in out._mgr.blocks:
        if block.dtype.kind == "M":
            block.values = block.values.copy()
    return out


class _ReadOnlyTables(Mapping[str, pd.DataFrame]):
    """The tables by name; each access hands out a new frame over the same read-only data."""

    __slots__ = ("_tables",)

    def __init__(self, tables: dict[str, pd.DataFrame]) -> None:
        self._tables = tables

    def __getitem__(self, name: str) -> pd.DataFrame:
        return handed_out(self._tables[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)

    def __repr__(self) -> str:
        return f"<tables {', '.join(self._tables)}>"


class TableAccess:
    """Tables as attributes, typed records by id and the reference positions of a client base."""

    __slots__ = ()

    _tables: dict[str, pd.DataFrame]
    _positions: dict[tuple[str, str], np.ndarray]
    _index: dict[str, pd.Index]
    _known_before: pd.Timestamp | None

    def _table(self, name: str) -> pd.DataFrame:
        # A new frame each time: a column assigned on it does not reach the base; the values are
        # shared and read-only (see ``ClientBase``), so nothing written in place does either.
        return handed_out(self._tables[name])

    @property
    def _frames(self) -> Mapping[str, pd.DataFrame]:
        """Return the base's own frames, read-only, without copying: for the library's readers."""
        return MappingProxyType(self._tables)

    @property
    def tables(self) -> Mapping[str, pd.DataFrame]:
        """Return the ten tables by canonical name (a read-only mapping of read-only frames)."""
        return _ReadOnlyTables(self._tables)

    @property
    def organisations(self) -> pd.DataFrame:
        """Return the ``organisations`` table."""
        return self._table("organisations")

    @property
    def contacts(self) -> pd.DataFrame:
        """Return the ``contacts`` table (holds personal data: full_name, email, phone)."""
        return self._table("contacts")

    @property
    def products(self) -> pd.DataFrame:
        """Return the ``products`` table."""
        return self._table("products")

    @property
    def deals(self) -> pd.DataFrame:
        """Return the ``deals`` table."""
        return self._table("deals")

    @property
    def deal_lines(self) -> pd.DataFrame:
        """Return the ``deal_lines`` table."""
        return self._table("deal_lines")

    @property
    def projects(self) -> pd.DataFrame:
        """Return the ``projects`` table."""
        return self._table("projects")

    @property
    def stages(self) -> pd.DataFrame:
        """Return the ``stages`` table."""
        return self._table("stages")

    @property
    def interactions(self) -> pd.DataFrame:
        """Return the ``interactions`` table."""
        return self._table("interactions")

    @property
    def contracts(self) -> pd.DataFrame:
        """Return the ``contracts`` table."""
        return self._table("contracts")

    @property
    def relationships(self) -> pd.DataFrame:
        """Return the ``relationships`` table."""
        return self._table("relationships")

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
            -1 where the reference is null. Read-only.

        Examples
        --------
        >>> import pandas as pd
        >>> from b2bclient.base import ClientBase
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
            pos.flags.writeable = False
            self._positions[key] = pos
        return pos

    def _lookup(self, table: str, key: Any) -> dict[str, Any]:
        index = self._key_index(table)
        text = id_text(key)
        column = SCHEMAS[table].key[0]
        position = None
        if text is not None:
            try:
                position = index.get_loc(text)
            except KeyError:
                position = None
        if position is None:
            as_text = f" (looked up as {text!r})" if text is not None and text != key else ""
            raise UnknownIdError(
                f"No {table[:-1]} with {column} {key!r}{as_text} in this client base"
                + (f" (cut as of {self._known_before})" if self._known_before is not None else "")
                + "."
            )
        # keys are unique after validation, so the position is an integer
        row = self._tables[table].iloc[int(position)]
        return {c: row[c] for c in SCHEMAS[table].names}

    def organisation(self, organisation_id: str | int) -> Organisation:
        """Return the organisation `organisation_id` as a typed record.

        Ids are text; a whole number is looked up as its digits (``1001`` finds ``'1001'``),
        the rule the loaders use to read numeric ids.

        Raises
        ------
        UnknownIdError
            If the id is not in the base.

        Examples
        --------
        >>> import pandas as pd, warnings
        >>> from b2bclient.base import ClientBase
        >>> orgs = pd.DataFrame({"organisation_id": [1001], "created_at": ["2024-01-01"]})
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")  # 1 id read as text
        ...     base = ClientBase.from_frames(orgs)
        >>> base.organisation(1001).organisation_id
        '1001'
        """
        return Organisation(**self._lookup("organisations", organisation_id))

    def contact(self, contact_id: str | int) -> Contact:
        """Return the contact `contact_id` as a typed record."""
        return Contact(**self._lookup("contacts", contact_id))

    def product(self, product_id: str | int) -> Product:
        """Return the product `product_id` as a typed record."""
        return Product(**self._lookup("products", product_id))

    def deal(self, deal_id: str | int) -> Deal:
        """Return the deal `deal_id` as a typed record (its lines are in :attr:`deal_lines`)."""
        return Deal(**self._lookup("deals", deal_id))

    def project(self, project_id: str | int) -> Project:
        """Return the project `project_id` as a typed record (its stages are in :attr:`stages`)."""
        return Project(**self._lookup("projects", project_id))

    def interaction(self, interaction_id: str | int) -> Interaction:
        """Return the interaction `interaction_id` as a typed record."""
        return Interaction(**self._lookup("interactions", interaction_id))

    def contract(self, contract_id: str | int) -> Contract:
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
        >>> from b2bclient.base import ClientBase
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
