"""Round trips and tamper resistance of b2bclient.persist (save/load without pickle)."""

from __future__ import annotations

import enum
import hashlib
import io
import json
import sys
import types
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import hypothesis.extra.numpy as hnp
import hypothesis.extra.pandas as hpd
import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from sklearn.base import BaseEstimator
from sklearn.cluster import KMeans
from sklearn.datasets import make_classification
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.mixture import GaussianMixture
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import b2bclient.persist as persist
from b2bclient._exceptions import FormatError, InvalidParameterError
from b2bclient.persist import assert_same_state, load, roundtrip, save
from b2bclient.persist._archive import manifest_digest

# --------------------------------------------------------------------------------------------
# Test classes living in a module under b2bclient, so that load() may resolve them.
# --------------------------------------------------------------------------------------------
_MODULE_NAME = "b2bclient._persist_test_classes"
_module = types.ModuleType(_MODULE_NAME)


class Holder(BaseEstimator):
    """An estimator whose parameter and fitted attribute hold arbitrary values."""

    def __init__(self, *, payload: Any = None) -> None:
        self.payload = payload

    def fit(self, value: Any = None) -> Holder:
        self.value_ = value
        self.n_seen_ = 3
        self._cache = "not saved: private"
        return self


class Hooked(BaseEstimator):
    """An estimator keeping an unsupported object, saved through the state hooks."""

    def __init__(self, *, scale: float = 2.0) -> None:
        self.scale = scale

    def fit(self, x: np.ndarray) -> Hooked:
        self.model_ = _Opaque(np.asarray(x, dtype=float) * self.scale)
        return self

    def predict(self) -> np.ndarray:
        return self.model_.weights + 1.0

    def _b2b_get_state(self) -> dict[str, Any]:
        return {"weights": self.model_.weights}

    def _b2b_set_state(self, state: dict[str, Any]) -> None:
        self.model_ = _Opaque(state["weights"])


class HalfHooked(BaseEstimator):
    def _b2b_get_state(self) -> dict[str, Any]:
        return {}


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@attrs.frozen(kw_only=True)
class Config:
    window: str = "90D"
    colour: Colour = Colour.RED
    weights: tuple[float, ...] = (1.0, 2.0)
    derived: int = attrs.field(init=False, default=7)


class _Opaque:
    def __init__(self, weights: np.ndarray) -> None:
        self.weights = weights


for _cls in (Holder, Hooked, HalfHooked, Colour, Config):
    _cls.__module__ = _MODULE_NAME
    setattr(_module, _cls.__name__, _cls)
