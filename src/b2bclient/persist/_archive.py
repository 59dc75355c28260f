"""Writing and reading saved models: a directory or a zip of ``manifest.json`` plus ``.npy`` files."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tokenize
import uuid
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np

from b2bclient._exceptions import FormatError, InvalidParameterError
from b2bclient.persist._codec import array_file_name
from b2bclient.persist._decoder import Decoder
from b2bclient.persist._encoder import Encoder

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "load", "manifest_digest", "save"]

#: Value of the ``format`` key of every manifest.
FORMAT_NAME = "b2bclient-model"
#: Version of the layout written by this b2bclient; files with a larger one are refused.
FORMAT_VERSION = 1

MANIFEST = "manifest.json"
_DIGEST_KEY = "manifest_sha256"
_ARRAY_NAME = re.compile(r"arrays/[0-9]{6}\.npy")
_CHUNK = 1 << 20
#: What reading a damaged zip archive or member raises besides ``BadZipFile``: a corrupt deflate
#: stream (``zlib.error``), a member cut short (``EOFError``), an unsupported compression method
#: (``NotImplementedError``), an encrypted member (``RuntimeError``), a bad header (``ValueError``).
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    NotImplementedError,
    RuntimeError,
    ValueError,
)

PathLike = str | os.PathLike[str]


def _library_versions() -> dict[str, str]:
    import pandas as pd
    import sklearn

    import b2bclient

    return {
        "b2bclient": b2bclient.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scikit-learn": sklearn.__version__,
    }


def _canonical(obj: Any) -> bytes:
    return json.dumps(
        obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"), sort_keys=False
    ).encode("utf-8")


def manifest_digest(manifest: dict[str, Any]) -> str:
    """Return the SHA-256 of `manifest` without its own digest, in canonical JSON.

    Parameters
    ----------
    manifest : dict
        A parsed manifest; the ``manifest_sha256`` key, if present, is left out.

    Returns
    -------
    str
        Hexadecimal digest.

    Examples
    --------
    >>> len(manifest_digest({"format": "b2bclient-model"}))
    64
    """
    body = {k: v for k, v in manifest.items() if k != _DIGEST_KEY}
    return hashlib.sha256(_canonical(body)).hexdigest()


class _HashingWriter:
    """A write-only file object that forwards to another and hashes what passes through."""

    def __init__(self, target: IO[bytes]) -> None:
        self._target = target
        self.sha256 = hashlib.sha256()

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self.sha256.update(data)
        return self._target.write(data)


def _write_array(target: IO[bytes], array: np.ndarray[Any, Any]) -> str:
    writer = _HashingWriter(target)
    np.lib.format.write_array(writer, array, allow_pickle=False)
    return writer.sha256.hexdigest()


def _as_path(path: Any, owner: str) -> Path:
    """Return `path` as a Path, refusing anything that is not a path."""
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidParameterError(
            f"The 'path' parameter of {owner} must be a path such as 'churn-model' or "
            f"'churn-model.zip'. Got {path!r} instead."
        )
    return Path(os.fspath(path))


def save(model: Any, path: PathLike, *, overwrite: bool = False) -> Path:
    """Save a fitted (or unfitted) estimator without pickle.

    The result is a directory, or a single zip archive when `path` ends in ``.zip``, holding
    ``manifest.json`` (format name and version, library versions, class, ``get_params()`` and the
    fitted state as a JSON tree) and one ``.npy`` file per array. Every array file's SHA-256 and a
    digest of the manifest are recorded so that :func:`load` detects damaged or edited files.

    Parameters
    ----------
    model : estimator or attrs record
        A b2bclient or scikit-learn estimator (a subclass of ``sklearn.base.BaseEstimator``), or a
        frozen attrs record of b2bclient. Its fitted state is every attribute ending in ``_``
        (scikit-learn estimators: their pickling state), or what ``_b2b_get_state`` returns.
    path : str or os.PathLike
        Target directory, or a path ending in ``.zip`` for a single archive.
    overwrite : bool, default False
        Replace an existing saved model at `path`. A directory that does not hold a saved model
        is never replaced.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    FormatError
        If the model holds a value that cannot be stored without pickle; the message names the
        attribute path and its type.
    InvalidParameterError
        If `path` is not a path, or exists and `overwrite` is false, or it is not a saved model.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from sklearn.preprocessing import StandardScaler
    >>> scaler = StandardScaler().fit(np.array([[0.0], [2.0]]))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     written = save(scaler, Path(tmp) / "scaler.zip")
    ...     load(written).mean_
    array([1.])
    """
    target = _as_path(path, "save")
    as_zip = target.suffix.lower() == ".zip"
    if target.exists() or target.is_symlink():
        _check_replaceable(target, overwrite)
    owner = type(model).__qualname__
    encoder = Encoder(owner)
    tree = encoder.encode_top(model, owner)
    manifest: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "versions": _library_versions(),
        "class": tree["class"],
        "model": tree,
        "arrays": {},
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.partial-{uuid.uuid4().hex}"
    try:
        if as_zip:
            with zipfile.ZipFile(staging, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for index, array in enumerate(encoder.arrays):
                    name = array_file_name(index)
                    with zf.open(name, "w", force_zip64=True) as fp:
                        manifest["arrays"][name] = _write_array(fp, array)
                manifest[_DIGEST_KEY] = manifest_digest(manifest)
                zf.writestr(MANIFEST, _manifest_bytes(manifest))
        else:
            (staging / "arrays").mkdir(parents=True)
            for index, array in enumerate(encoder.arrays):
                name = array_file_name(index)
                with open(staging / name, "wb") as fp:
                    manifest["arrays"][name] = _write_array(fp, array)
            manifest[_DIGEST_KEY] = manifest_digest(manifest)
            (staging / MANIFEST).write_bytes(_manifest_bytes(manifest))
        _move_into_place(staging, target)
    finally:
        if staging.is_dir():
            shutil.rmtree(staging, ignore_errors=True)
        elif staging.exists():
            staging.unlink()
    return target


def _manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, ensure_ascii=False, allow_nan=False, indent=1).encode("utf-8")


def _check_replaceable(target: Path, overwrite: bool) -> None:
    if not overwrite:
        raise InvalidParameterError(
            f"The 'path' parameter of save points at '{target}', which already exists. Pass "
            "overwrite=True to replace a saved model, or choose another path."
        )
    if target.is_dir() and not target.is_symlink():
        if any(target.iterdir()) and not (target / MANIFEST).is_file():
            raise InvalidParameterError(
                f"The 'path' parameter of save points at the directory '{target}', which is not "
                "empty and holds no saved model; it is never replaced. Choose another path."
            )
    elif target.suffix.lower() != ".zip" or not zipfile.is_zipfile(target):
        raise InvalidParameterError(
            f"The 'path' parameter of save points at '{target}', which is not a saved model; "
            "it is never replaced. Choose another path."
        )


def _move_into_place(staging: Path, target: Path) -> None:
    if not target.exists() and not target.is_symlink():
        os.replace(staging, target)
        return
    if staging.is_file() and not target.is_dir():
        os.replace(staging, target)
        return
    trash = target.parent / f".{target.name}.old-{uuid.uuid4().hex}"
    os.replace(target, trash)
    os.replace(staging, target)
    if trash.is_dir() and not trash.is_symlink():
        shutil.rmtree(trash, ignore_errors=True)
    else:
        trash.unlink()


# ---------------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------------


#: What numpy's ``.npy`` reader raises on a damaged file: a header that is not a dict literal
#: (``SyntaxError``, ``tokenize.TokenError``), bytes cut short (``EOFError``, ``ValueError``),
#: a claimed shape too large to allocate (``MemoryError``, ``OverflowError``).
_NPY_ERRORS = (
    ValueError,
    TypeError,
    OSError,
    EOFError,
    SyntaxError,
    tokenize.TokenError,
    MemoryError,
    OverflowError,
)


def _read_npy(data: bytes) -> np.ndarray[Any, Any]:
    """Read a ``.npy`` file held in memory, without pickle."""
    array: np.ndarray[Any, Any] = np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
    return array


class _Reader(Protocol):
    def exists(self, name: str) -> bool: ...

    def read(self, name: str) -> bytes: ...


class _DirectoryReader:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, name: str) -> Path:
        candidate = (self.root / name).resolve()
        if self.root not in candidate.parents:
            raise FormatError(
                f"The saved model '{self.root}' refers to '{name}', which lies outside its "
                "directory (through a link). The directory was tampered with."
            )
        return candidate

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def read(self, name: str) -> bytes:
        return self._path(name).read_bytes()


class _ZipReader:
    def __init__(self, archive: zipfile.ZipFile, source: Path) -> None:
        self.archive = archive
        self.source = source
        names = [info.filename for info in archive.infolist()]
        for name in names:
            parts = name.split("/")
            if (
                name.startswith("/")
                or "\\" in name
                or ":" in name
                or any(part in ("..", ".") for part in parts)
            ):
                raise FormatError(
                    f"The archive '{source}' contains the member '{name}', whose name points "
                    "outside the archive. It was not written by b2bclient and is not read."
                )
        if len(set(names)) != len(names):
            raise FormatError(
                f"The archive '{source}' contains members with the same name twice, so what it "
                "holds is ambiguous. It was not written by b2bclient and is not read."
            )
        self._names = set(names)

    def exists(self, name: str) -> bool:
        return name in self._names

    def read(self, name: str) -> bytes:
        try:
            return self.archive.read(name)
        except _ZIP_ERRORS as exc:
            raise FormatError(
                f"The member '{name}' of the archive '{self.source}' cannot be read: "
                f"{type(exc).__name__}: {exc}. The archive is damaged or truncated; copy it "
                "again from its source."
            ) from exc


@contextmanager
def _open_reader(source: Path) -> Iterator[_Reader]:
    if source.is_dir():
        yield _DirectoryReader(source)
        return
    if not source.exists():
        raise FormatError(
            f"There is no saved model at '{source}'. Check the path; save() writes a directory, "
            "or a single file when the path ends in '.zip'."
        )
    if not zipfile.is_zipfile(source):
        raise FormatError(
            f"'{source}' is neither a directory nor a zip archive written by b2bclient.save, so "
            "it is not a saved model."
        )
    try:
        archive = zipfile.ZipFile(source)
    except _ZIP_ERRORS as exc:
        raise FormatError(
            f"The archive '{source}' is damaged: {type(exc).__name__}: {exc}. Copy it again "
            "from its source."
        ) from exc
    with archive:
        yield _ZipReader(archive, source)


def _reject_constant(token: str) -> Any:
    raise ValueError(f"the non-standard JSON constant {token} is not allowed")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r} appears twice in one object")
        out[key] = value
    return out


def _read_manifest(reader: _Reader, source: Path) -> dict[str, Any]:
    if not reader.exists(MANIFEST):
        raise FormatError(
            f"'{source}' has no {MANIFEST}, so it is not a model saved by b2bclient (or the "
            "file was removed)."
        )
    raw = reader.read(MANIFEST)
    try:
        manifest = json.loads(
            raw.decode("utf-8"),
            parse_constant=_reject_constant,
            object_pairs_hook=_unique_keys,
        )
    except (ValueError, RecursionError) as exc:
        raise FormatError(f"The {MANIFEST} of '{source}' is not valid JSON: {exc}.") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise FormatError(
            f"'{source}' is not a model saved by b2bclient: its {MANIFEST} declares the format "
            f"{found!r} instead of {FORMAT_NAME!r}."
        )
    version = manifest.get("format_version")
    if type(version) is not int or version < 1:
        raise FormatError(
            f"The {MANIFEST} of '{source}' has an invalid format_version {version!r}; the file "
            "is damaged or was edited by hand."
        )
    if version > FORMAT_VERSION:
        written_by = manifest.get("versions", {})
        raise FormatError(
            f"'{source}' was written by a newer b2bclient (format version {version}, "
            f"b2bclient {written_by.get('b2bclient', '?') if isinstance(written_by, dict) else '?'}"
            f"); this b2bclient reads format versions up to {FORMAT_VERSION}. Upgrade b2bclient "
            "to load it."
        )
    try:
        digest = manifest_digest(manifest)
    except ValueError as exc:
        raise FormatError(f"The {MANIFEST} of '{source}' holds invalid numbers: {exc}.") from exc
    if manifest.get(_DIGEST_KEY) != digest:
        raise FormatError(
            f"The {MANIFEST} of '{source}' was modified after it was written: its digest does "
            "not match its content. Restore the original file or save the model again."
        )
    return manifest


def _check_arrays(manifest: dict[str, Any], reader: _Reader, source: Path) -> dict[str, str]:
    listing = manifest.get("arrays")
    if not isinstance(listing, dict):
        raise FormatError(f"The {MANIFEST} of '{source}' has no valid 'arrays' listing.")
    for name, digest in listing.items():
        if not _ARRAY_NAME.fullmatch(name) or not isinstance(digest, str):
            raise FormatError(
                f"The {MANIFEST} of '{source}' lists the file {name!r}, which is not an array "
                "file name b2bclient writes. The file was tampered with."
            )
        if not reader.exists(name):
            raise FormatError(
                f"The saved model '{source}' is missing the file '{name}' listed in its "
                f"{MANIFEST}. Copy the complete directory or archive."
            )
    return listing


def load(path: PathLike) -> Any:
    """Load a model written by :func:`save`, checking its format, integrity and class.

    Nothing from the file is executed: the class it names must be an estimator defined in
    b2bclient or scikit-learn (or an attrs record of b2bclient), arrays are read with
    ``allow_pickle=False``, and the manifest digest and every array's SHA-256 must match. The
    digests guard against damage and accidental edits (integrity); they do not prove who wrote
    the file (authenticity).

    Parameters
    ----------
    path : str or os.PathLike
        A directory or a zip archive written by :func:`save`.

    Returns
    -------
    object
        The model, with the same parameters and a bit-identical fitted state.

    Raises
    ------
    FormatError
        If the path is not a saved model, was written by a newer b2bclient, was modified, misses
        a file, or names a class that may not be loaded.
    InvalidParameterError
        If `path` is not a path.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> model = LinearRegression().fit(np.array([[0.0], [1.0]]), np.array([1.0, 3.0]))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = save(model, Path(tmp) / "model")
    ...     load(Path(tmp) / "model").coef_
    array([2.])
    """
    source = _as_path(path, "load")
    with _open_reader(source) as reader:
        manifest = _read_manifest(reader, source)
        listing = _check_arrays(manifest, reader, source)

        def read_array(name: str, where: str) -> np.ndarray[Any, Any]:
            if name not in listing:
                raise FormatError(
                    f"The saved model '{source}' refers at {where} to '{name}', which its "
                    f"{MANIFEST} does not list. The file was tampered with."
                )
            data = reader.read(name)
            if hashlib.sha256(data).hexdigest() != listing[name]:
                raise FormatError(
                    f"The array file '{name}' of '{source}' does not match the checksum in its "
                    f"{MANIFEST}: it was damaged or modified. Restore the original file."
                )
            try:
                return _read_npy(data)
            except _NPY_ERRORS as exc:
                raise FormatError(
                    f"The array file '{name}' of '{source}' cannot be read without pickle: "
                    f"{type(exc).__name__}: {exc}. Only plain .npy arrays written by b2bclient "
                    "are accepted."
                ) from exc

        decoder = Decoder(read_array, f"'{source}'")
        if not isinstance(manifest.get("model"), dict):
            raise FormatError(f"The {MANIFEST} of '{source}' holds no model.")
        try:
            return decoder.decode(manifest["model"], "model")
        except RecursionError as exc:
            raise FormatError(
                f"The {MANIFEST} of '{source}' nests objects too deeply to be a saved model."
            ) from exc
