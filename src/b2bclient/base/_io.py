"""Reading and writing the canonical tables: Parquet, CSV and SQL (through SQLAlchemy).

Round trips (see ``docs/index.md``): Parquet is exact; CSV is exact for canonical columns
(floats are read with Python's round-trip parser, times written to the nanosecond when they have
one, ids and text read as text so that ``"NA"`` stays ``"NA"``); SQL timestamps hold
microseconds.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError, InvalidTablesError
from b2bclient._optional import import_optional
from b2bclient.base._options import LoadOptions
from b2bclient.base._problems import Problems
from b2bclient.base._schema import SCHEMAS, TABLE_NAMES

__all__ = [
    "read_csv",
    "read_parquet",
    "read_sql",
    "sub_microsecond",
    "to_csv",
    "to_parquet",
    "to_sql",
]

#: pandas' default strings read as null, kept for the columns that are not text.
_NA_STRINGS = [
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
]
_TEXT_KINDS = ("id", "str", "enum")


def _directory(path: Path, *, reading: bool) -> Path:
    if reading and not path.is_dir():
        raise InvalidParameterError(
            f"Expected a directory of table files at {str(path)!r}; it does not exist."
        )
    if not reading:
        path.mkdir(parents=True, exist_ok=True)
    return path


def _missing_organisations(what: str) -> InvalidTablesError:
    """Return the error of a source without its one required table; `what` says where we looked."""
    return InvalidTablesError(
        f"1 problem in 'organisations'\n  *: {what}; it is the one required table",
        pd.DataFrame(
            [("organisations", "*", "missing_table", None, None)],
            columns=["table", "column", "check", "row_id", "value"],
        ),
    )


def _spelling(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _table_files(path: Path, suffix: str) -> tuple[dict[str, Path], list[str]]:
    """Return the table files of a directory and the names of the other files, in order.

    Raises
    ------
    InvalidTablesError
        For a file named like a table whose own file is absent, but for case, spacing or a
        close spelling (``Deals.csv``, ``deal.csv``): the table would be read as empty.
    """
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    found = {p.name[: -len(suffix)]: p for p in files if p.name.endswith(suffix)}
    tables = {name: found[name] for name in TABLE_NAMES if name in found}
    read = set(tables.values())
    unread = [p.name for p in files if p not in read]
    problems = Problems()
    for name in list(unread):
        if not name.lower().endswith(suffix):
            continue
        stem = _spelling(name[: -len(suffix)])
        close = difflib.get_close_matches(stem, [t for t in TABLE_NAMES if t not in tables], 1, 0.8)
        if close:
            problems.add(
                close[0],
                "*",
                "file_name",
                f"file {name!r} was not read: the {close[0]} table is read from "
                f"'{close[0]}{suffix}'; did you mean '{close[0]}{suffix}'? Rename the file",
                [name],
                [name],
            )
    problems.raise_if_any(dict.fromkeys(TABLE_NAMES, "file"))
    return tables, unread


def to_parquet(tables: Mapping[str, pd.DataFrame], path: Path) -> None:
    """Write one ``<table>.parquet`` file per table into directory `path`."""
    import_optional("pyarrow", extra="parquet", purpose="Parquet I/O")
    _directory(path, reading=False)
    for name in TABLE_NAMES:
        tables[name].to_parquet(path / f"{name}.parquet", index=False)


def read_parquet(path: Path) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Read every ``<table>.parquet`` file of directory `path`; also return the files not read."""
    import_optional("pyarrow", extra="parquet", purpose="Parquet I/O")
    _directory(path, reading=True)
    files, unread = _table_files(path, ".parquet")
    frames = {name: pd.read_parquet(file) for name, file in files.items()}
    if "organisations" not in frames:
        raise _missing_organisations(f"no organisations.parquet in {str(path)!r}")
    return frames, unread


def _iso(times: pd.Series) -> pd.Series:
    """Return times as ISO 8601 text with as many second decimals as the column needs."""
    values = times.to_numpy(dtype="datetime64[ns]")
    ints = values.view(np.int64)
    known = ~np.isnat(values)
    unit: Literal["ns", "us", "s"] = "s"
    if (ints[known] % 1_000).any():
        unit = "ns"
    elif (ints[known] % 1_000_000_000).any():
        unit = "us"
    text = np.datetime_as_string(values, unit=unit).astype(object)
    text[~known] = None
    return pd.Series(text, index=times.index)


def to_csv(tables: Mapping[str, pd.DataFrame], path: Path) -> None:
    """Write one ``<table>.csv`` file per table into directory `path`, times in ISO 8601."""
    _directory(path, reading=False)
    for name in TABLE_NAMES:
        df = tables[name].copy(deep=False)  # columns are replaced, never modified in place
        for column in df.columns:
            if pd.api.types.is_datetime64_dtype(df[column].dtype):
                df[column] = _iso(df[column])
        # floats are written as Python's repr, which round-trips
        df.to_csv(path / f"{name}.csv", index=False)


def _canonical_names(name: str, header: list[str], options: LoadOptions) -> dict[str, str]:
    """Return, for each column of a file, the canonical name it will have after `columns=`."""
    rename = {**options.columns.get("*", {}), **options.columns.get(name, {})}
    return {c: rename.get(c, c) for c in header}