sys.modules[_MODULE_NAME] = _module


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def assert_identical(a: Any, b: Any, where: str = "value") -> None:
    """Check exact equality including types and dtypes, independently of the encoder."""
    assert type(a) is type(b), f"{where}: {type(a)} != {type(b)}"
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype, where
        assert a.shape == b.shape, where
        if a.dtype == object:
            for i, (x, y) in enumerate(zip(a.ravel(), b.ravel(), strict=True)):
                assert_identical(x, y, f"{where}[{i}]")
        else:
            assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fcmM"), where
            assert a.tobytes() == b.tobytes(), where
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True, check_freq=True)
        pd.testing.assert_index_equal(a.columns, b.columns, exact=True)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True, check_freq=True)
    elif isinstance(a, pd.Index):
        pd.testing.assert_index_equal(a, b, exact=True, check_exact=True)
        assert getattr(a, "freq", None) == getattr(b, "freq", None)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_identical(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            assert_identical(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, np.random.RandomState):
        sa, sb = a.get_state(legacy=False), b.get_state(legacy=False)
        assert np.array_equal(sa["state"]["key"], sb["state"]["key"])
        assert (sa["state"]["pos"], sa["has_gauss"], sa["gauss"]) == (
            sb["state"]["pos"],
            sb["has_gauss"],
            sb["gauss"],
        )
    elif isinstance(a, np.random.Generator):
        assert a.bit_generator.state == b.bit_generator.state
    elif isinstance(a, np.generic):
        assert a.dtype == b.dtype, where
        assert a.tobytes() == b.tobytes(), where
    elif isinstance(a, float):
        assert (np.isnan(a) and np.isnan(b)) or (a == b and np.copysign(1, a) == np.copysign(1, b))
    elif a is pd.NaT or a is pd.NA:
        assert a is b
    else:
        assert a == b, where
        if isinstance(a, pd.Timestamp):
            assert a.unit == b.unit
            assert str(a.tz) == str(b.tz)


def holder_roundtrip(value: Any, tmp_path: Path, *, archive: bool = False) -> None:
    model = Holder(payload=value).fit(value)
    target = tmp_path / ("m.zip" if archive else "m")
    save(model, target, overwrite=True)
    loaded = load(target)
    assert type(loaded) is Holder
    assert_identical(model.value_, loaded.value_)
    assert_identical(model.payload, loaded.payload)
    assert loaded.n_seen_ == 3
    assert not hasattr(loaded, "_cache")


def rewrite_manifest(root: Path, mutate: Any, *, fix_digest: bool = True) -> None:
    """Edit manifest.json of a saved directory like an attacker who recomputes the digest."""
    path = root / "manifest.json"
    manifest = json.loads(path.read_text())
    mutate(manifest)
    if fix_digest:
        manifest["manifest_sha256"] = manifest_digest(manifest)
    path.write_text(json.dumps(manifest))


@pytest.fixture(scope="module")
def classification() -> tuple[np.ndarray, np.ndarray]:
    return make_classification(n_samples=300, n_features=6, n_informative=4, random_state=0)


@pytest.fixture
def saved_scaler(tmp_path: Path) -> Path:
    X = np.random.default_rng(0).normal(size=(20, 3))
    return save(StandardScaler().fit(X), tmp_path / "scaler")


# --------------------------------------------------------------------------------------------
# leaves
# --------------------------------------------------------------------------------------------
LEAVES: dict[str, Any] = {
    "none": None,
    "bool": True,
    "int": -(2**70),
    "float": 0.1,
    "negative zero": -0.0,
    "nan": float("nan"),
    "inf": float("-inf"),
    "str": "Zürich ✓",
    "list": [1, "a", None, [2.5]],
    "tuple": (1, (2, 3), [4]),
    "empty tuple": (),
    "dict": {"a": 1, "b": {"c": [1, 2]}, "__b2b__": "ndarray"},
    "dict with int keys": {1: "a", (2, "b"): 3.5},
    "set": {1, 2, 3},
    "frozenset": frozenset({"a", "b"}),
    "float array": np.array([[1.5, np.nan], [np.inf, -0.0]]),
    "float32 fortran": np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)),
    "big endian": np.arange(4, dtype=">i4"),
    "bool array": np.array([True, False]),
    "str array": np.array(["a", "bcd"]),
    "datetime64 array": np.array(["2020-01-01", "NaT"], dtype="datetime64[ns]"),
    "timedelta64 array": np.array([1, 2], dtype="timedelta64[D]"),
    "empty array": np.empty((0, 3)),
    "structured array": np.array([(1, 2.5)], dtype=[("a", "<i8"), ("b", "<f4")]),
    "object array": np.array([["x", 1], [None, 2.5]], dtype=object),
    "float64 scalar": np.float64(2.5),
    "float32 scalar": np.float32(0.1),
    "int8 scalar": np.int8(-3),
    "bool scalar": np.bool_(True),
    "datetime64 scalar": np.datetime64("2021-03-04T05:06", "m"),
    "str scalar": np.str_("abc"),
    "timestamp": pd.Timestamp("2024-02-29 12:34:56.789"),
    "timestamp seconds": pd.Timestamp("2024-02-29").as_unit("s"),
    "aware timestamp": pd.Timestamp("2024-03-31 01:30", tz="Europe/Paris"),
    "timedelta": pd.Timedelta("3D 4h"),
    "nat": pd.NaT,
    "na": pd.NA,
    "random state": np.random.RandomState(7),
    "generator": np.random.default_rng(11),
    "dtype": np.dtype("<M8[ns]"),
    "numpy type": np.int16,
    "builtin type": float,
    "range index": pd.RangeIndex(3, 30, 3, name="r"),
    "int index": pd.Index([3, 1, 2], dtype="int32", name=("a", 1)),
    "object index": pd.Index(["a", "b"], dtype=object),
    "datetime index with freq": pd.date_range("2024-01-01", periods=4, freq="W-MON", name="t"),
    "timedelta index": pd.timedelta_range("1D", periods=3, freq="1D"),
    "categorical index": pd.CategoricalIndex(["b", "a", "b"], categories=["b", "a"], ordered=True),
    "multi index": pd.MultiIndex.from_tuples([("a", 1), ("b", 2)], names=["k", None]),
    "series": pd.Series([1.5, np.nan], index=["x", "y"], name="s"),
    "nullable series": pd.Series(pd.array([1, None, 3], dtype="Int64"), name=0),
    "boolean series": pd.Series(pd.array([True, None], dtype="boolean")),
    "string series": pd.Series(pd.array(["a", None], dtype="string")),
    "float32 nullable": pd.Series(pd.array([0.5, None], dtype="Float32")),
    "aware series": pd.Series(pd.date_range("2024-03-30", periods=3, freq="D", tz="Europe/Paris")),
}


