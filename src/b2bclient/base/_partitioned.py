"""The :class:`PartitionedClientBase`: a client base on disk, read one partition at a time."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient._time import to_timestamp
from b2bclient.base._clientbase import ClientBase
from b2bclient.base._crosscheck import (
    check_partition,
    overlaps,
    raise_problems,
    reduce_checks,
    resolve_in_partition,
    wanted_ids,
)
from b2bclient.base._engine import import_dask, resolve_engine, run_tasks
from b2bclient.base._layout import (
    PARTITIONED,
    SHARED,
    partition_file,
    read_manifest,
    read_partition,
)
from b2bclient.base._options import LoadOptions
from b2bclient.base._schema import TABLE_NAMES

__all__ = ["PartitionedClientBase", "in_memory_engine", "score_partitions"]


class PartitionedClientBase:
    """A client base stored as partitions of whole holdings, read where it is processed.

    Open one with :meth:`ClientBase.open_parquet`; write one with
    ``ClientBase.to_parquet(path, partition_by="holding")`` or
    :func:`b2bclient.datasets.write_client_base`. Nothing but the manifest is read on opening:
    :meth:`partition` reads and validates one partition as an in-memory
    :class:`ClientBase`; :meth:`validate` checks every partition (on the Dask workers with
    ``engine="dask"``) and what crosses partitions; :meth:`map_partitions` and
    :func:`~b2bclient.features.build_features` run partition by partition, each task reading its
    own partition, so the calling process never holds the whole base.

    A relationship between holdings of two partitions is stored with its source organisation;
    :meth:`partition` keeps the relationships whose two ends it holds (the others are not
    valid within one partition) and ``build_features`` joins the links between partitions in an
    explicit reduce step, so its results equal the in-memory ones.

    Examples
    --------
    >>> import tempfile
    >>> from b2bclient.datasets import make_client_base
    >>> base = make_client_base(300, seed=2)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     base.to_parquet(d, partition_by="holding", n_partitions=3)
    ...     pbase = ClientBase.open_parquet(d)
    ...     sizes = [len(pbase.partition(i)) for i in range(pbase.n_partitions)]
    ...     cut = pbase.as_of("2024-01-01").partition(0)
    >>> sum(sizes), pbase.n_partitions
    (300, 3)
    >>> cut.known_before
    Timestamp('2024-01-01 00:00:00')
    """

    def __init__(
        self,
        path: str | Path,
        manifest: dict[str, Any],
        known_before: pd.Timestamp | None = None,
        validated: dict[str, tuple[int, int]] | None = None,
    ) -> None:
        self._path = Path(path)
        self._manifest = manifest
        self._known_before = known_before
        # The size and modification time of every file when validate() passed: a partition
        # whose files are unchanged is not validated again when read.
        self._validated = validated

    @classmethod
    def open(cls, path: str | Path) -> PartitionedClientBase:
        """Open the partitioned base at `path` (reads its manifest); see :meth:`ClientBase.open_parquet`."""
        path = Path(path)
        return cls(path, read_manifest(path))

    # --- description ----------------------------------------------------------------------------

    @property
    def path(self) -> Path:
        """Return the directory of the base."""
        return self._path

    @property
    def n_partitions(self) -> int:
        """Return the number of partitions."""
        return int(self._manifest["n_partitions"])

    @property
    def manifest(self) -> dict[str, Any]:
        """Return a copy of the manifest: format version, partitions, row counts, key ranges."""
        return copy.deepcopy(self._manifest)

    @property
    def known_before(self) -> pd.Timestamp | None:
        """Return the time this view was cut at by :meth:`as_of`, or None for the full base."""
        return self._known_before

    @property
    def absent_tables(self) -> frozenset[str]:
        """Return the tables without any row in any partition (as ``ClientBase.absent_tables``)."""
        tables = self._manifest["tables"]
        return frozenset(n for n in TABLE_NAMES if self._rows(tables[n]) == 0)

    @staticmethod
    def _rows(entry: dict[str, Any]) -> int:
        rows = entry["rows"]
        return int(sum(rows)) if isinstance(rows, list) else int(rows)

    def rows(self) -> pd.DataFrame:
        """Return the rows of each table in each partition, from the manifest.

        Shared tables (``products``) are counted once, under partition ``"shared"``.
        """
        out = {}
        for name in TABLE_NAMES:
            entry = self._manifest["tables"][name]
            if name in SHARED:
                continue
            out[name] = entry["rows"]
        frame = pd.DataFrame(out, index=pd.RangeIndex(self.n_partitions, name="partition"))
        return frame

    def __len__(self) -> int:
        """Return the number of organisations (of the full base, from the manifest)."""
        return self._rows(self._manifest["tables"]["organisations"])

    def __repr__(self) -> str:
        cut = (
            f", known_before={self._known_before.isoformat()!r}"
            if self._known_before is not None
            else ""
        )
        return f"PartitionedClientBase(n_partitions={self.n_partitions}, organisations={len(self):,}{cut})"

    # --- partitions -----------------------------------------------------------------------------

    def _check_index(self, i: Any) -> int:
        if (
            isinstance(i, bool)
            or not isinstance(i, (int, np.integer))
            or not 0 <= i < self.n_partitions
        ):
            raise InvalidParameterError(
                f"The partition index must be an integer in [0, {self.n_partitions}). "
                f"Got {i!r} instead."
            )
        return int(i)

    def partition(self, i: int) -> ClientBase:
        """Read, validate and return partition `i` as an in-memory client base.

        The shared tables (``products``) are included; relationships are those with both ends
        in the partition. On a view :meth:`as_of` the partition is cut at its time.

        Raises
        ------
        InvalidParameterError
            For an index outside ``range(n_partitions)``.
        InvalidTablesError
            If the partition alone fails validation.
        """
        i = self._check_index(i)
        frames = read_partition(self._path, i)
        frames["relationships"] = inside_links(frames)
        signatures = _signatures(self._path, i)
        validated = self._validated
        if validated is not None and all(validated.get(k) == v for k, v in signatures.items()):
            # validate() passed on these very files: the canonical frames round-trip exactly.
            base = ClientBase(frames, validate=False)
        else:
            base = ClientBase._load(frames, LoadOptions(), stacklevel=3)
        return base if self._known_before is None else base.as_of(self._known_before)

    def partitions(self) -> Iterator[ClientBase]:
        """Yield every partition in turn, as :meth:`partition` (one in memory at a time)."""
        for i in range(self.n_partitions):
            yield self.partition(i)

    def links(self, i: int) -> pd.DataFrame:
        """Return the relationships stored in partition `i` whose other end lies in another one.

        On a view :meth:`as_of` only those known before its time are returned.
        """
        i = self._check_index(i)
        frames = read_partition(self._path, i, ("organisations", "relationships"))
        rel = frames["relationships"]
        ids = frames["organisations"]["organisation_id"]
        outside = ~(rel["source_id"].isin(ids) & rel["target_id"].isin(ids))
        out = rel.loc[outside.to_numpy()]
        if self._known_before is not None:
            out = out.loc[(out["since"] < self._known_before).to_numpy()]
        return out.reset_index(drop=True)

    def to_client_base(self) -> ClientBase:
        """Read every partition into one in-memory client base (for data that fits in memory).

        Raises
        ------
        InvalidTablesError
            If the whole base fails validation.
        """
        parts = [read_partition(self._path, i, PARTITIONED) for i in range(self.n_partitions)]
        frames = {
            name: pd.concat([p[name] for p in parts], ignore_index=True) for name in PARTITIONED
        }
        frames.update(read_partition(self._path, 0, SHARED))
        base = ClientBase._load(frames, LoadOptions(), stacklevel=3)
        return base if self._known_before is None else base.as_of(self._known_before)

    # --- point in time --------------------------------------------------------------------------

    def as_of(self, t: Any) -> PartitionedClientBase:
        """Return a view of the base as known just before `t`; each partition is cut when read.

        Raises
        ------
        InvalidParameterError
            For an invalid `t`, or one later than the time this view was already cut at.
        """
        cut = to_timestamp(t, name="t", owner="PartitionedClientBase.as_of")
        if self._known_before is not None and cut > self._known_before:
            raise InvalidParameterError(
                f"This client base was cut as of {self._known_before}; it cannot be viewed as of "
                f"the later time {cut}. Call as_of on the full base instead."
            )
        return PartitionedClientBase(self._path, self._manifest, cut, self._validated)

    # --- validation -----------------------------------------------------------------------------

    def validate(self, *, engine: Any = "pandas") -> None:
        """Validate every partition and what crosses partitions; raise if anything is wrong.

        Each partition is validated like an in-memory base; a reduce step then checks that keys
        are unique across partitions, that a reference not found in its partition exists in
        another (a relationship between holdings; any other reference must stay in its
        partition) and the time order of links between partitions. Problems are reported
        exactly like :class:`ClientBase` does. Once it passes, :meth:`partition` (and what
        reads partitions: ``build_features``, :meth:`map_partitions`) does not validate again
        a partition whose files are unchanged (same size and modification time); a changed
        file is validated again when read.

        Parameters
        ----------
        engine : {"pandas", "dask"} or distributed.Client, default "pandas"
            Where the partitions are read and checked: one after the other in this process, or
            as tasks on Dask (each worker reads its partitions; only problems, unresolved ids
            and key ranges come back).

        Raises
        ------
        InvalidTablesError
            With every problem found; ``err.problems`` has columns table, column, check, row_id
            and value.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from b2bclient import InvalidTablesError
        >>> orgs = pd.DataFrame({"organisation_id": ["O-1", "O-2"],
        ...                      "created_at": ["2024-01-01"] * 2})
        >>> deals = pd.DataFrame({"deal_id": ["D-1", "D-2"], "organisation_id": ["O-1", "O-2"],
        ...                       "created_at": ["2024-02-01"] * 2, "amount": [1.0, 2.0]})
        >>> base = ClientBase.from_frames(orgs, deals=deals)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     base.to_parquet(d, partition_by="holding", n_partitions=2)
        ...     file = Path(d) / "deals" / "part-00001.parquet"
        ...     part = pd.read_parquet(file)
        ...     part.assign(deal_id="D-1").to_parquet(file)   # D-2 renamed: D-1 in both
        ...     try:
        ...         ClientBase.open_parquet(d).validate()
        ...     except InvalidTablesError as err:
        ...         print(err.problems[["table", "column", "check", "row_id"]])
           table   column          check row_id
        0  deals  deal_id  duplicate_key    D-1
        1  deals  deal_id  duplicate_key    D-1
        """
        owner = "PartitionedClientBase.validate"
        before = {
            k: v for i in range(self.n_partitions) for k, v in _signatures(self._path, i).items()
        }
        items = [(self._path, i) for i in range(self.n_partitions)]
        reports = run_tasks(engine, check_partition, items, owner)
        wanted = wanted_ids(reports)
        intervals = overlaps([r["ranges"] for r in reports])
        resolved: list[dict[str, Any]] = []
        if wanted or intervals:
            resolved = run_tasks(
                engine,
                resolve_in_partition,
                [(self._path, i, wanted, intervals) for i in range(self.n_partitions)],
                owner,
            )
        raise_problems(reduce_checks(reports, resolved))
        self._validated = before

    # --- partition-wise execution ---------------------------------------------------------------

    def map_partitions(
        self,
        func: Callable[..., pd.DataFrame | pd.Series],
        *args: Any,
        engine: Any = "pandas",
        meta: Any = None,
        **kwargs: Any,
    ) -> Any:
        """Apply ``func(partition, *args, **kwargs)`` to every partition, each where it is read.

        `func` takes an in-memory :class:`ClientBase` (one partition, cut at this view's time)
        and returns a frame or series indexed by organisation; it must be a per-organisation
        computation (statistics across organisations need a reduce, as ``build_features``
        does for relationships).

        Parameters
        ----------
        func : callable
            Such as :func:`b2bclient.btyd.rfm_summary`.
        *args, **kwargs
            Passed on to `func`.
        engine : {"pandas", "dask"} or distributed.Client, default "pandas"
            ``"pandas"`` runs partition after partition here and returns the stacked pandas
            result; ``"dask"`` or a client returns a lazy Dask DataFrame with one partition per
            partition of the base, computed on the workers.
        meta : optional
            Dask's description of the output (an empty frame); without it Dask computes the
            first partition to learn it.

        Returns
        -------
        pandas.DataFrame, pandas.Series or dask.dataframe.DataFrame

        Examples
        --------
        >>> import tempfile
        >>> from b2bclient.datasets import make_client_base
        >>> from b2bclient.btyd import rfm_summary
        >>> base = make_client_base(300, seed=2)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     base.to_parquet(d, partition_by="holding", n_partitions=3)
        ...     pbase = ClientBase.open_parquet(d)
        ...     rfm = pbase.map_partitions(rfm_summary, "2024-01-01", freq="W").sort_index()
        >>> rfm.equals(rfm_summary(base, "2024-01-01", freq="W"))
        True
        """
        kind, _client = resolve_engine(engine, "PartitionedClientBase.map_partitions")
        if kind == "pandas":
            return pd.concat([func(p, *args, **kwargs) for p in self.partitions()])
        dask = import_dask()
        import dask.dataframe as dd

        task = dask.delayed(_apply, pure=False)
        parts = [task(self, i, func, args, kwargs) for i in range(self.n_partitions)]
        if meta is None:
            return dd.from_delayed(parts)
        return dd.from_delayed(parts, meta=meta)


def score_partitions(
    pbase: PartitionedClientBase,
    func: Callable[..., Any],
    model: Any,
    *args: Any,
    engine: Any,
    owner: str,
    finish: Callable[[list[Any]], Any] | None = None,
    **kwargs: Any,
) -> Any:
    """Return ``func(model, partition, *args, **kwargs)`` of every partition, each where it is read.

    The plumbing of every scoring entry point that accepts a partitioned base: `model` is fitted
    in memory and `func` scores one partition (an in-memory :class:`ClientBase`) with it, as the
    in-memory method does on a whole base. `func` must be a per-organisation computation: what
    it needs across organisations is in the fitted model (or refused by the entry point).

    Parameters
    ----------
    pbase : PartitionedClientBase
        The base; each task reads its own partition.
    func : callable
        ``func(model, partition, *args, **kwargs)`` returns a frame or series; a module-level
        function (the tasks are pickled to the workers).
    model : object
        The fitted model, sent to each worker once (scattered with a distributed client).
    engine : {"pandas", "dask"} or distributed.Client
        ``"pandas"``: partitions one after the other here; otherwise a lazy Dask DataFrame (or
        Series) with one partition per partition of the base.
    owner : str
        The entry point, named in errors.
    finish : callable, optional
        With ``engine="pandas"``, turns the list of the partitions' results into the in-memory
        result (its order); by default they are stacked.

    Returns
    -------
    pandas.DataFrame, pandas.Series or a lazy dask.dataframe.DataFrame or Series
        Dask describes the result by ``func`` on a base without organisations (``meta``); rows
        come partition after partition, each partition in the in-memory order.

    Examples
    --------
    >>> import tempfile
    >>> from b2bclient.datasets import make_client_base
    >>> def open_deals(model, part, t):
    ...     view = part.as_of(t).deals
    ...     return view.loc[view["status"] == "open", ["deal_id", "amount"]]
    >>> base = make_client_base(300, seed=2)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     base.to_parquet(d, partition_by="holding", n_partitions=3)
    ...     pbase = ClientBase.open_parquet(d)
    ...     deals = score_partitions(pbase, open_deals, None, "2024-01-01", engine="pandas",
    ...                              owner="example")
    >>> len(deals) == int((base.as_of("2024-01-01").deals["status"] == "open").sum())
    True
    """
    kind, client = resolve_engine(engine, owner)
    n = pbase.n_partitions
    if kind == "pandas":
        results = [func(model, pbase.partition(i), *args, **kwargs) for i in range(n)]
        return finish(results) if finish is not None else pd.concat(results)
    dask = import_dask()
    import dask.dataframe as dd

    meta = func(model, _empty_base(), *args, **kwargs).iloc[:0]
    ref: Any = model
    if client is not None:
        # Once per worker rather than once per task; a random key (hash=False) so that a later
        # graph never asks for a copy that is being released.
        [ref] = client.scatter([model], broadcast=True, hash=False)
    task = dask.delayed(_score, pure=False)
    parts = [task(pbase, i, func, ref, args, kwargs) for i in range(n)]
    # Object columns stay object (Dask would turn them into pyarrow strings): equal results.
    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_delayed(parts, meta=meta, verify_meta=False)


def in_memory_engine(engine: Any, owner: str) -> None:
    """Refuse an `engine` other than ``"pandas"`` for an in-memory base, naming the way to Dask.

    Raises
    ------
    InvalidParameterError
        For ``"dask"`` or a client (or an invalid engine).

    Examples
    --------
    >>> in_memory_engine("pandas", "example")
    """
    kind, _client = resolve_engine(engine, owner)
    if kind != "pandas":
        raise InvalidParameterError(
            f"{owner} runs on Dask partition by partition, with a partitioned client base "
            f"(base.to_parquet(path, partition_by='holding'), then ClientBase.open_parquet(path)); "
            f"an in-memory base takes engine='pandas'. Got engine={engine!r}."
        )


def _score(
    pbase: PartitionedClientBase,
    i: int,
    func: Callable[..., Any],
    model: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    return func(model, pbase.partition(i), *args, **kwargs)


def _empty_base() -> ClientBase:
    """Return a valid client base without organisations (what Dask's ``meta`` is computed on)."""
    return ClientBase.from_frames(
        pd.DataFrame({"organisation_id": pd.Series([], dtype=object), "created_at": []})
    )


def _apply(
    pbase: PartitionedClientBase,
    i: int,
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    return func(pbase.partition(i), *args, **kwargs)


def _signatures(path: Path, i: int) -> dict[str, tuple[int, int]]:
    """Return the size and modification time of the files partition `i` is read from."""
    files = [partition_file(path, name, i) for name in PARTITIONED]
    files += [path / f"{name}.parquet" for name in SHARED]
    out = {}
    for file in files:
        stat = file.stat()
        out[str(file)] = (stat.st_size, stat.st_mtime_ns)
    return out


def inside_links(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Return the relationships of raw partition frames whose two ends the partition holds."""
    rel = frames["relationships"]
    ids = frames["organisations"]["organisation_id"]
    inside = (rel["source_id"].isin(ids) | rel["source_id"].isna()) & (
        rel["target_id"].isin(ids) | rel["target_id"].isna()
    )
    return rel.loc[inside.to_numpy()].reset_index(drop=True)