def read_csv(
    path: Path,
    *,
    sep: str = ",",
    encoding: str = "utf-8",
    decimal: str = ".",
    options: LoadOptions | None = None,
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Read every ``<table>.csv`` file of directory `path`; also return the files not read.

    Ids and text columns (also those that ``columns=`` maps to one) are read as text, with only
    the empty field as null; other columns read pandas' usual null strings. Floats are read
    with the round-trip parser, so they come back exactly.
    """
    options = options or LoadOptions()
    _directory(path, reading=True)
    files, unread = _table_files(path, ".csv")
    frames = {}
    for name, file in files.items():
        kinds = {c.name: c.kind for c in SCHEMAS[name].columns}
        read = {"sep": sep, "encoding": encoding, "decimal": decimal}
        try:
            header = [str(c) for c in pd.read_csv(file, nrows=0, **read).columns]
            canonical = _canonical_names(name, header, options)
            text = [c for c in header if kinds.get(canonical[c]) in _TEXT_KINDS]
            df = pd.read_csv(
                file,
                dtype=dict.fromkeys(text, "string"),
                keep_default_na=False,
                na_values={c: ([""] if c in text else _NA_STRINGS) for c in header},
                float_precision="round_trip",
                **read,
            )
        except UnicodeDecodeError as exc:
            raise InvalidParameterError(
                f"The file {str(file)!r} is not {encoding} text (byte {exc.object[exc.start]:#x} "
                f"at position {exc.start}); pass its encoding, e.g. "
                f"ClientBase.read_csv(path, encoding='latin-1')."
            ) from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
            raise InvalidParameterError(
                f"The file {str(file)!r} cannot be read as CSV with sep={sep!r}: {exc}"
            ) from None
        for column in df.columns:
            if column in text or df[column].dtype == object:
                df[column] = df[column].astype(object).where(df[column].notna(), None)
        frames[name] = df
    if "organisations" not in frames:
        raise _missing_organisations(f"no organisations.csv in {str(path)!r}")
    return frames, unread


def sub_microsecond(tables: Mapping[str, pd.DataFrame]) -> dict[str, int]:
    """Return, per ``table.column``, how many times have a part below the microsecond."""
    out = {}
    for name, df in tables.items():
        for column in df.columns:
            if pd.api.types.is_datetime64_dtype(df[column].dtype):
                values = df[column].to_numpy(dtype="datetime64[ns]")
                ints = values.view(np.int64)[~np.isnat(values)]  # NaT is not a time that loses
                lost = int(((ints % 1_000) != 0).sum())
                if lost:
                    out[f"{name}.{column}"] = lost
    return out


def _engine(con: Any, *, reading: bool = False) -> Any:
    sqlalchemy = import_optional("sqlalchemy", extra="sql", purpose="SQL I/O")
    url = sqlalchemy.engine.make_url(con) if isinstance(con, str) else getattr(con, "url", None)
    if reading and url is not None and url.get_backend_name() == "sqlite":
        database = url.database
        on_disk = database and database != ":memory:" and not database.startswith("file:")
        if on_disk and not Path(database).exists():
            raise InvalidParameterError(
                f"No SQLite database at {database!r}; read_sql reads an existing database and "
                f"never creates one. Check the path."
            )
    if isinstance(con, str):
        return sqlalchemy.create_engine(con)
    return con


def to_sql(
    tables: Mapping[str, pd.DataFrame],
    con: Any,
    *,
    prefix: str = "",
    schema: str | None = None,
    if_exists: str = "fail",
) -> None:
    """Write every table to a SQL database through SQLAlchemy, in one transaction."""
    if if_exists not in ("fail", "replace"):
        raise InvalidParameterError(
            f"The 'if_exists' parameter of ClientBase.to_sql must be 'fail' or 'replace'. Got {if_exists!r} instead."
        )
    engine = _engine(con)
    sqlalchemy = import_optional("sqlalchemy", extra="sql", purpose="SQL I/O")
    with engine.begin() as connection:
        for name in TABLE_NAMES:
            out = tables[name].copy(deep=False)  # columns are replaced, never modified in place
            dtypes: dict[str, Any] = {}
            for column in SCHEMAS[name].columns:
                if column.kind == "enum":
                    out[column.name] = out[column.name].astype(object)
                    dtypes[column.name] = sqlalchemy.Text()
                elif column.kind in ("id", "str"):
                    dtypes[column.name] = sqlalchemy.Text()
                elif column.kind == "time":
                    dtypes[column.name] = sqlalchemy.DateTime()
            try:
                out.to_sql(
                    prefix + name,
                    connection,
                    schema=schema,
                    if_exists=if_exists,
                    index=False,
                    dtype=dtypes,
                    chunksize=50_000,
                )
            except ValueError as exc:
                raise InvalidParameterError(
                    f"Cannot write table {prefix + name!r}: {exc}. Pass if_exists='replace' to overwrite it."
                ) from exc


def read_sql(con: Any, *, prefix: str = "", schema: str | None = None) -> dict[str, pd.DataFrame]:
    """Read every canonical table present in a SQL database through SQLAlchemy."""
    engine = _engine(con, reading=True)
    sqlalchemy = import_optional("sqlalchemy", extra="sql", purpose="SQL I/O")
    inspector = sqlalchemy.inspect(engine)
    present = set(inspector.get_table_names(schema=schema))
    frames = {}
    with engine.connect() as connection:
        for name in TABLE_NAMES:
            table = prefix + name
            if table not in present:
                continue
            # No parse_dates: times stored as text go through the loaders' one parsing path
            # (pandas' own parsing turns a column of mixed formats into NaT).
            frames[name] = pd.read_sql_table(table, connection, schema=schema)
    if "organisations" not in frames:
        raise _missing_organisations(f"no table {prefix + 'organisations'!r} in the database")
    return frames
