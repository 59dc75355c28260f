"""Safe loading: crafted, damaged and foreign files raise FormatError and execute nothing.

Each hostile file carries a payload that would create a marker file if anything from it were
imported, called or unpickled; every test asserts the ``FormatError`` *and* that the marker does
not exist. The fuzz tests mutate real saved models (bytes of the archive, nodes of the manifest
with the digest recomputed as an attacker would) and accept only two outcomes: ``FormatError``,
or a model that loads (a mutation may happen to describe another valid model).
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import pickle
import shutil
import sys
import tempfile
import types
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from sklearn.base import BaseEstimator
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.preprocessing import StandardScaler

from b2bclient._exceptions import FormatError
from b2bclient.btyd import BetaGeo, simulate_summary
from b2bclient.persist import load, save
from b2bclient.persist._archive import manifest_digest

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# --------------------------------------------------------------------------------------------
# payloads: each creates MARKER when executed
# --------------------------------------------------------------------------------------------
class _Marker:
    """Where a payload would write; one per test so that results never leak between tests."""

    path: Path = Path("unset")


MARKER = _Marker()


def _touch_marker(*args: Any, **kwargs: Any) -> None:
    MARKER.path.write_text("executed")


class Trap:
    """A class that creates the marker when instantiated or when its state is set."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _touch_marker()

    def __setstate__(self, state: Any) -> None:
        _touch_marker()


class TrapEstimator(BaseEstimator):
    """An estimator of a foreign package: allowed by shape, refused by origin."""

    def __init__(self, *, command: str = "") -> None:
        _touch_marker()
        self.command = command


class InsideTrap:
    """A plain class defined under b2bclient: the right origin, not an estimator."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _touch_marker()


class _Reduce:
    """A pickle payload: unpickling calls ``_touch_marker``."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_touch_marker, ())


# Classes under a module name outside b2bclient and scikit-learn, and a plain (non-estimator)
# class under b2bclient: load() may see both names in a crafted file.
_FOREIGN = types.ModuleType("reliability_payloads")
_INSIDE = types.ModuleType("b2bclient._reliability_payloads")
for _name, _obj in {
    "Trap": Trap,
    "TrapEstimator": TrapEstimator,
    "touch": _touch_marker,
    "_touch_marker": _touch_marker,
}.items():
    setattr(_FOREIGN, _name, _obj)
for _name, _obj in {"Trap": Trap, "InsideTrap": InsideTrap, "touch": _touch_marker}.items():
    setattr(_INSIDE, _name, _obj)
InsideTrap.__module__ = _INSIDE.__name__
Trap.__module__ = TrapEstimator.__module__ = "reliability_payloads"
_touch_marker.__module__ = "reliability_payloads"
sys.modules[_FOREIGN.__name__] = _FOREIGN
sys.modules[_INSIDE.__name__] = _INSIDE


@pytest.fixture(autouse=True)
def marker(tmp_path: Path) -> Iterator[Path]:
    MARKER.path = tmp_path / "EXECUTED"
    yield MARKER.path
    assert not MARKER.path.exists(), "a payload from a loaded file was executed"


# --------------------------------------------------------------------------------------------
# saved models to attack
# --------------------------------------------------------------------------------------------
def _models() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + rng.normal(size=60) > 0).astype(int)
    summary = simulate_summary(
        BetaGeo,
        T=52.0,
        n_customers=300,
        params={"r": 0.5, "alpha": 5.0, "a": 1.0, "b": 4.0},
        random_state=0,
    )
    return {
        "scaler": StandardScaler().fit(X),
        "boosting": GradientBoostingClassifier(n_estimators=2, max_depth=2, random_state=0).fit(
            X, y
        ),
        "beta_geo": BetaGeo().fit(summary),
    }


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("saved")
    out = {}
    for name, model in _models().items():
        out[name] = save(model, root / name)
        out[f"{name}.zip"] = save(model, root / f"{name}.zip")
    return out


def _copy(source: Path, target_dir: Path) -> Path:
    target = target_dir / source.name
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copyfile(source, target)
    return target


