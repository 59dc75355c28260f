"""Where partition-wise work runs: in this process, on Dask's scheduler or a distributed client."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from b2bclient._exceptions import InvalidParameterError
from b2bclient._optional import import_optional

__all__ = ["import_dask", "resolve_engine", "run_tasks"]


def import_dask(purpose: str = "engine='dask'") -> Any:
    """Import dask, or raise the error naming the ``dask`` extra."""
    return import_optional("dask", extra="dask", purpose=purpose)


def resolve_engine(engine: Any, owner: str = "build_features") -> tuple[str, Any]:
    """Return ``("pandas", None)`` or ``("dask", client_or_None)`` for an ``engine`` argument.

    ``"dask"`` uses the current ``dask.distributed`` client when there is one, else Dask's
    default scheduler; a :class:`distributed.Client` is used as given.

    Raises
    ------
    InvalidParameterError
        If `engine` is neither ``"pandas"``, ``"dask"`` nor a distributed client.

    Examples
    --------
    >>> resolve_engine("pandas")
    ('pandas', None)
    """
    if isinstance(engine, str):
        if engine == "pandas":
            return "pandas", None
        if engine == "dask":
            import_dask()
            try:
                from distributed import get_client

                return "dask", get_client()
            except (ImportError, ValueError):
                return "dask", None
    else:
        try:
            from distributed import Client
        except ImportError:  # pragma: no cover - dask is an optional extra
            pass
        else:
            if isinstance(engine, Client):
                return "dask", engine
    raise InvalidParameterError(
        f"The 'engine' parameter of {owner} must be 'pandas', 'dask' or a "
        f"dask.distributed.Client. Got {engine!r} instead."
    )


def run_tasks(
    engine: Any, func: Callable[..., Any], items: Sequence[tuple[Any, ...]], owner: str
) -> list[Any]:
    """Return ``[func(*args) for args in items]``, computed where `engine` says.

    With a distributed client each call is a task on a worker and only its (small) result comes
    back to this process.

    Examples
    --------
    >>> run_tasks("pandas", pow, [(2, 3), (3, 2)], "example")
    [8, 9]
    """
    kind, client = resolve_engine(engine, owner)
    if kind == "pandas":
        return [func(*args) for args in items]
    if client is not None:
        futures = [client.submit(func, *args, pure=False) for args in items]
        return list(client.gather(futures))
    dask = import_dask()
    delayed = dask.delayed(func, pure=False)
    return list(dask.compute(*[delayed(*args) for args in items]))