def _frame() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "organisation_id": pd.Series(["O-1", "O-2", "O-3"], dtype=object),
            "employees": pd.array([10, None, 3], dtype="Int64"),
            "size_band": pd.Categorical(
                ["large", "micro", None],
                categories=["micro", "small", "medium", "large", "enterprise"],
                ordered=True,
            ),
            "created_at": pd.to_datetime(["2020-01-01", None, "2021-05-06"]),
            "amount": [1.0, np.nan, -0.0],
            "is_decision_maker": pd.array([True, None, False], dtype="boolean"),
            "n": np.array([1, 2, 3], dtype=np.uint8),
        }
    )
    frame.attrs = {"source": "crm"}
    return frame


LEAVES["dataframe"] = _frame()
LEAVES["frame with multiindex columns"] = pd.DataFrame(
    np.arange(6.0).reshape(2, 3),
    columns=pd.MultiIndex.from_tuples([("a", "x"), ("a", "y"), ("b", "x")]),
    index=pd.Index(["r1", "r2"], name="row"),
)
LEAVES["frame with duplicate columns"] = pd.DataFrame([[1, "a"]], columns=["c", "c"])
LEAVES["empty frame"] = pd.DataFrame(index=pd.RangeIndex(2))


@pytest.mark.parametrize("archive", [False, True], ids=["directory", "zip"])
@pytest.mark.parametrize("name", list(LEAVES))
def test_leaf_round_trip(name: str, archive: bool, tmp_path: Path) -> None:
    holder_roundtrip(LEAVES[name], tmp_path, archive=archive)


def test_attrs_and_enum_round_trip(tmp_path: Path) -> None:
    config = Config(window="30D", colour=Colour.BLUE, weights=(0.5,))
    object.__setattr__(config, "derived", 11)
    holder_roundtrip(config, tmp_path)
    loaded = load(save(Holder(payload=config), tmp_path / "c"))
    assert loaded.payload == config
    assert loaded.payload.derived == 11
    assert loaded.payload.colour is Colour.BLUE


def test_library_record_round_trip(tmp_path: Path) -> None:
    from b2bclient.model import Organisation

    record = Organisation(organisation_id="O-1", created_at="2024-03-01", size_band="large")
    loaded = load(save(record, tmp_path / "record.zip"))
    assert loaded == record
    assert type(loaded.size_band) is type(record.size_band)


