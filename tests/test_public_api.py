"""``__all__`` of each public package is pinned: a name in it is a promise."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "b2bclient": [
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
        "save",
        "testing",
    ],
    "b2bclient.model": [
        "Channel",
        "Contact",
        "Contract",
        "ContractKind",
        "Deal",
        "DealChannel",
        "DealLine",
        "DealStatus",
        "Interaction",
        "Organisation",
        "Product",
        "ProductKind",
        "Project",
        "ProjectStatus",
        "Record",
        "Relationship",
        "RelationshipKind",
        "Role",
        "SizeBand",
        "Stage",
        "StageKind",
    ],
    "b2bclient.base": [
        "SCHEMAS",
        "TABLE_NAMES",
        "ClientBase",
        "Column",
        "TableSchema",
        "empty_table",
    ],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_all_is_pinned(module):
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(PUBLIC[module])
    for name in mod.__all__:
        assert hasattr(mod, name), name


def test_every_error_is_a_b2bclient_error_and_a_builtin():
    import b2bclient as bc

    for name in bc.__all__:
        obj = getattr(bc, name)
        if isinstance(obj, type) and issubclass(obj, Exception) and obj is not bc.B2BClientError:
            assert issubclass(obj, bc.B2BClientError), name
            assert any(
                base.__module__ == "builtins" and base is not Exception for base in obj.__mro__[1:]
            ), name
