"""The extractor registry: duplicates, unknown names and plug-ins from entry points."""

from __future__ import annotations

import importlib.metadata
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import attrs
import pandas as pd
import pytest

import b2bclient.features as bf
from b2bclient._exceptions import RegistryError
from b2bclient.features import (
    ENTRY_POINT_GROUP,
    ExtractorTags,
    build_features,
    get_extractor,
    list_extractors,
    load_plugins,
    register_extractor,
    unregister_extractor,
)
from b2bclient.testing import check_extractor, example_base

BUILTINS = (
    "firmographics",
    "purchasing",
    "pipeline",
    "product_mix",
    "services",
    "projects",
    "engagement",
    "contracts",
    "relationships",
)

PLUGIN_SOURCE = '''
"""A plug-in extractor written with plain pandas, as a third party would."""

from __future__ import annotations

from typing import ClassVar

import attrs
import pandas as pd

from b2bclient.features import ExtractorTags


@attrs.frozen
class PortalLogins:
    name: ClassVar[str] = "portal_logins"
    requires: ClassVar[tuple[str, ...]] = ("interactions",)
    window: str = "90D"

    def output_columns(self):
        return ("portal_logins__logins",)

    def describe(self):
        return {"portal_logins__logins": f"Portal logins in the last {self.window}."}

    def tags(self):
        return ExtractorTags(rollup={"portal_logins__logins": "sum"})

    def compute(self, tables, as_of):
        orgs = tables["organisations"]
        known = orgs.loc[orgs["created_at"] < as_of, "organisation_id"].sort_values()
        inter = tables["interactions"]
        start = as_of - pd.Timedelta(self.window)
        logins = inter[
            (inter["occurred_at"] >= start)
            & (inter["occurred_at"] < as_of)
            & (inter["channel"].astype(object) == "portal")
            & (inter["kind"] == "login")
        ]
        counts = logins.groupby("organisation_id").size()
        values = counts.reindex(known).fillna(0).astype("float64").to_numpy()
        index = pd.Index(known.to_numpy(), name="organisation_id")
        return pd.DataFrame({"portal_logins__logins": values}, index=index)
'''


@pytest.fixture
def restore_registry() -> Iterator[None]:
    before = list_extractors()
    yield
    for name in list_extractors():
        if name not in before:
            unregister_extractor(name)
    assert list_extractors() == before


@pytest.fixture
def plugin_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "b2b_test_plugin.py").write_text(textwrap.dedent(PLUGIN_SOURCE))
    (tmp_path / "b2b_broken_plugin.py").write_text(
        "raise RuntimeError('database driver missing')\n"
    )
    (tmp_path / "b2b_not_an_extractor.py").write_text("VALUE = 3\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("b2b_test_plugin", "b2b_broken_plugin", "b2b_not_an_extractor"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    return "b2b_test_plugin"


def fake_entry_points(monkeypatch: pytest.MonkeyPatch, *specs: tuple[str, str]) -> None:
    eps = [importlib.metadata.EntryPoint(name, value, ENTRY_POINT_GROUP) for name, value in specs]

    def entry_points(**params: Any) -> list[importlib.metadata.EntryPoint]:
        assert params == {"group": ENTRY_POINT_GROUP}
        return eps

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)


@attrs.frozen
class Constant:
    name: ClassVar[str] = "constant"
    requires: ClassVar[tuple[str, ...]] = ()

    def output_columns(self) -> tuple[str, ...]:
        return ("constant__one",)

    def describe(self) -> dict[str, str]:
        return {"constant__one": "Always 1."}

    def tags(self) -> ExtractorTags:
        return ExtractorTags(rollup={"constant__one": "max"})

    def compute(self, tables: Any, as_of: pd.Timestamp) -> pd.DataFrame:
        orgs = tables["organisations"]
        ids = orgs.loc[orgs["created_at"] < as_of, "organisation_id"]
        return pd.DataFrame(
            {"constant__one": 1.0}, index=pd.Index(sorted(ids), name="organisation_id")
        )


def test_builtins_are_registered_in_order() -> None:
    assert list_extractors() == BUILTINS


def test_all_is_pinned_to_the_namespace() -> None:
    public = {n for n in dir(bf) if not n.startswith("_")}
    assert set(bf.__all__) == public
    assert sorted(bf.__all__, key=str.lower) == sorted(set(bf.__all__), key=str.lower)


def test_register_get_and_unregister(restore_registry: None) -> None:
    assert register_extractor(Constant) is Constant
    assert list_extractors()[-1] == "constant"
    assert get_extractor("constant") == Constant()
    check_extractor(Constant())
    X = build_features(example_base(), "2023-01-01", ["constant", "contracts"])
    assert X.columns[0] == "constant__one"
    unregister_extractor("constant")
    assert "constant" not in list_extractors()