def test_hooks_round_trip(tmp_path: Path) -> None:
    model = Hooked(scale=3.0).fit(np.array([1.0, np.nan]))
    loaded = load(save(model, tmp_path / "hooked"))
    assert np.array_equal(loaded.predict(), model.predict(), equal_nan=True)
    assert loaded.scale == 3.0
    manifest = json.loads((tmp_path / "hooked" / "manifest.json").read_text())
    assert manifest["model"]["protocol"] == "hooks"


def test_random_streams_continue_identically(tmp_path: Path) -> None:
    state = np.random.RandomState(5)
    state.normal(size=3)
    generator = np.random.Generator(np.random.Philox(9))
    generator.integers(0, 10, size=4)
    loaded = load(save(Holder().fit([state, generator]), tmp_path / "rng.zip")).value_
    assert np.array_equal(loaded[0].normal(size=5), state.normal(size=5))
    assert np.array_equal(loaded[1].random(5), generator.random(5))


def test_one_hook_only_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="only one of _b2b_get_state and _b2b_set_state"):
        save(HalfHooked(), tmp_path / "half")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    array=hnp.arrays(
        dtype=st.one_of(
            hnp.integer_dtypes(),
            hnp.unsigned_integer_dtypes(),
            hnp.floating_dtypes(),
            hnp.complex_number_dtypes(),
            hnp.boolean_dtypes(),
            hnp.datetime64_dtypes(),
            hnp.timedelta64_dtypes(),
            hnp.unicode_string_dtypes(),
        ),
        shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
    )
)
def test_arrays_round_trip_bit_exactly(array: np.ndarray) -> None:
    loaded = roundtrip(Holder().fit(array))
    assert loaded.value_.dtype == array.dtype
    assert loaded.value_.shape == array.shape
    assert loaded.value_.tobytes() == array.tobytes()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    frame=hpd.data_frames(
        columns=[
            hpd.column("i", dtype=np.int64),
            hpd.column("f", dtype=np.float64),
            hpd.column("b", dtype=bool),
            hpd.column("t", dtype="datetime64[ns]"),
            hpd.column("s", elements=st.one_of(st.none(), st.text(max_size=5))),
            hpd.column("c", elements=st.sampled_from(["x", "y", "z"])),
        ],
        index=hpd.range_indexes(max_size=8),
    ),
    archive=st.booleans(),
)
def test_frames_round_trip(frame: pd.DataFrame, archive: bool) -> None:
    frame = frame.assign(c=frame["c"].astype(pd.CategoricalDtype(["z", "y", "x"], ordered=True)))
    nullable = pd.array(frame["i"].to_numpy(), dtype="Int64")
    nullable[~frame["b"].to_numpy()] = pd.NA
    frame["n"] = nullable
    loaded = roundtrip(Holder().fit(frame), archive=archive).value_
    assert_identical(frame, loaded)


# --------------------------------------------------------------------------------------------
# scikit-learn estimators
# --------------------------------------------------------------------------------------------
def _estimators(X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    return {
        "kmeans": KMeans(n_clusters=3, n_init=2, random_state=0).fit(X),
        "scaler": StandardScaler().fit(X),
        "logistic": LogisticRegression(C=0.5).fit(X, y),
        "gradient boosting": GradientBoostingClassifier(n_estimators=15, random_state=0).fit(X, y),
        "isotonic": IsotonicRegression(out_of_bounds="clip").fit(X[:, 0], y),
        "gaussian mixture": GaussianMixture(n_components=2, random_state=0).fit(X),
        "pipeline": make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y),
        "string classes": LogisticRegression().fit(X, np.where(y == 1, "churn", "stay")),
    }


_OUTPUTS = ("predict", "predict_proba", "decision_function", "transform", "score_samples")


