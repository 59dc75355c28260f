"""Sphinx configuration of the b2bclient documentation site (``make docs``).

Two pages are generated on every build, so that nothing has to be listed by hand:

* ``tutorials/``: a copy of every notebook in ``notebooks/``; each is executed by myst-nb.
* ``api/``: one page per public package of b2bclient (found by walking the package), listing
  the names in its ``__all__``; autosummary writes a page per name from its numpydoc docstring.
"""

from __future__ import annotations

import importlib
import pkgutil
import shutil
import sys
import types
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT / "src"))

import b2bclient  # noqa: E402

project = "b2bclient"
author = "The b2bclient developers"
copyright = "the b2bclient developers"
release = b2bclient.__version__
version = release

root_doc = "contents"
extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
]
exclude_patterns = ["_build", "jupyter_execute", "**.ipynb_checkpoints", "README.md"]

# --- MyST and notebooks -------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3
nb_execution_mode = "force"  # every notebook runs on every build
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

# --- API reference ------------------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"  # the numpydoc sections give the types
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "inherited-members": False, "show-inheritance": True}
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False

# --- HTML ---------------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"b2bclient {release}"
html_static_path = ["_static"]
html_show_sourcelink = False


def _copy_notebooks() -> None:
    """Copy ``notebooks/*.ipynb`` into ``docs/tutorials/`` (generated; not committed)."""
    target = DOCS / "tutorials"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir()
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        shutil.copy2(notebook, target / notebook.name)


def _public_packages() -> list[str]:
    """Every public package and subpackage of b2bclient (no ``_private`` part in its name)."""
    names = ["b2bclient"]
    for info in pkgutil.walk_packages(b2bclient.__path__, prefix="b2bclient."):
        parts = info.name.split(".")
        if info.ispkg and not any(p.startswith("_") for p in parts):
            names.append(info.name)
    return sorted(names)


def _api_page(name: str) -> str:
    module = importlib.import_module(name)
    title = f"``{name}``"
    lines = [title, "=" * len(title), "", f".. automodule:: {name}", "   :no-members:", ""]
    public = [
        n
        for n in getattr(module, "__all__", [])
        if not isinstance(getattr(module, n, None), types.ModuleType) and n != "__version__"
    ]
    if name == "b2bclient":  # the top level re-exports; document only what lives nowhere else
        public = [n for n in public if n.endswith("Error")]
    # Constants have no docstring of their own (autodoc would show their type's): list them.
    constants = [n for n in public if not callable(getattr(module, n))]
    public = [n for n in public if n not in constants]
    if constants:
        lines += ["Constants: " + ", ".join(f"``{n}``" for n in constants) + ".", ""]
    if public:
        lines += [
            f".. currentmodule:: {name}",
            "",
            ".. autosummary::",
            "   :toctree: generated",
            "   :nosignatures:",
            "",
            *(f"   {n}" for n in public),
            "",
        ]
    return "\n".join(lines)


def _write_api() -> None:
    """Write ``docs/api/index.rst`` and one page per public package."""
    folder = DOCS / "api"
    shutil.rmtree(folder / "generated", ignore_errors=True)  # pages of names that were removed
    for page in folder.glob("*.rst"):
        page.unlink()
    folder.mkdir(exist_ok=True)
    packages = _public_packages()
    for name in packages:
        (folder / f"{name}.rst").write_text(_api_page(name))
    index = [
        "API reference",
        "=============",
        "",
        "Generated from the numpydoc docstrings. Each package lists the names of its ``__all__``;",
        "everything else is private.",
        "",
        ".. toctree::",
        "   :maxdepth: 1",
        "",
        *(f"   {name}" for name in packages),
        "",
    ]
    (folder / "index.rst").write_text("\n".join(index))


def _skip_member(app: object, what: str, name: str, obj: object, skip: bool, options: object) -> bool:
    """Leave out scikit-learn's generated metadata-routing methods (``set_fit_request``, ...)."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return skip


def setup(app: object) -> None:
    app.connect("autodoc-skip-member", _skip_member)  # type: ignore[attr-defined]


_copy_notebooks()
_write_api()
