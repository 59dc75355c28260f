"""b2bclient: analytics for business-to-business client data.

A typed domain model of organisations, contacts, products, deals, projects, interactions,
contracts and relationships, held as validated pandas tables with strict point-in-time semantics,
and the models built on them.
"""

from b2bclient import model
from b2bclient._exceptions import (
    B2BClientError,
    ConvergenceError,
    FormatError,
    InvalidParameterError,
    InvalidTablesError,
    LookAheadError,
    MissingDependencyError,
    NotFittedError,
    RegistryError,
    UnknownIdError,
)
from b2bclient.base import ClientBase
from b2bclient.persist import load, save

__version__ = "0.1.0.dev0"

# Subpackages that pull in heavy dependencies (lifelines, scikit-learn) load on first use, so
# ``import b2bclient`` stays fast: ``bc.churn.ChurnModel`` works without importing them first.
_LAZY = ("btyd", "churn", "datasets", "features", "persist", "privacy", "recommend", "testing")


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f"b2bclient.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'b2bclient' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "B2BClientError",
    "ClientBase",
    "ConvergenceError",
    "FormatError",
    "InvalidParameterError",
    "InvalidTablesError",
    "LookAheadError",
    "MissingDependencyError",
    "NotFittedError",
    "RegistryError",
    "UnknownIdError",
    "__version__",
    "btyd",
    "churn",
    "datasets",
    "features",
    "load",
    "model",
    "persist",
    "privacy",
    "recommend",
    "save",
    "testing",
]