@pytest.mark.parametrize("archive", [False, True], ids=["directory", "zip"])
def test_sklearn_estimators_round_trip(
    classification: tuple[np.ndarray, np.ndarray], archive: bool, tmp_path: Path
) -> None:
    X, y = classification
    X_new = np.random.default_rng(1).normal(size=(50, X.shape[1])) * 2
    for name, model in _estimators(X, y).items():
        path = save(model, tmp_path / (name + (".zip" if archive else "")))
        loaded = load(path)
        assert type(loaded) is type(model)
        assert loaded.get_params(deep=False).keys() == model.get_params(deep=False).keys()
        assert_same_state(model, loaded)
        for attr, value in vars(model).items():
            if isinstance(value, np.ndarray) and value.dtype != object:
                assert np.array_equal(
                    value, getattr(loaded, attr), equal_nan=value.dtype.kind in "fc"
                ), attr
                assert value.dtype == getattr(loaded, attr).dtype, attr
        data = X_new[:, 0] if name == "isotonic" else X_new
        checked = 0
        for method in _OUTPUTS:
            if hasattr(model, method):
                expected, got = getattr(model, method)(data), getattr(loaded, method)(data)
                assert expected.dtype == got.dtype, (name, method)
                assert np.array_equal(expected, got), (name, method)
                checked += 1
        assert checked >= 1, name


def test_gradient_boosting_stores_trees_without_object_arrays(
    classification: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    X, y = classification
    model = GradientBoostingClassifier(n_estimators=3, random_state=0).fit(X, y)
    path = save(model, tmp_path / "gb")
    manifest = json.loads((path / "manifest.json").read_text())
    estimators = manifest["model"]["state"]["estimators_"]
    assert estimators["__b2b__"] == "object_array"
    assert estimators["shape"] == [3, 1]
    tree = estimators["items"][0]["state"]["tree_"]
    assert tree["__b2b__"] == "sklearn_tree"
    for name in manifest["arrays"]:
        header = np.lib.format.read_magic(io.BytesIO((path / name).read_bytes()))
        assert header[0] == 1 or header[0] >= 2
        assert not np.load(path / name, allow_pickle=False).dtype.hasobject


def test_manifest_contents(saved_scaler: Path) -> None:
    manifest = json.loads((saved_scaler / "manifest.json").read_text())
    assert manifest["format"] == persist.FORMAT_NAME == "b2bclient-model"
    assert manifest["format_version"] == persist.FORMAT_VERSION == 1
    assert manifest["class"] == "sklearn.preprocessing._data.StandardScaler"
    assert manifest["model"]["params"] == {"copy": True, "with_mean": True, "with_std": True}
    assert set(manifest["versions"]) == {"b2bclient", "numpy", "pandas", "scikit-learn"}
    for name, digest in manifest["arrays"].items():
        assert hashlib.sha256((saved_scaler / name).read_bytes()).hexdigest() == digest
    assert manifest["manifest_sha256"] == manifest_digest(manifest)


def test_overwrite(tmp_path: Path, saved_scaler: Path) -> None:
    model = StandardScaler().fit(np.ones((3, 1)))
    with pytest.raises(InvalidParameterError, match="overwrite=True"):
        save(model, saved_scaler)
    save(model, saved_scaler, overwrite=True)
    assert np.array_equal(load(saved_scaler).mean_, [1.0])
    other = tmp_path / "notes"
    other.mkdir()
    (other / "readme.txt").write_text("mine")
    with pytest.raises(InvalidParameterError, match="never replaced"):
        save(model, other, overwrite=True)
    assert (other / "readme.txt").read_text() == "mine"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_path_that_is_not_a_path_is_refused() -> None:
    model = StandardScaler().fit(np.ones((3, 1)))
    with pytest.raises(InvalidParameterError, match="'path' parameter of save"):
        save(model, None)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'path' parameter of load"):
        load(3)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# refusals at save time
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "path", "type_name"),
    [
        (object(), r"Holder\.value_", "builtins.object"),
        ([1, {"a": Decimal("1.5")}], r"Holder\.value_\[1\]\['a'\]", "decimal.Decimal"),
        (np.array([1, lambda: 0], dtype=object), r"Holder\.value_\[1\]", "function"),
        (b"bytes", r"Holder\.value_", "builtins.bytes"),
        (pd.Series(pd.period_range("2020", periods=2, freq="M")), r"Holder\.value_", "Period"),
    ],
)
def test_unsupported_values_are_named(
    value: Any, path: str, type_name: str, tmp_path: Path
) -> None:
    with pytest.raises(FormatError, match=path) as info:
        save(Holder().fit(value), tmp_path / "bad")
    assert type_name in str(info.value)
    assert not (tmp_path / "bad").exists()


