"""Safe, versioned persistence of fitted models: JSON plus NumPy ``.npy`` files, no pickle.

``save(model, path)`` writes a directory (or one ``.zip`` when the path ends in ``.zip``) and
``load(path)`` reads it back, refusing anything that is foreign, modified, written by a newer
b2bclient, or that names a class outside b2bclient and scikit-learn. See ``docs/persistence.md``.
"""

from __future__ import annotations

from b2bclient.persist._archive import FORMAT_NAME, FORMAT_VERSION, load, save
from b2bclient.persist._compare import assert_same_state, roundtrip

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "assert_same_state", "load", "roundtrip", "save"]
