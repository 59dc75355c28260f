"""b2bclient: analytics for business-to-business client data.

A typed domain model of organisations, contacts, products, deals, projects, interactions,
contracts and relationships, held as validated pandas tables with strict point-in-time semantics,
and the models built on them.
"""

from b2bclient import model
from b2bclient._exceptions import (
    B2BClientError,
    B2BClientWarning,
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
_LAZY = (
    "account",
    "btyd",
    "churn",
    "datasets",
    "features",
    "lifecycle",
    "persist",
    "pipeline",
    "potential",
    "privacy",
    "recommend",
    "segment",
    "testing",
)

# Names re-exported from lazily loaded subpackages: ``bc.portrait`` imports b2bclient.account.
_LAZY_NAMES = {
    "HealthScore": "account",
    "Models": "account",
    "Portrait": "account",
    "portrait": "account",
    "portraits": "account",
    "Segmenter": "segment",
}


def __getattr__(name: str) -> object:
    import importlib

    if name in _LAZY:
        module = importlib.import_module(f"b2bclient.{name}")
        globals()[name] = module
        return module
    if name in _LAZY_NAMES:
        value = getattr(importlib.import_module(f"b2bclient.{_LAZY_NAMES[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'b2bclient' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_LAZY_NAMES))


__all__ = [
    "B2BClientError",
    "B2BClientWarning",
    "ClientBase",
    "ConvergenceError",
    "FormatError",
    "HealthScore",
    "InvalidParameterError",
    "InvalidTablesError",
    "LookAheadError",
    "MissingDependencyError",
    "Models",
    "NotFittedError",
    "Portrait",
    "RegistryError",
    "Segmenter",
    "UnknownIdError",
    "__version__",
    "account",
    "btyd",
    "churn",
    "datasets",
    "features",
    "lifecycle",
    "load",
    "model",
    "persist",
    "pipeline",
    "portrait",
    "portraits",
    "potential",
    "privacy",
    "recommend",
    "save",
    "segment",
    "testing",
]