def test_duplicate_names_raise(restore_registry: None) -> None:
    register_extractor(Constant)
    with pytest.raises(RegistryError, match="already registered"):
        register_extractor(Constant)

    @attrs.frozen
    class Impostor(Constant):
        name: ClassVar[str] = "purchasing"

    with pytest.raises(RegistryError, match="'purchasing' is already registered"):
        register_extractor(Impostor)


def test_unknown_names_raise_and_list_the_known_ones() -> None:
    with pytest.raises(RegistryError, match=r"No extractor named 'nope'.*purchasing") as info:
        get_extractor("nope")
    assert isinstance(info.value, KeyError)
    assert str(info.value).startswith("No extractor")
    with pytest.raises(RegistryError, match="No extractor named 'nope'"):
        unregister_extractor("nope")
    with pytest.raises(RegistryError):
        build_features(example_base(), "2023-01-01", ["nope"])


@pytest.mark.parametrize(
    ("cls", "match"),
    [
        (Constant(), "takes an extractor class"),
        (type("NoName", (), {"requires": ()}), "ClassVar 'name'"),
        (type("BadName", (), {"name": "Bad__Name", "requires": ()}), "ClassVar 'name'"),
        (type("BadRequires", (), {"name": "bad", "requires": ("orders",)}), "ClassVar 'requires'"),
        (type("NoMethods", (), {"name": "bad", "requires": ()}), "Missing: output_columns"),
    ],
)
def test_invalid_classes_are_refused(cls: Any, match: str) -> None:
    with pytest.raises(RegistryError, match=match):
        register_extractor(cls)


def test_plugins_load_only_when_asked(
    monkeypatch: pytest.MonkeyPatch, plugin_module: str, restore_registry: None
) -> None:
    fake_entry_points(monkeypatch, ("portal_logins", f"{plugin_module}:PortalLogins"))
    assert "portal_logins" not in list_extractors()
    assert plugin_module not in sys.modules
    assert load_plugins() == ("portal_logins",)
    assert list_extractors()[-1] == "portal_logins"
    # Loading again leaves the registered plug-in alone.
    assert load_plugins() == ("portal_logins",)
    extractor = get_extractor("portal_logins", window="30D")
    check_extractor(extractor)


def test_get_extractor_loads_a_plugin_by_name(
    monkeypatch: pytest.MonkeyPatch, plugin_module: str, restore_registry: None
) -> None:
    fake_entry_points(
        monkeypatch,
        ("broken", "b2b_broken_plugin:Thing"),
        ("portal_logins", f"{plugin_module}:PortalLogins"),
    )
    extractor = get_extractor("portal_logins")
    assert extractor.output_columns() == ("portal_logins__logins",)
    # Only the requested plug-in was imported.
    assert "b2b_broken_plugin" not in sys.modules


def test_a_broken_plugin_raises_an_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, plugin_module: str, restore_registry: None
) -> None:
    fake_entry_points(monkeypatch, ("broken", "b2b_broken_plugin:Thing"))
    with pytest.raises(
        RegistryError, match=r"plug-in 'broken'.*RuntimeError: database driver missing"
    ):
        load_plugins()
    with pytest.raises(RegistryError, match="plug-in 'broken'"):
        get_extractor("broken")


def test_a_plugin_that_is_no_extractor_raises(
    monkeypatch: pytest.MonkeyPatch, plugin_module: str, restore_registry: None
) -> None:
    fake_entry_points(monkeypatch, ("odd", "b2b_not_an_extractor:VALUE"))
    with pytest.raises(RegistryError, match=r"plug-in 'odd'.*must provide an extractor class"):
        load_plugins()
    fake_entry_points(monkeypatch, ("other_name", f"{plugin_module}:PortalLogins"))
    with pytest.raises(RegistryError, match="plug-in 'other_name'"):
        load_plugins()


def test_extractor_tags_validate_their_rules() -> None:
    from b2bclient._exceptions import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="must be one of sum, max"):
        ExtractorTags(rollup={"x__a": "median"})
    with pytest.raises(InvalidParameterError, match="unknown columns"):
        ExtractorTags(rollup={"x__a": "sum"}, categorical=frozenset({"x__b"}))
    with pytest.raises(InvalidParameterError, match="'scope'"):
        ExtractorTags(rollup={"x__a": "sum"}, scope="cluster")
    tags = get_extractor("relationships").tags()
    assert tags.scope == "global"
    assert get_extractor("firmographics").tags().categorical == frozenset(
        {"firmographics__industry", "firmographics__region", "firmographics__size_band"}
    )