def test_foreign_object_in_state_is_refused(tmp_path: Path) -> None:
    from lifelines import KaplanMeierFitter

    model = Holder().fit({"fitter": KaplanMeierFitter()})
    with pytest.raises(FormatError, match=r"Holder\.value_\['fitter'\].*KaplanMeierFitter"):
        save(model, tmp_path / "km")


def test_cycles_are_refused(tmp_path: Path) -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(FormatError, match="cycle"):
        save(Holder().fit(loop), tmp_path / "loop")


def test_only_estimators_or_records_are_saved(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="not an estimator"):
        save({"a": 1}, tmp_path / "dict")


# --------------------------------------------------------------------------------------------
# refusals at load time
# --------------------------------------------------------------------------------------------
def test_edited_array_byte_is_detected(saved_scaler: Path) -> None:
    name = next(iter(json.loads((saved_scaler / "manifest.json").read_text())["arrays"]))
    data = bytearray((saved_scaler / name).read_bytes())
    data[-1] ^= 0x01
    (saved_scaler / name).write_bytes(bytes(data))
    with pytest.raises(FormatError, match="does not match the checksum"):
        load(saved_scaler)


def test_edited_manifest_is_detected(saved_scaler: Path) -> None:
    def mutate(manifest: dict[str, Any]) -> None:
        manifest["model"]["params"]["with_mean"] = False

    rewrite_manifest(saved_scaler, mutate, fix_digest=False)
    with pytest.raises(FormatError, match="modified after it was written"):
        load(saved_scaler)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("os.system", "only classes defined in b2bclient or sklearn"),
        ("builtins.eval", "only classes defined in b2bclient or sklearn"),
        ("subprocess.Popen", "only classes defined in b2bclient or sklearn"),
        ("sklearnx.Popen", "only classes defined in b2bclient or sklearn"),
        ("sklearn.base.clone", "is not a class"),
        ("sklearn.utils._bunch.Bunch", "is not a scikit-learn style estimator"),
        ("sklearn.preprocessing.StandardScaler", "is not a class defined under that name"),
        ("b2bclient.cli.__main__.main", "not a plain dotted name"),
        ("sklearn.NoSuchThing", "cannot be found"),
        (["os", "system"], "must be a string"),
    ],
)
def test_foreign_classes_are_refused(saved_scaler: Path, name: Any, message: str) -> None:
    def mutate(manifest: dict[str, Any]) -> None:
        manifest["model"]["class"] = name

    rewrite_manifest(saved_scaler, mutate)
    with pytest.raises(FormatError, match=message):
        load(saved_scaler)


def test_foreign_class_in_nested_node_is_refused(tmp_path: Path) -> None:
    path = save(Holder(payload=Config()), tmp_path / "nested")

    def mutate(manifest: dict[str, Any]) -> None:
        manifest["model"]["params"]["payload"]["class"] = "subprocess.Popen"

    rewrite_manifest(path, mutate)
    with pytest.raises(FormatError, match=r"subprocess\.Popen.*model\.payload"):
        load(path)


