"""Reading and writing the canonical tables: Parquet, CSV and SQL (through SQLAlchemy)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from b2bclient._exceptions import InvalidParameterError, InvalidTablesError
from b2bclient._optional import import_optional
from b2bclient.base._schema import SCHEMAS, TABLE_NAMES

__all__ = ["read_csv", "read_parquet", "read_sql", "to_csv", "to_parquet", "to_sql"]


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


def to_parquet(tables: Mapping[str, pd.DataFrame], path: Path) -> None:
    """Write one ``<table>.parquet`` file per table into directory `path`."""
    import_optional("pyarrow", extra="parquet", purpose="Parquet I/O")
    _directory(path, reading=False)
    for name in TABLE_NAMES:
        tables[name].to_parquet(path / f"{name}.parquet", index=False)


def read_parquet(path: Path) -> dict[str, pd.DataFrame]:
    """Read every ``<table>.parquet`` file present in directory `path`."""
    import_optional("pyarrow", extra="parquet", purpose="Parquet I/O")
    _directory(path, reading=True)
    frames = {
        name: pd.read_parquet(path / f"{name}.parquet")
        for name in TABLE_NAMES
        if (path / f"{name}.parquet").exists()
    }
    if "organisations" not in frames:
        raise _missing_organisations(f"no organisations.parquet in {str(path)!r}")
    return frames


def to_csv(tables: Mapping[str, pd.DataFrame], path: Path) -> None:
    """Write one ``<table>.csv`` file per table into directory `path`, times in ISO 8601."""
    _directory(path, reading=False)
    for name in TABLE_NAMES:
        df = tables[name].copy(deep=False)  # columns are replaced, never modified in place
        for column in df.columns:
            if pd.api.types.is_datetime64_dtype(df[column].dtype):
                df[column] = df[column].dt.strftime("%Y-%m-%dT%H:%M:%S.%f")
        df.to_csv(path / f"{name}.csv", index=False)


def read_csv(path: Path) -> dict[str, pd.DataFrame]:
    """Read every ``<table>.csv`` file present in directory `path`.

    Ids and text columns are read as strings (so ``"007"`` stays ``"007"``); the rest is coerced
    by validation.
    """
    _directory(path, reading=True)
    frames = {}
    for name in TABLE_NAMES:
        file = path / f"{name}.csv"
        if not file.exists():
            continue
        text = {c.name: "string" for c in SCHEMAS[name].columns if c.kind in ("id", "str", "enum")}
        df = pd.read_csv(file, dtype=text, keep_default_na=True)
        for column in df.columns:
            if column in text or df[column].dtype == object:
                df[column] = df[column].astype(object).where(df[column].notna(), None)
        frames[name] = df
    if "organisations" not in frames:
        raise _missing_organisations(f"no organisations.csv in {str(path)!r}")
    return frames


def _engine(con: Any) -> Any:
    sqlalchemy = import_optional("sqlalchemy", extra="sql", purpose="SQL I/O")
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
    engine = _engine(con)
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
