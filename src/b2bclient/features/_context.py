"""Tables cut at ``as_of`` with derived arrays computed once and shared by every extractor.

Extractors receive a :class:`FeatureTables`: a read-only mapping of the ten canonical tables as known
just before ``as_of`` that also caches what several extractors need (integer organisation codes per
table, purchase times, the purchased lines with their product category). Joins on ids use the
reference positions of the cut :class:`~b2bclient.base.ClientBase` (kept from validation through
``as_of``), so millions of string ids are not hashed again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient._time import to_timestamp
from b2bclient._typing import Tables
from b2bclient.base import SCHEMAS, TABLE_NAMES, ClientBase, empty_table
from b2bclient.base._coerce import empty_series as _empty_series

__all__ = ["DAY_NS", "NAT", "FeatureTables", "complete_tables"]

#: Nanoseconds in a day.
DAY_NS = 86_400 * 10**9
#: The integer value of NaT in a ``datetime64[ns]`` array viewed as int64.
NAT = np.iinfo(np.int64).min

T = TypeVar("T")


def complete_tables(tables: Tables) -> dict[str, pd.DataFrame]:
    """Return the ten tables, adding absent tables and absent canonical columns as nulls."""
    out: dict[str, pd.DataFrame] = {}
    for name in TABLE_NAMES:
        df = tables.get(name)
        if df is None:
            out[name] = empty_table(name)
            continue
        missing = [c for c in SCHEMAS[name].columns if c.name not in df.columns]
        if missing:
            df = df.copy(deep=False)
            for c in missing:
                df[c.name] = _empty_series(c, len(df)).set_axis(df.index)
        out[name] = df
    return out


def times_ns(series: pd.Series) -> np.ndarray:
    """Return a datetime column as int64 nanoseconds (NaT as :data:`NAT`)."""
    values = series.to_numpy()
    if values.dtype != np.dtype("datetime64[ns]"):
        values = pd.to_datetime(series).to_numpy("datetime64[ns]")
    return np.asarray(values.view(np.int64), dtype=np.int64)


class FeatureTables(Mapping[str, pd.DataFrame]):
    """The canonical tables as known just before `as_of`, with shared derived arrays.

    Build one with :meth:`prepare`, which cuts the tables at `as_of`; the constructor trusts
    that its tables are already cut. Extractors treat it as a plain mapping of tables; built-in
    extractors also use its cached helpers.

    Parameters
    ----------
    tables : ClientBase or mapping of str to pandas.DataFrame
        Tables already cut at `as_of`; absent tables are empty. A client base lends its
        reference positions; for a mapping they are computed on first use.
    as_of : pandas.Timestamp
        The cut-off.

    Examples
    --------
    >>> import pandas as pd
    >>> orgs = pd.DataFrame({"organisation_id": ["O-2", "O-1", "O-9"],
    ...                      "created_at": pd.to_datetime(["2024-01-01", "2024-01-01", "2025-06-01"])})
    >>> ctx = FeatureTables.prepare({"organisations": orgs}, pd.Timestamp("2025-01-01"))
    >>> list(ctx.org_ids)
    ['O-1', 'O-2']
    >>> ctx.codes("organisations").tolist()
    [1, 0]
    """

    __slots__ = ("_as_of", "_base", "_cache", "_tables")

    def __init__(self, tables: Tables | ClientBase, as_of: pd.Timestamp) -> None:
        if not isinstance(tables, ClientBase):
            tables = ClientBase(complete_tables(tables), validate=False)
        self._base = tables
        # The base's own read-only frames: extractors read them without a copy per access.
        self._tables = tables._frames
        self._as_of = to_timestamp(as_of, owner="FeatureTables")
        self._cache: dict[Any, Any] = {}

    @classmethod
    def prepare(cls, tables: Tables | ClientBase, as_of: pd.Timestamp) -> FeatureTables:
        """Return `tables` cut at `as_of` (tables already cut there are reused).

        Parameters
        ----------
        tables : ClientBase or mapping of str to pandas.DataFrame
            Canonical tables, possibly holding rows at or after `as_of`.
        as_of : pandas.Timestamp
            The cut-off.

        Returns
        -------
        FeatureTables

        Raises
        ------
        InvalidParameterError
            If `tables` were cut before `as_of`.
        """
        as_of = to_timestamp(as_of, owner="FeatureTables.prepare")
        if isinstance(tables, FeatureTables):
            if tables.as_of == as_of:
                return tables
            if as_of > tables.as_of:
                raise InvalidParameterError(
                    f"These tables were cut as of {tables.as_of}; they cannot be viewed as of the "
                    f"later time {as_of}. Pass the full tables instead."
                )
            base = tables._base
        elif isinstance(tables, ClientBase):
            base = tables
        else:
            base = ClientBase(complete_tables(tables), validate=False)
        if base.known_before == as_of:
            return cls(base, as_of)
        return cls(base.as_of(as_of), as_of)

    # --- Mapping ----------------------------------------------------------------------------------

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self._tables[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)

    # --- cached helpers ---------------------------------------------------------------------------

    @property
    def as_of(self) -> pd.Timestamp:
        """Return the cut-off."""
        return self._as_of

    @property
    def absent_tables(self) -> frozenset[str]:
        """Return the tables the client base was loaded without (see ``ClientBase.absent_tables``)."""
        return self._base.absent_tables

    @property
    def as_of_ns(self) -> int:
        """Return the cut-off as int64 nanoseconds."""
        return int(self._as_of.value)

    def cached(self, key: Any, compute: Callable[[], T]) -> T:
        """Return the value cached under `key`, computing it with `compute` the first time."""
        if key not in self._cache:
            self._cache[key] = compute()
        value: T = self._cache[key]
        return value

    def _org_order(self) -> tuple[pd.Index, np.ndarray | None]:
        """Return the sorted organisation ids and each row's rank in them (None if already sorted)."""

        def compute() -> tuple[pd.Index, np.ndarray | None]:
            ids = self._tables["organisations"]["organisation_id"].to_numpy(dtype=object)
            index = pd.Index(ids, dtype=object, name="organisation_id")
            if index.is_monotonic_increasing:
                return index, None
            order = np.argsort(ids, kind="stable")
            rank = np.empty(len(ids), dtype=np.int64)
            rank[order] = np.arange(len(ids), dtype=np.int64)
            return index[order], rank

        return self.cached("org_order", compute)

    @property
    def org_ids(self) -> pd.Index:
        """Return the known organisation ids, sorted, as an Index named ``organisation_id``."""
        return self._org_order()[0]

    @property
    def n_orgs(self) -> int:
        """Return the number of known organisations."""
        return len(self.org_ids)

    def codes(self, table: str, column: str = "organisation_id") -> np.ndarray:
        """Return the position in :attr:`org_ids` of each row's organisation (-1 if null).

        `column` is ``organisation_id`` of ``organisations`` (the row itself) or a reference to
        ``organisations`` (``organisation_id``, ``parent_id``, ``source_id``, ``target_id``).
        """

        def compute() -> np.ndarray:
            if table == "organisations" and column == "organisation_id":
                rows = np.arange(len(self._tables[table]), dtype=np.int64)
            else:
                rows = self.positions(table, column, "organisations")
            rank = self._org_order()[1]
            if rank is None:
                return rows
            return np.where(rows >= 0, rank[np.maximum(rows, 0)], -1)

        return self.cached(("codes", table, column), compute)

    def positions(self, table: str, column: str, parent: str | None = None) -> np.ndarray:
        """Return the row position in its table of the row `column` refers to (-1 if null).

        Parameters
        ----------
        table, column : str
            A reference column, as in :meth:`ClientBase.reference_positions`.
        parent : str, optional
            The referenced table, checked against the schema when given.

        Raises
        ------
        InvalidParameterError
            If `column` is not a reference, or refers to another table than `parent`.
        """
        pos = self._base.reference_positions(table, column)
        declared = SCHEMAS[table].column(column).references
        if parent is not None and parent != declared:
            raise InvalidParameterError(
                f"{table}.{column} refers to {declared!r}, not to {parent!r}; pass "
                f"parent={declared!r} or leave it out."
            )
        return pos

    def times(self, table: str, column: str) -> np.ndarray:
        """Return a time column as int64 nanoseconds (NaT as :data:`NAT`)."""
        return self.cached(("times", table, column), lambda: times_ns(self._tables[table][column]))

    def enum_codes(self, table: str, column: str, values: tuple[str, ...]) -> np.ndarray:
        """Return the position of each row's value in `values` (-1 for null or other values)."""

        def compute() -> np.ndarray:
            s = self._tables[table][column]
            if isinstance(s.dtype, pd.CategoricalDtype) and tuple(s.cat.categories) == values:
                return np.asarray(s.cat.codes.to_numpy(), dtype=np.intp)
            return np.asarray(pd.Categorical(s, categories=list(values)).codes, dtype=np.intp)

        return self.cached(("enum", table, column, values), compute)

    def floats(self, table: str, column: str) -> np.ndarray:
        """Return a numeric column as float64 (null as NaN)."""
        return self.cached(
            ("floats", table, column),
            lambda: self._tables[table][column].to_numpy(dtype=np.float64, na_value=np.nan),
        )

    def purchases(self) -> np.ndarray:
        """Return the mask of deals that are purchases known at `as_of` (won, closed before it).

        The time of a purchase is its ``closed_at``, or its ``created_at`` when that is missing.
        """

        def compute() -> np.ndarray:
            won = self.enum_codes("deals", "status", ("open", "won", "lost")) == 1
            t = self.purchase_times()
            mask: np.ndarray = won & (t != NAT) & (t < self.as_of_ns) & (self.codes("deals") >= 0)
            return mask

        return self.cached("purchases", compute)

    def purchase_times(self) -> np.ndarray:
        """Return the closing time of every deal in ns, falling back to its creation time."""

        def compute() -> np.ndarray:
            closed = self.times("deals", "closed_at")
            created = self.times("deals", "created_at")
            return np.where(closed == NAT, created, closed)

        return self.cached("purchase_times", compute)

    def purchased_lines(self) -> dict[str, np.ndarray]:
        """Return the lines of purchases with their organisation, time, product and category.

        Keys: ``org`` (organisation code), ``time`` (ns), ``product`` (row in ``products``),
        ``category`` (code into :meth:`product_categories`, -1 when missing), ``service`` (bool)
        and ``amount``.
        """

        def compute() -> dict[str, np.ndarray]:
            deal = self.positions("deal_lines", "deal_id")
            keep = deal >= 0
            keep[keep] = self.purchases()[deal[keep]]
            deal = deal[keep]
            product = self.positions("deal_lines", "product_id")[keep]
            categories, kind = self.product_categories()
            category = np.where(product >= 0, categories[product], -1)
            service = np.where(product >= 0, kind[product], False)
            return {
                "org": self.codes("deals")[deal],
                "time": self.purchase_times()[deal],
                "product": product,
                "category": category,
                "service": service.astype(bool),
                "amount": self.floats("deal_lines", "amount")[keep],
            }

        return self.cached("purchased_lines", compute)

    def product_categories(self) -> tuple[np.ndarray, np.ndarray]:
        """Return per product its category code (-1 when missing) and whether it is a service."""

        def compute() -> tuple[np.ndarray, np.ndarray]:
            products = self._tables["products"]
            codes, _ = pd.factorize(products["category"].astype(object), sort=True)
            service = self.enum_codes("products", "kind", ("good", "service")) == 1
            return np.asarray(codes, dtype=np.intp), service

        return self.cached("product_categories", compute)

    def category_names(self) -> np.ndarray:
        """Return the product category names in code order."""

        def compute() -> np.ndarray:
            _, names = pd.factorize(self._tables["products"]["category"].astype(object), sort=True)
            return np.asarray(names, dtype=object)

        return self.cached("category_names", compute)

    def frame(self, data: Mapping[str, Any], columns: tuple[str, ...]) -> pd.DataFrame:
        """Assemble per-organisation arrays (aligned to :attr:`org_ids`) into a feature frame."""
        return pd.DataFrame(
            {c: data[c] for c in columns}, index=self.org_ids, columns=list(columns)
        )
