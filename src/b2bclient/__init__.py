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
    "load",
    "model",
    "save",
]