@pytest.mark.parametrize(
    ("version", "message"),
    [
        (2, "written by a newer b2bclient"),
        (0, "invalid format_version"),
        ("1", "invalid format_version"),
    ],
)
def test_format_version_is_checked(saved_scaler: Path, version: Any, message: str) -> None:
    def mutate(manifest: dict[str, Any]) -> None:
        manifest["format_version"] = version

    rewrite_manifest(saved_scaler, mutate)
    with pytest.raises(FormatError, match=message):
        load(saved_scaler)


def test_newer_version_is_reported_before_digest(saved_scaler: Path) -> None:
    def mutate(manifest: dict[str, Any]) -> None:
        manifest["format_version"] = 7
        manifest["model"] = {"layout": "from the future"}

    rewrite_manifest(saved_scaler, mutate, fix_digest=False)
    with pytest.raises(FormatError, match="newer b2bclient"):
        load(saved_scaler)


def test_missing_array_file(saved_scaler: Path) -> None:
    name = next(iter(json.loads((saved_scaler / "manifest.json").read_text())["arrays"]))
    (saved_scaler / name).unlink()
    with pytest.raises(FormatError, match="missing the file"):
        load(saved_scaler)


def test_missing_manifest(saved_scaler: Path) -> None:
    (saved_scaler / "manifest.json").unlink()
    with pytest.raises(FormatError, match=r"has no manifest\.json"):
        load(saved_scaler)


def test_pickled_object_array_is_refused(tmp_path: Path) -> None:
    path = save(Holder().fit(np.arange(3.0)), tmp_path / "pickled")
    manifest = json.loads((path / "manifest.json").read_text())
    name = next(iter(manifest["arrays"]))
    evil = np.array([{"payload": 1}, None], dtype=object)
    buffer = io.BytesIO()
    np.save(buffer, evil, allow_pickle=True)
    (path / name).write_bytes(buffer.getvalue())

    def mutate(manifest: dict[str, Any]) -> None:
        manifest["arrays"][name] = hashlib.sha256(buffer.getvalue()).hexdigest()
        manifest["model"]["state"]["value_"]["dtype"] = "|O"
        manifest["model"]["state"]["value_"]["shape"] = [2]

    rewrite_manifest(path, mutate)
    with pytest.raises(FormatError, match="cannot be read without pickle"):
        load(path)


def test_array_that_differs_from_manifest_is_refused(tmp_path: Path) -> None:
    path = save(Holder().fit(np.arange(3.0)), tmp_path / "shape")

    def mutate(manifest: dict[str, Any]) -> None:
        manifest["model"]["state"]["value_"]["shape"] = [4]

    rewrite_manifest(path, mutate)
    with pytest.raises(FormatError, match="differ from the manifest"):
        load(path)


def test_unlisted_file_reference_is_refused(tmp_path: Path) -> None:
    path = save(Holder().fit(np.arange(3.0)), tmp_path / "unlisted")

    def mutate(manifest: dict[str, Any]) -> None:
        manifest["model"]["state"]["value_"]["file"] = "../../etc/passwd"

    rewrite_manifest(path, mutate)
    with pytest.raises(FormatError, match="does not list"):
        load(path)


@pytest.mark.parametrize("name", ["../evil.npy", "/abs/evil.npy", "arrays/../../x.npy"])
def test_zip_with_traversal_names_is_refused(tmp_path: Path, name: str) -> None:
    path = save(StandardScaler().fit(np.ones((2, 1))), tmp_path / "model.zip")
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(name, b"x")
    with pytest.raises(FormatError, match="points outside the archive"):
        load(path)


