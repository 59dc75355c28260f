"""Exceptions raised by b2bclient.

Every error the library raises on purpose derives from :class:`B2BClientError` and also from the
nearest builtin, so ``except ValueError`` keeps working for callers that do not know the library::

    B2BClientError (Exception)
    ├── InvalidTablesError (ValueError)      tables that fail validation; ``.problems`` says where
    ├── InvalidParameterError (ValueError)   a parameter outside its domain
    ├── NotFittedError (sklearn's NotFittedError: ValueError, AttributeError)  used before ``fit``
    ├── ConvergenceError (RuntimeError)      an optimiser or fitter did not converge
    ├── FormatError (ValueError)             a saved file that is foreign, tampered or of another version
    ├── RegistryError (KeyError)             unknown or duplicate extractor, broken plug-in
    ├── UnknownIdError (KeyError)            a lookup by an id the client base does not hold
    ├── LookAheadError (RuntimeError)        a computation "as of t" saw data at or after t
    └── MissingDependencyError (ImportError) an optional extra is not installed

    B2BClientWarning (UserWarning)           the library changed or skipped something on
                                             purpose and says so (loading repairs, files not read)
"""

from __future__ import annotations

from typing import Any

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

__all__ = [
    "B2BClientError",
    "B2BClientWarning",
    "ConvergenceError",
    "FormatError",
    "InvalidParameterError",
    "InvalidTablesError",
    "LookAheadError",
    "MissingDependencyError",
    "NotFittedError",
    "RegistryError",
    "UnknownIdError",
]


class B2BClientError(Exception):
    """Root of every error raised on purpose by b2bclient."""


class B2BClientWarning(UserWarning):
    """A warning from b2bclient: something was changed or left out on purpose, and this says what.

    Loaders emit one when they change values (listed in ``ClientBase.repairs``) or leave files
    in a directory unread. Filter it like any warning::

        warnings.filterwarnings("ignore", category=b2bclient.B2BClientWarning)
    """


class InvalidTablesError(B2BClientError, ValueError):
    """Tables that fail validation.

    Parameters
    ----------
    message : str
        Human-readable summary naming tables, columns and the first offending ids.
    problems : pandas.DataFrame
        One row per problem with columns ``table``, ``column``, ``check``, ``row_id`` and ``value``.
    """

    def __init__(self, message: str, problems: Any = None) -> None:
        super().__init__(message)
        if problems is None:
            import pandas as pd

            problems = pd.DataFrame(columns=["table", "column", "check", "row_id", "value"])
        self.problems = problems


class InvalidParameterError(B2BClientError, ValueError):
    """A parameter outside its domain; the message gives the accepted values."""


class NotFittedError(B2BClientError, _SklearnNotFittedError):  # type: ignore[misc]
    """A model was used before ``fit`` was called.

    Also a :class:`sklearn.exceptions.NotFittedError` (itself a ``ValueError`` and an
    ``AttributeError``), so scikit-learn's tools and common checks recognise it.
    """


class ConvergenceError(B2BClientError, RuntimeError):
    """An optimiser or a lifelines fitter did not converge; the message suggests a remedy."""


class FormatError(B2BClientError, ValueError):
    """A saved model that is foreign, tampered with, or written by an unsupported version."""


class RegistryError(B2BClientError, KeyError):
    """An unknown or duplicate extractor name, or a plug-in that fails to load."""

    def __str__(self) -> str:
        # KeyError quotes its argument; an error message should read as prose.
        return str(self.args[0]) if self.args else ""


class UnknownIdError(B2BClientError, KeyError):
    """A lookup by an id that the client base does not hold."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class LookAheadError(B2BClientError, RuntimeError):
    """A computation "as of t" depended on data at or after ``t``."""


class MissingDependencyError(B2BClientError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""
