"""The readers and writers of :class:`~b2bclient.base.ClientBase`: Parquet, CSV and SQL."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from b2bclient._exceptions import B2BClientWarning, InvalidParameterError
from b2bclient.base import _io
from b2bclient.base._options import LoadOptions

if TYPE_CHECKING:
    from b2bclient.base._clientbase import ClientBase
    from b2bclient.base._partitioned import PartitionedClientBase

__all__ = ["ReadWrite"]


def _warn_unread(unread: list[str], path: Path, pattern: str) -> None:
    if unread:
        shown = unread[:10] + ([f"and {len(unread) - 10} more"] if len(unread) > 10 else [])
        warnings.warn(
            f"{len(unread)} file{'s' * (len(unread) != 1)} in {str(path)!r} "
            f"{'were' if len(unread) != 1 else 'was'} not read (tables are read from "
            f"{pattern}): {shown}",
            B2BClientWarning,
            stacklevel=3,
        )


class ReadWrite:
    """Parquet, CSV and SQL readers and writers of a client base."""

    __slots__ = ()

    _tables: dict[str, pd.DataFrame]

    if TYPE_CHECKING:  # ClientBase, which this mixes into, validates and builds

        @classmethod
        def _load(
            cls, frames: Mapping[str, Any], options: LoadOptions, *, stacklevel: int = 4
        ) -> ClientBase: ...

        def reference_positions(self, table: str, column: str) -> Any: ...

    def to_parquet(
        self,
        path: str | Path,
        *,
        partition_by: str | None = None,
        n_partitions: int | None = None,
    ) -> None:
        """Write one Parquet file per table into the directory `path` (needs the ``parquet`` extra).

        Values, dtypes, nulls and times (to the nanosecond) round-trip exactly.

        With ``partition_by="holding"`` the base is written as a partitioned base for
        :meth:`open_parquet` (see ``docs/scale.md``): every table is a Parquet dataset of
        `n_partitions` files, an organisation's partition is decided by the top of its holding
        (a group stays together), the rows of an organisation follow it (deal lines follow their
        deal, stages their project, relationships their source organisation), ``products`` is
        written once, and ``manifest.json`` records the format version, the partitions, their
        row counts and key ranges. The directory must be new or empty.

        Parameters
        ----------
        path : str or pathlib.Path
            The directory.
        partition_by : {None, "holding"}
            None writes one file per table, as :meth:`read_parquet` reads.
        n_partitions : int, optional
            Number of partitions with ``partition_by="holding"`` (default: one per 20 000
            organisations).

        Raises
        ------
        InvalidParameterError
            For another `partition_by`, a bad `n_partitions`, or a non-empty directory when
            partitioning.

        Examples
        --------
        >>> import pandas as pd, tempfile
        >>> from b2bclient.base import ClientBase
        >>> orgs = pd.DataFrame({"organisation_id": ["O-1"], "created_at": ["2024-01-01"]})
        >>> base = ClientBase.from_frames(orgs)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     base.to_parquet(d)
        ...     ClientBase.read_parquet(d).equals(base)
        True
        >>> with tempfile.TemporaryDirectory() as d:
        ...     base.to_parquet(d, partition_by="holding", n_partitions=2)
        ...     ClientBase.open_parquet(d)
        PartitionedClientBase(n_partitions=2, organisations=1)
        """
        if partition_by is None:
            if n_partitions is not None:
                raise InvalidParameterError(
                    "The 'n_partitions' parameter of ClientBase.to_parquet applies with "
                    "partition_by='holding'. Got partition_by=None."
                )
            _io.to_parquet(self._tables, Path(path))
            return
        if partition_by != "holding":
            raise InvalidParameterError(
                "The 'partition_by' parameter of ClientBase.to_parquet must be None or "
                f"'holding'. Got {partition_by!r} instead."
            )
        if n_partitions is None:
            n_partitions = max(1, -(-len(self._tables["organisations"]) // 20_000))
        if isinstance(n_partitions, bool) or not isinstance(n_partitions, int) or n_partitions < 1:
            raise InvalidParameterError(
                "The 'n_partitions' parameter of ClientBase.to_parquet must be a positive "
                f"integer. Got {n_partitions!r} instead."
            )
        from b2bclient.base._layout import write_partitioned

        write_partitioned(self._tables, self.reference_positions, Path(path), n_partitions)

    @classmethod
    def open_parquet(cls, path: str | Path) -> PartitionedClientBase:
        """Open a partitioned base written by ``to_parquet(path, partition_by="holding")``.

        Only the manifest is read here: partitions are read where they are processed (on the
        Dask workers), one at a time. See :class:`PartitionedClientBase`.

        Parameters
        ----------
        path : str or pathlib.Path
            The directory holding ``manifest.json``.

        Returns
        -------
        PartitionedClientBase

        Raises
        ------
        InvalidParameterError
            If `path` holds no partitioned base, a later format version or misses files.

        Examples
        --------
        >>> import tempfile
        >>> from b2bclient.base import ClientBase
        >>> from b2bclient.datasets import make_client_base
        >>> base = make_client_base(200, seed=1)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     base.to_parquet(d, partition_by="holding", n_partitions=3)
        ...     pbase = ClientBase.open_parquet(d)
        ...     pbase.validate()
        ...     pbase.to_client_base().organisations.shape[0]
        200
        """
        from b2bclient.base._partitioned import PartitionedClientBase

        return PartitionedClientBase.open(path)

    @classmethod
    def read_parquet(
        cls,
        path: str | Path,
        *,
        date_format: str | Mapping[str, str] | None = None,
        dayfirst: bool | None = None,
        columns: Mapping[str, Any] | None = None,
        values: Mapping[str, Any] | None = None,
        repair: str | Iterable[str] | None = None,
    ) -> ClientBase:
        """Read and validate a directory of ``<table>.parquet`` files (as :meth:`to_parquet` writes).

        Parameters
        ----------
        path : str or pathlib.Path
            The directory; only ``organisations.parquet`` is required.
        date_format, dayfirst, columns, values, repair
            Loading options, as in :class:`ClientBase`.

        Returns
        -------
        ClientBase

        Raises
        ------
        InvalidTablesError
            For a file named like a table but for its case or spelling (``Deals.parquet``), and
            for the problems validation finds.

        Warns
        -----
        B2BClientWarning
            Naming the other files of the directory, which are not read; and as the loaders do.

        Examples
        --------
        >>> import pandas as pd, tempfile, warnings
        >>> from pathlib import Path
        >>> from b2bclient.base import ClientBase
        >>> orgs = pd.DataFrame({"organisation_id": ["O-1"], "created_at": ["2024-01-01"]})
        >>> with tempfile.TemporaryDirectory() as d, warnings.catch_warnings(record=True) as w:
        ...     warnings.simplefilter("always")
        ...     ClientBase.from_frames(orgs).to_parquet(d)
        ...     _ = (Path(d) / "notes.txt").write_text("not a table")
        ...     base = ClientBase.read_parquet(d)
        >>> base.organisations["organisation_id"].tolist()
        ['O-1']
        >>> print(w[0].message)  # doctest: +ELLIPSIS
        1 file in '...' was not read (tables are read from <table>.parquet): ['notes.txt']
        """
        options = LoadOptions.make(
            date_format=date_format,
            dayfirst=dayfirst,
            columns=columns,
            values=values,
            repair=repair,
            owner="ClientBase.read_parquet",
        )
        frames, unread = _io.read_parquet(Path(path))
        _warn_unread(unread, Path(path), "<table>.parquet")
        return cls._load(frames, options)

    def to_csv(self, path: str | Path) -> None:
        """Write one CSV file per table into the directory `path` (times in ISO 8601, UTC).

        Floats are written with every digit they hold and times to the nanosecond when they
        have one, so :meth:`read_csv` gives back the same base (see ``docs/index.md``).

        Examples
        --------
        >>> import pandas as pd, tempfile
        >>> from pathlib import Path
        >>> from b2bclient.base import ClientBase
        >>> orgs = pd.DataFrame(
        ...     {
        ...         "organisation_id": ["O-1"],
        ...         "created_at": ["2024-01-01T10:00:00.000000001"],
        ...         "annual_revenue": [31788.239999999998],
        ...     }
        ... )
        >>> base = ClientBase.from_frames(orgs)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     base.to_csv(d)
        ...     print((Path(d) / "organisations.csv").read_text().splitlines()[1])
        ...     ClientBase.read_csv(d).equals(base)
        O-1,,,,,,31788.239999999998,,2024-01-01T10:00:00.000000001
        True
        """
        _io.to_csv(self._tables, Path(path))

    @classmethod
    def read_csv(
        cls,
        path: str | Path,
        *,
        sep: str = ",",
        encoding: str = "utf-8",
        decimal: str = ".",
        date_format: str | Mapping[str, str] | None = None,
        dayfirst: bool | None = None,
        columns: Mapping[str, Any] | None = None,
        values: Mapping[str, Any] | None = None,
        repair: str | Iterable[str] | None = None,
    ) -> ClientBase:
        """Read and validate a directory of ``<table>.csv`` files; only ``organisations.csv`` is required.

        Ids and text columns are read as text (``"007"`` stays ``"007"``, ``"NA"`` is an id, not
        a null: only an empty field is null there); floats are read exactly.

        Parameters
        ----------
        path : str or pathlib.Path
            The directory.
        sep : str, default ","
            Field separator, as in :func:`pandas.read_csv` (``";"`` for many European exports).
        encoding : str, default "utf-8"
            Text encoding of the files (``"latin-1"``, ``"cp1252"``, ...).
        decimal : str, default "."
            Decimal mark of the numbers (``","`` for many European exports).
        date_format, dayfirst, columns, values, repair
            Loading options, as in :class:`ClientBase`.

        Returns
        -------
        ClientBase

        Raises
        ------
        InvalidParameterError
            For a file that is not in `encoding` or cannot be parsed, naming the file.
        InvalidTablesError
            For a file named like a table but for its case or spelling (``Deals.csv``), and for
            the problems validation finds.

        Warns
        -----
        B2BClientWarning
            Naming the other files of the directory, which are not read; and as the loaders do.

        Examples
        --------
        >>> import pandas as pd, tempfile
        >>> from b2bclient.base import ClientBase
        >>> orgs = pd.DataFrame({"organisation_id": ["007"], "created_at": ["2024-01-01T10:00+02:00"]})
        >>> with tempfile.TemporaryDirectory() as d:
        ...     ClientBase.from_frames(orgs).to_csv(d)
        ...     ClientBase.read_csv(d).organisations.iloc[0].tolist()[::8]
        ['007', Timestamp('2024-01-01 08:00:00')]
        """
        options = LoadOptions.make(
            date_format=date_format,
            dayfirst=dayfirst,
            columns=columns,
            values=values,
            repair=repair,
            owner="ClientBase.read_csv",
        )
        frames, unread = _io.read_csv(
            Path(path), sep=sep, encoding=encoding, decimal=decimal, options=options
        )
        _warn_unread(unread, Path(path), "<table>.csv")
        return cls._load(frames, options)

    def to_sql(
        self, con: Any, *, prefix: str = "", schema: str | None = None, if_exists: str = "fail"
    ) -> None:
        """Write every table to a SQL database through SQLAlchemy (needs the ``sql`` extra).

        SQL timestamps hold microseconds: times with a nanosecond part lose it, and this warns
        when it happens.

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

        Warns
        -----
        B2BClientWarning
            When times lose their nanoseconds, naming the columns.

        Examples
        --------
        >>> import pandas as pd
        >>> import sqlalchemy
        >>> from b2bclient.base import ClientBase
        >>> engine = sqlalchemy.create_engine("sqlite://")
        >>> orgs = pd.DataFrame({"organisation_id": ["O-1"], "created_at": ["2024-01-01"]})
        >>> ClientBase.from_frames(orgs).to_sql(engine)
        >>> ClientBase.read_sql(engine).organisations["organisation_id"].tolist()
        ['O-1']
        """
        lost = _io.sub_microsecond(self._tables)
        if lost:
            warnings.warn(
                "SQL timestamps hold microseconds; these times lose their nanoseconds: "
                + ", ".join(f"{column} ({n})" for column, n in lost.items()),
                B2BClientWarning,
                stacklevel=2,
            )
        _io.to_sql(self._tables, con, prefix=prefix, schema=schema, if_exists=if_exists)

    @classmethod
    def read_sql(
        cls,
        con: Any,
        *,
        prefix: str = "",
        schema: str | None = None,
        date_format: str | Mapping[str, str] | None = None,
        dayfirst: bool | None = None,
        columns: Mapping[str, Any] | None = None,
        values: Mapping[str, Any] | None = None,
        repair: str | Iterable[str] | None = None,
    ) -> ClientBase:
        """Read and validate the tables written by :meth:`to_sql` (or any with the canonical names).

        Times stored as text are parsed by the same rules as every other loader. A SQLite URL
        must name an existing file: reading never creates an empty database.

        Parameters
        ----------
        con : str or sqlalchemy.engine.Engine
            A SQLAlchemy URL or engine.
        prefix : str
            Prefix of the table names.
        schema : str, optional
            Database schema (PostgreSQL) to read from.
        date_format, dayfirst, columns, values, repair
            Loading options, as in :class:`ClientBase`.

        Returns
        -------
        ClientBase

        Raises
        ------
        InvalidParameterError
            For a SQLite database file that does not exist.

        Examples
        --------
        >>> import pandas as pd, sqlalchemy
        >>> from b2bclient.base import ClientBase
        >>> engine = sqlalchemy.create_engine("sqlite://")
        >>> pd.DataFrame(  # a table written by another tool, times as text in two formats
        ...     {"organisation_id": ["O-1", "O-2"], "created_at": ["2024-01-31", "2024-02-01 10:00:00"]}
        ... ).to_sql("organisations", engine, index=False)
        2
        >>> ClientBase.read_sql(engine).organisations["created_at"].tolist()
        [Timestamp('2024-01-31 00:00:00'), Timestamp('2024-02-01 10:00:00')]
        """
        options = LoadOptions.make(
            date_format=date_format,
            dayfirst=dayfirst,
            columns=columns,
            values=values,
            repair=repair,
            owner="ClientBase.read_sql",
        )
        return cls._load(_io.read_sql(con, prefix=prefix, schema=schema), options)