def test_tampered_zip_member_is_detected(tmp_path: Path) -> None:
    path = save(StandardScaler().fit(np.ones((2, 1))), tmp_path / "model.zip")
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    name = next(n for n in members if n.endswith(".npy"))
    members[name] = members[name][:-1] + bytes([members[name][-1] ^ 0xFF])
    with zipfile.ZipFile(path, "w") as archive:
        for n, data in members.items():
            archive.writestr(n, data)
    with pytest.raises(FormatError, match="checksum"):
        load(path)


def test_foreign_files_are_refused(tmp_path: Path) -> None:
    text = tmp_path / "model.txt"
    text.write_text("hello")
    with pytest.raises(FormatError, match="neither a directory nor a zip"):
        load(text)
    with pytest.raises(FormatError, match="no saved model"):
        load(tmp_path / "absent")
    foreign = tmp_path / "foreign.zip"
    with zipfile.ZipFile(foreign, "w") as archive:
        archive.writestr("manifest.json", json.dumps({"format": "other-tool"}))
    with pytest.raises(FormatError, match="declares the format 'other-tool'"):
        load(foreign)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text('{"format": "b2bclient-model", "format_version": NaN}')
    with pytest.raises(FormatError, match="not valid JSON"):
        load(broken)
    (broken / "manifest.json").write_text('{"format": "b2bclient-model", "format": "x"}')
    with pytest.raises(FormatError, match="appears twice"):
        load(broken)


def test_unknown_node_and_bad_attribute_names_are_refused(saved_scaler: Path) -> None:
    def mutate(manifest: dict[str, Any]) -> None:
        manifest["model"]["state"]["__class__"] = 1

    rewrite_manifest(saved_scaler, mutate)
    with pytest.raises(FormatError, match="not a fitted attribute name"):
        load(saved_scaler)

    def mutate_kind(manifest: dict[str, Any]) -> None:
        manifest["model"]["state"]["__class__"] = {"__b2b__": "pickle", "data": "..."}

    rewrite_manifest(saved_scaler, mutate_kind)
    with pytest.raises(FormatError, match="unknown node kind 'pickle'"):
        load(saved_scaler)


def test_unknown_parameter_is_refused(saved_scaler: Path) -> None:
    def mutate(manifest: dict[str, Any]) -> None:
        manifest["model"]["params"]["shell"] = "rm -rf /"

    rewrite_manifest(saved_scaler, mutate)
    with pytest.raises(FormatError, match=r"parameters \['shell'\]"):
        load(saved_scaler)


def test_public_names() -> None:
    assert sorted(persist.__all__) == sorted(
        ["FORMAT_NAME", "FORMAT_VERSION", "assert_same_state", "load", "roundtrip", "save"]
    )
    for name in persist.__all__:
        assert hasattr(persist, name)


def test_assert_same_state_reports_the_difference() -> None:
    a = StandardScaler().fit(np.array([[0.0], [2.0]]))
    b = StandardScaler().fit(np.array([[0.0], [4.0]]))
    with pytest.raises(AssertionError, match=r"StandardScaler\.mean_: array contents differ"):
        assert_same_state(a, b)


def test_tree_with_out_of_range_links_is_refused(
    classification: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    X, y = classification
    model = GradientBoostingClassifier(n_estimators=2, max_depth=2, random_state=0).fit(X, y)
    path = save(model, tmp_path / "gb")
    manifest = json.loads((path / "manifest.json").read_text())
    tree = manifest["model"]["state"]["estimators_"]["items"][0]["state"]["tree_"]
    name = tree["state"]["items"]["nodes"]["file"]
    nodes = np.load(path / name, allow_pickle=False)
    nodes["left_child"][0] = 10**6
    buffer = io.BytesIO()
    np.save(buffer, nodes, allow_pickle=False)
    (path / name).write_bytes(buffer.getvalue())

    def mutate(manifest: dict[str, Any]) -> None:
        manifest["arrays"][name] = hashlib.sha256(buffer.getvalue()).hexdigest()

    rewrite_manifest(path, mutate)
    with pytest.raises(FormatError, match="node links or features are out of range"):
        load(path)
