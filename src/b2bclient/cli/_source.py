"""Where the command reads a client base from and writes its results to, checked before the work."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import pandas as pd

from b2bclient._exceptions import InvalidParameterError, InvalidTablesError

__all__ = ["describe_problems", "output_directory", "read_source", "stderr_is_terminal"]


_FILE_SUFFIXES = (".csv", ".html", ".htm", ".json", ".jsonl", ".parquet", ".txt", ".xlsx", ".db")


def output_directory(path: str | Path) -> Path:
    """Create the output directory `path` (and its parents) now, or say why it cannot be used.

    Checked before any work, so that a long analysis never fails at its last step.

    Raises
    ------
    InvalidParameterError
        If `path` is an existing file or a new name that looks like a file (``x.csv``), or the
        directory cannot be created or written to.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     output_directory(Path(d) / "reports" / "2025").is_dir()
    True
    """
    out = Path(path)
    if not out.exists() and out.suffix.lower() in _FILE_SUFFIXES:
        raise InvalidParameterError(
            f"The output location --out {str(out)!r} looks like a file name; --out is a directory "
            f"(created if missing) that receives report.html, features.csv and the models. "
            f"Give a directory such as {str(out.parent / out.stem)!r}."
        )
    if out.exists() and not out.is_dir():
        raise InvalidParameterError(
            f"The output location --out {str(out)!r} is a file; give a directory, which is created "
            "if missing (the report, features and models are written into it)."
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".b2bclient-write-check"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InvalidParameterError(
            f"Cannot write to the output directory {str(out)!r}: {exc.strerror or exc}. Choose "
            "another --out."
        ) from None
    return out


def _sqlite_file(source: str) -> Path | None:
    """The file of a ``sqlite:///`` URL (None for other URLs and in-memory SQLite)."""
    if not source.startswith("sqlite:///"):
        return None
    name = source.removeprefix("sqlite:///")
    return Path(name) if name and name != ":memory:" else None


def read_source(source: str) -> Any:
    """Read and validate a client base from a directory, a SQLite file or a SQLAlchemy URL.

    Parameters
    ----------
    source : str
        A directory of ``<table>.parquet`` or ``<table>.csv`` files, a SQLite database file
        (``.db``, ``.sqlite``, ``.sqlite3``) or a SQLAlchemy URL such as
        ``postgresql+psycopg://user@host/crm``.

    Returns
    -------
    ClientBase

    Raises
    ------
    InvalidTablesError
        If the tables fail validation.
    InvalidParameterError
        If there is no client base at `source`, or it cannot be read (a database that does not
        answer, a file without permission).

    Examples
    --------
    >>> read_source("no/such/dir")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    b2bclient._exceptions.InvalidParameterError: No client base at 'no/such/dir': ...
    """
    from b2bclient.base import ClientBase

    path = Path(source)
    if "://" not in source and path.is_file() and path.suffix in (".db", ".sqlite", ".sqlite3"):
        source = f"sqlite:///{path}"
    try:
        if "://" in source:
            file = _sqlite_file(source)
            if file is not None and not file.is_file():
                raise InvalidParameterError(f"No SQLite database at {str(file)!r}.")
            return _read_sql(ClientBase, source)
        if (path / "organisations.parquet").exists():
            return ClientBase.read_parquet(path)
        if (path / "organisations.csv").exists():
            return ClientBase.read_csv(path)
    except OSError as exc:
        raise InvalidParameterError(
            f"Cannot read the client base at {source!r}: {exc.strerror or exc}"
        ) from None
    hint = "it does not exist" if not path.exists() else "it holds no organisations table"
    raise InvalidParameterError(
        f"No client base at {source!r}: {hint}. Expected a directory with organisations.parquet "
        "or organisations.csv (and the other tables beside it), a SQLite file, or a SQLAlchemy "
        "URL such as sqlite:///clients.db or postgresql+psycopg://user@host/crm."
    )


def _read_sql(cls: Any, url: str) -> Any:
    from b2bclient._optional import import_optional

    exc_module = import_optional("sqlalchemy.exc", extra="sql", purpose="Reading from SQL")
    try:
        return cls.read_sql(url)
    except exc_module.SQLAlchemyError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidParameterError(
            f"Cannot read the client base from {_hide_password(url)!r}: {first}"
        ) from None


def _hide_password(url: str) -> str:
    with contextlib.suppress(Exception):
        import sqlalchemy

        return str(sqlalchemy.engine.make_url(url).render_as_string(hide_password=True))
    return url


def describe_problems(error: InvalidTablesError, *, examples: int = 5) -> pd.DataFrame:
    """Return validation problems grouped by table, column and check, with the first ids.

    Examples
    --------
    >>> problems = pd.DataFrame({"table": ["deals", "deals"], "column": ["amount", "amount"],
    ...     "check": ["range", "range"], "row_id": ["D-1", "D-7"], "value": [-5.0, -1.0]})
    >>> describe_problems(InvalidTablesError("2 problems", problems)).to_dict("records")[0]
    {'table': 'deals', 'column': 'amount', 'check': 'range', 'count': 2, 'ids': 'D-1, D-7', 'values': '-5.0, -1.0'}
    """
    problems = error.problems
    rows = []
    keys = ["table", "column", "check"]
    for (table, column, check), group in problems.groupby(keys, sort=False, dropna=False):
        ids = list(  # in order, each once (two rows sharing a key have the same id)
            dict.fromkeys(
                str(i) for i in group["row_id"].tolist() if i is not None and not pd.isna(i)
            )
        )
        values = [str(v) for v in group["value"].tolist() if v is not None and not pd.isna(v)]
        more = f" (+{len(ids) - examples} more)" if len(ids) > examples else ""
        rows.append(
            {
                "table": table,
                "column": column,
                "check": check,
                "count": len(group),
                "ids": ", ".join(ids[:examples]) + more,
                "values": ", ".join(values[: min(examples, 3)]),
            }
        )
    return pd.DataFrame(rows, columns=["table", "column", "check", "count", "ids", "values"])


def stderr_is_terminal() -> bool:
    """Whether standard error is an interactive terminal (progress bars go there)."""
    try:
        return os.isatty(2)
    except OSError:
        return False