def _rewrite(root: Path, mutate: Callable[[dict[str, Any]], None], *, fix: bool = True) -> None:
    """Edit the manifest of a saved directory like an attacker who recomputes its digest."""
    path = root / "manifest.json"
    manifest = json.loads(path.read_text())
    mutate(manifest)
    if fix:
        manifest["manifest_sha256"] = manifest_digest(manifest)
    path.write_text(json.dumps(manifest))


def _replace_array(root: Path, name: str, data: bytes) -> None:
    """Replace an array file and record its digest, so that only the content is wrong."""
    (root / name).write_bytes(data)

    def mutate(manifest: dict[str, Any]) -> None:
        manifest["arrays"][name] = hashlib.sha256(data).hexdigest()

    _rewrite(root, mutate)


def _first_array(manifest: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Return the first ndarray node of the model tree and its file name."""

    def walk(node: Any) -> Iterator[dict[str, Any]]:
        if isinstance(node, dict):
            if node.get("__b2b__") == "ndarray":
                yield node
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    node = next(walk(manifest["model"]))
    return node["file"], node


# --------------------------------------------------------------------------------------------
# 1. classes and functions named by the file
# --------------------------------------------------------------------------------------------
FOREIGN_NAMES = {
    "foreign class": ("reliability_payloads.Trap", "only classes defined in b2bclient or sklearn"),
    "foreign estimator": (
        "reliability_payloads.TrapEstimator",
        "only classes defined in b2bclient or sklearn",
    ),
    "foreign function": ("reliability_payloads.touch", "only classes defined in b2bclient"),
    "os.system": ("os.system", "only classes defined in b2bclient or sklearn"),
    "builtins.exec": ("builtins.exec", "only classes defined in b2bclient or sklearn"),
    "subprocess.Popen": ("subprocess.Popen", "only classes defined in b2bclient or sklearn"),
    "pickle.loads": ("pickle.loads", "only classes defined in b2bclient or sklearn"),
    "b2bclient function": ("b2bclient._reliability_payloads.touch", "is not a class"),
    "b2bclient plain class": (
        "b2bclient._reliability_payloads.Trap",
        "is not a class defined under that name",
    ),
    "b2bclient class that is no estimator": (
        "b2bclient._reliability_payloads.InsideTrap",
        "is not a scikit-learn style estimator",
    ),
    "library function": ("b2bclient.persist._archive.save", "is not a class"),
    "dunder traversal": ("sklearn.base.__builtins__.exec", "not a plain dotted name"),
    "attribute chain": ("b2bclient.persist._archive.shutil.rmtree", "is not a class"),
}


@pytest.mark.parametrize("where", ["top", "nested"])
@pytest.mark.parametrize("case", list(FOREIGN_NAMES))
def test_a_file_naming_a_foreign_class_or_function_is_refused(
    case: str, where: str, saved: dict[str, Path], tmp_path: Path
) -> None:
    name, message = FOREIGN_NAMES[case]
    root = _copy(saved["beta_geo"], tmp_path)

    def mutate(manifest: dict[str, Any]) -> None:
        payload = {"__b2b__": "estimator", "class": name, "protocol": "attributes"}
        payload |= {"params": {"command": f"touch {MARKER.path}"}, "state": {}}
        if where == "top":
            manifest["model"] = payload
        else:
            manifest["model"]["params"]["penalizer"] = payload

    _rewrite(root, mutate)
    with pytest.raises(FormatError, match=message):
        load(root)


def test_a_module_named_by_the_file_is_never_imported(
    saved: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "importable"
    package.mkdir()
    (package / "evil_on_import.py").write_text(
        f"from pathlib import Path\nPath({str(MARKER.path)!r}).write_text('imported')\n"
        "class Model:\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(package))
    root = _copy(saved["scaler"], tmp_path)

    def mutate(manifest: dict[str, Any]) -> None:
        manifest["model"]["class"] = "evil_on_import.Model"

    _rewrite(root, mutate)
    with pytest.raises(FormatError, match="nothing from it was imported or run"):
        load(root)
    assert "evil_on_import" not in sys.modules


@pytest.mark.parametrize(
    ("kind", "node"),
    [
        ("enum", {"__b2b__": "enum", "class": "reliability_payloads.Trap", "value": 1}),
        ("attrs", {"__b2b__": "attrs", "class": "reliability_payloads.Trap", "fields": {}}),
        ("loss", {"__b2b__": "sklearn_loss", "class": "reliability_payloads.Trap", "kwargs": {}}),
        ("type", {"__b2b__": "type", "name": "reliability_payloads.Trap"}),
        ("numpy attribute", {"__b2b__": "type", "name": "numpy.load"}),
        ("pickle node", {"__b2b__": "pickle", "data": pickle.dumps(_Reduce()).hex()}),
        ("reduce node", {"__b2b__": "reduce", "callable": "os.system", "args": ["touch x"]}),
    ],
)
def test_every_node_that_names_a_class_checks_it(
    kind: str, node: dict[str, Any], saved: dict[str, Path], tmp_path: Path
) -> None:
    root = _copy(saved["beta_geo"], tmp_path)

    def mutate(manifest: dict[str, Any]) -> None:
        manifest["model"]["params"]["penalizer"] = node

    _rewrite(root, mutate)
    with pytest.raises(FormatError):
        load(root)


# --------------------------------------------------------------------------------------------
# 2. pickles
# --------------------------------------------------------------------------------------------
def _pickled_npy() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.array([_Reduce(), None], dtype=object), allow_pickle=True)
    return buffer.getvalue()


def _header_payload_npy() -> bytes:
    """A ``.npy`` whose header is Python code instead of a dict literal."""
    header = f"__import__('pathlib').Path({str(MARKER.path)!r}).write_text('x')".encode()
    header = header + b" " * (-(len(header) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + b"\0" * 16


PICKLES: dict[str, Callable[[], bytes]] = {
    "object array with a reduce payload": _pickled_npy,
    "raw pickle instead of npy": lambda: pickle.dumps(_Reduce()),
    "npy header that is code": _header_payload_npy,
}


@pytest.mark.parametrize("case", list(PICKLES))
def test_an_array_file_carrying_a_pickle_is_refused(
    case: str, saved: dict[str, Path], tmp_path: Path
) -> None:
    root = _copy(saved["scaler"], tmp_path)
    name, _ = _first_array(json.loads((root / "manifest.json").read_text()))
    _replace_array(root, name, PICKLES[case]())

    def claim_object(manifest: dict[str, Any]) -> None:
        _, node = _first_array(manifest)
        node["dtype"], node["shape"] = "|O", [2]

    _rewrite(root, claim_object)
    with pytest.raises(FormatError, match="cannot be read without pickle"):
        load(root)


def test_a_manifest_that_is_a_pickle_is_refused(saved: dict[str, Path], tmp_path: Path) -> None:
    root = _copy(saved["scaler"], tmp_path)
    (root / "manifest.json").write_bytes(pickle.dumps(_Reduce()))
    with pytest.raises(FormatError, match="not valid JSON"):
        load(root)


def test_a_zip_holding_a_pickle_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "model.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("manifest.json", pickle.dumps(_Reduce()))
        zf.writestr("arrays/000000.npy", _pickled_npy())
    with pytest.raises(FormatError, match="not valid JSON"):
        load(archive)
    plain = tmp_path / "model.pkl"
    plain.write_bytes(pickle.dumps(_Reduce()))
    with pytest.raises(FormatError, match="neither a directory nor a zip"):
        load(plain)


# --------------------------------------------------------------------------------------------
# 3. truncated files
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["scaler", "boosting", "beta_geo"])
@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 0.9, 0.999])
def test_a_truncated_archive_is_refused(
    model: str, fraction: float, saved: dict[str, Path], tmp_path: Path
) -> None:
    data = saved[f"{model}.zip"].read_bytes()
    target = tmp_path / "cut.zip"
    target.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(FormatError):
        load(target)


@pytest.mark.parametrize("what", ["manifest", "array", "array with digest"])
def test_a_truncated_member_is_refused(what: str, saved: dict[str, Path], tmp_path: Path) -> None:
    root = _copy(saved["boosting"], tmp_path)
    manifest_path = root / "manifest.json"
    name, _ = _first_array(json.loads(manifest_path.read_text()))
    if what == "manifest":
        text = manifest_path.read_bytes()
        manifest_path.write_bytes(text[: len(text) // 2])
        message = "not valid JSON"
    elif what == "array":
        data = (root / name).read_bytes()
        (root / name).write_bytes(data[: len(data) - 3])
        message = "does not match the checksum"
    else:
        data = (root / name).read_bytes()
        _replace_array(root, name, data[: len(data) - 3])
        message = "cannot be read without pickle"
    with pytest.raises(FormatError, match=message):
        load(root)


# --------------------------------------------------------------------------------------------
# 4. arrays of the wrong shape or dtype
# --------------------------------------------------------------------------------------------
def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


ARRAY_EDITS: dict[str, tuple[Callable[[np.ndarray], np.ndarray] | None, dict[str, Any]]] = {
    # (new content of the file or None to keep it, edits of the manifest's node)
    "file has another shape": (lambda a: np.append(a, 1.0), {}),
    "file has another dtype": (lambda a: a.astype(np.float32), {}),
    "file is 2-d": (lambda a: a.reshape(1, -1), {}),
    "file holds strings": (lambda a: a.astype(str), {}),
    "manifest claims another shape": (None, {"shape": [99]}),
    "manifest claims another dtype": (None, {"dtype": "<i8"}),
    "manifest claims a negative shape": (None, {"shape": [-1]}),
    "manifest claims an unparsable dtype": (None, {"dtype": "not-a-dtype"}),
    "manifest claims an object dtype": (None, {"dtype": "|O"}),
}


@pytest.mark.parametrize("case", list(ARRAY_EDITS))
def test_an_array_of_the_wrong_shape_or_dtype_is_refused(
    case: str, saved: dict[str, Path], tmp_path: Path
) -> None:
    root = _copy(saved["scaler"], tmp_path)
    name, _ = _first_array(json.loads((root / "manifest.json").read_text()))
    change, edits = ARRAY_EDITS[case]
    if change is not None:
        array = np.load(root / name, allow_pickle=False)
        _replace_array(root, name, _npy(change(array)))

    def mutate(manifest: dict[str, Any]) -> None:
        _first_array(manifest)[1].update(edits)

    _rewrite(root, mutate)
    with pytest.raises(FormatError, match=r"differ from the manifest|malformed"):
        load(root)


def test_a_tree_array_whose_fields_are_missing_is_refused(
    saved: dict[str, Path], tmp_path: Path
) -> None:
    root = _copy(saved["boosting"], tmp_path)
    manifest = json.loads((root / "manifest.json").read_text())
    tree = manifest["model"]["state"]["estimators_"]["items"][0]["state"]["tree_"]
    name = tree["state"]["items"]["nodes"]["file"]
    nodes = np.load(root / name, allow_pickle=False)
    smaller = np.zeros(nodes.shape, dtype=[("left_child", "<i8"), ("right_child", "<i8")])
    _replace_array(root, name, _npy(smaller))

    def mutate(manifest: dict[str, Any]) -> None:
        tree = manifest["model"]["state"]["estimators_"]["items"][0]["state"]["tree_"]
        tree["state"]["items"]["nodes"]["dtype"] = [["left_child", "<i8"], ["right_child", "<i8"]]

    _rewrite(root, mutate)
    with pytest.raises(FormatError, match="a tree needs a node array"):
        load(root)


# --------------------------------------------------------------------------------------------
# 5. format versions
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("version", "message"),
    [
        (2, "newer b2bclient"),
        (10**30, "newer b2bclient"),
        (-1, "invalid format_version"),
        (1.0, "invalid format_version"),
        (True, "invalid format_version"),
        (None, "invalid format_version"),
        ([2], "invalid format_version"),
    ],
)
def test_a_newer_or_invalid_format_version_is_refused(
    version: Any, message: str, saved: dict[str, Path], tmp_path: Path
) -> None:
    root = _copy(saved["scaler"], tmp_path)

    def mutate(manifest: dict[str, Any]) -> None:
        manifest["format_version"] = version
        manifest["model"]["class"] = "reliability_payloads.Trap"  # never reached

    _rewrite(root, mutate)
    with pytest.raises(FormatError, match=message):
        load(root)


# --------------------------------------------------------------------------------------------
# 6. fuzzing
# --------------------------------------------------------------------------------------------
def _load_outcome(path: Path) -> str:
    """Load `path`; return "loaded" or "refused", and let anything else fail the test."""
    try:
        load(path)
    except FormatError:
        return "refused"
    return "loaded"


@FUZZ
@given(
    model=st.sampled_from(["scaler.zip", "boosting.zip", "beta_geo.zip"]),
    edits=st.lists(
        st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)), min_size=1, max_size=4
    ),
    cut=st.none() | st.floats(0, 1),
)
def test_fuzz_archive_bytes(
    model: str, edits: list[tuple[float, int]], cut: float | None, saved: dict[str, Path]
) -> None:
    data = bytearray(saved[model].read_bytes())
    for where, flip in edits:
        data[int(where * len(data))] ^= flip
    if cut is not None:
        data = data[: int(cut * len(data))]
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "fuzzed.zip"
        target.write_bytes(bytes(data))
        assert _load_outcome(target) in ("loaded", "refused")


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "__b2b__",
            "ndarray",
            "estimator",
            "arrays/000000.npy",
            "arrays/999999.npy",
            "<f8",
            "|O",
            "os.system",
            "sklearn.preprocessing._data.StandardScaler",
            "b2bclient.btyd._beta_geo.BetaGeo",
        ]
    ),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["__b2b__", "class", "file", "dtype", "shape", "items", "state", "x"]),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*prefix, i))


@pytest.fixture(scope="module")
def manifests(saved: dict[str, Path]) -> dict[str, tuple[dict[str, Any], list[tuple[Any, ...]]]]:
    out = {}
    for name in ("scaler", "boosting", "beta_geo"):
        manifest = json.loads((saved[name] / "manifest.json").read_text())
        out[name] = (manifest, list(_paths(manifest["model"])))
    return out


@FUZZ
@given(
    model=st.sampled_from(["scaler", "boosting", "beta_geo"]),
    data=st.data(),
)
def test_fuzz_manifest_nodes(
    model: str,
    data: st.DataObject,
    saved: dict[str, Path],
    manifests: dict[str, tuple[dict[str, Any], list[tuple[Any, ...]]]],
) -> None:
    original, paths = manifests[model]
    manifest = copy.deepcopy(original)
    for _ in range(data.draw(st.integers(1, 3), label="n_edits")):
        path = data.draw(st.sampled_from(paths[1:]), label="path")
        parent: Any = manifest["model"]
        try:
            for step in path[:-1]:
                parent = parent[step]
            action = data.draw(st.sampled_from(["replace", "delete"]), label="action")
            if action == "delete" and isinstance(parent, dict):
                del parent[path[-1]]
            else:
                parent[path[-1]] = data.draw(JSON_VALUES, label="value")
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed or replaced this path
    manifest["manifest_sha256"] = manifest_digest(manifest)
    with tempfile.TemporaryDirectory() as tmp:
        root = _copy(saved[model], Path(tmp))
        (root / "manifest.json").write_text(json.dumps(manifest))
        assert _load_outcome(root) in ("loaded", "refused")


def test_fuzzing_reaches_the_decoder(saved: dict[str, Path], tmp_path: Path) -> None:
    """The manifest fuzz is not stopped by the digest: a consistent edit loads."""
    root = _copy(saved["scaler"], tmp_path)

    def mutate(manifest: dict[str, Any]) -> None:
        manifest["model"]["params"]["with_mean"] = False

    _rewrite(root, mutate)
    assert load(root).with_mean is False
    assert pd.api.types.is_bool(load(root).with_std)


@FUZZ
@given(
    model=st.sampled_from(["scaler", "boosting", "beta_geo"]),
    member=st.integers(0, 50),
    edits=st.lists(
        st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)), min_size=1, max_size=3
    ),
    cut=st.none() | st.floats(0, 1),
)
def test_fuzz_array_bytes_with_the_digest_recomputed(
    model: str,
    member: int,
    edits: list[tuple[float, int]],
    cut: float | None,
    saved: dict[str, Path],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = _copy(saved[model], Path(tmp))
        names = sorted(json.loads((root / "manifest.json").read_text())["arrays"])
        name = names[member % len(names)]
        data = bytearray((root / name).read_bytes())
        for where, flip in edits:
            data[int(where * len(data))] ^= flip
        if cut is not None:
            data = data[: int(cut * len(data))]
        _replace_array(root, name, bytes(data))
        assert _load_outcome(root) in ("loaded", "refused")
