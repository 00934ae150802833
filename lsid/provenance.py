"""Provenance: the digests that tell a stage whether its outputs are still up to date.

A stage's cache key is :func:`digest` of everything that makes its outputs: its parameters, the
digests of the stages before it, its inputs, and its code. The code is found, not listed:
:func:`code_digest` hashes the source of every lsid module in the stage's import closure, read from
the code with :mod:`ast` (every ``import`` and ``from ... import`` anywhere in a module, those inside
functions included, and the ``__init__`` of every package on the way). So an edit to a plotting
module reruns no stage, and an edit to ``lsid.detect`` reruns what detects.

A stage records its key in a small JSON *stamp* (:func:`stamp`), written last, after its products;
:func:`fresh` says whether a stamp holds a key and its products are all on disk.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Iterable

#: The folder of the lsid package.
PACKAGE_ROOT = Path(__file__).resolve().parent
#: Modules whose effect on a stage's products enters through its parameters (``cfg.to_dict()``, a
#: TrainConfig) or its paths, not through its code: the parameter models and their defaults, the
#: profiles, the AOI template and the run layout (a renamed path is a missing product). Left out of
#: every code key, with what only they import, so that editing a key's description or a docstring
#: reruns nothing.
PARAMETER_MODULES = ("lsid.config", "lsid.profiles", "lsid.config_template", "lsid.layout")


def digest(*parts) -> str:
    """SHA-256 (hex) of JSON-serialisable parts (dicts with sorted keys; paths, dates and other objects
    by ``str``): the one way lsid turns parameters and upstream digests into a cache key."""
    text = json.dumps(parts if len(parts) != 1 else parts[0], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def module_file(name: str) -> Path | None:
    """Source file of an lsid module or package (``lsid.sbas.invert`` → ``lsid/sbas/invert.py``,
    ``lsid.sbas`` → ``lsid/sbas/__init__.py``); None when it is not an lsid module."""
    parts = name.split(".")
    if parts[0] != "lsid":
        return None
    base = PACKAGE_ROOT.joinpath(*parts[1:])
    if base.is_dir() and (base / "__init__.py").is_file():
        return base / "__init__.py"
    f = base.with_suffix(".py")
    return f if f.is_file() else None


def _package_of(name: str, path: Path) -> str:
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


@functools.lru_cache(maxsize=None)
def _lazy_names(root: Path, package: str) -> dict[str, str]:
    """{name: module} of the names a package's ``__init__`` provides lazily, through a module-level
    ``__getattr__`` that imports them (``from lsid.io.netcdf import open_netcdf`` inside it)."""
    f = module_file(package)
    if f is None or f.name != "__init__.py":
        return {}
    out = {}
    for node in ast.parse(f.read_text()).body:
        if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
            for sub in ast.walk(node):
                if isinstance(sub, ast.ImportFrom) and sub.module and not sub.level:
                    out.update({a.asname or a.name: sub.module for a in sub.names})
    return out


def _lazy_or_typing(node) -> bool:
    """A module-level ``def __getattr__`` (lazy names) or ``if TYPE_CHECKING:`` block (annotations
    only): imports there are not run when the module is."""
    if isinstance(node, ast.FunctionDef):
        return node.name == "__getattr__"
    if isinstance(node, ast.If):
        t = node.test
        return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or \
            (isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")
    return False


def imported_modules(source: str, name: str = "", path: Path | None = None) -> set[str]:
    """The lsid modules a piece of Python source imports (anywhere in it), as dotted names.

    ``name`` and ``path``: the module's own name and file, to resolve relative imports.
    ``from lsid.x import y`` gives ``lsid.x.y`` when ``y`` is a module, the module that provides ``y``
    when ``lsid.x`` provides it lazily (a module ``__getattr__``), else ``lsid.x``. The imports inside
    a package's own ``__getattr__`` are not its dependencies: they run only for the names asked for.
    """
    out: set[str] = set()
    package = _package_of(name, path) if name and path is not None else ""
    tree = ast.parse(source)
    lazy = {id(n) for top in tree.body if _lazy_or_typing(top) for n in ast.walk(top)}
    for node in ast.walk(tree):
        if id(node) in lazy:
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1] if package else []
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            out.add(base)
            provided = _lazy_names(PACKAGE_ROOT, base) if module_file(base) is not None else {}
            for a in node.names:
                out.add(f"{base}.{a.name}")
                if a.name in provided:
                    out.add(provided[a.name])
    return {m for m in out if module_file(m) is not None}


def _with_parents(name: str) -> list[str]:
    """``lsid.a.b`` → ``lsid``, ``lsid.a``, ``lsid.a.b`` (importing a module runs its packages' __init__)."""
    parts = name.split(".")
    return [".".join(parts[: k + 1]) for k in range(len(parts))]


@functools.lru_cache(maxsize=None)
def _closure(roots: tuple[str, ...], extra_source: str = "") -> tuple[str, ...]:
    todo = [p for r in roots for p in _with_parents(r)]
    todo += [p for m in (imported_modules(extra_source) if extra_source else ()) for p in _with_parents(m)]
    seen: set[str] = set()
    while todo:
        m = todo.pop()
        if m in seen or module_file(m) is None or m in PARAMETER_MODULES:
            continue
        seen.add(m)
        f = module_file(m)
        for dep in imported_modules(f.read_text(), m, f):
            todo.extend(p for p in _with_parents(dep) if p not in seen)
    return tuple(sorted(seen))


def import_closure(*modules: str, source: str = "") -> list[str]:
    """Every lsid module that importing ``modules`` (dotted names) may load, themselves included, and
    those that ``source`` (e.g. a notebook's code) imports, less :data:`PARAMETER_MODULES` (and what
    only they import); sorted dotted names."""
    return list(_closure(tuple(sorted(modules)), source))


def code_digest(*modules: str, source: str = "") -> str:
    """SHA-256 of the source of every lsid module in the import closure of ``modules`` (and of what
    ``source`` imports): a stage's code key."""
    h = hashlib.sha256()
    for m in import_closure(*modules, source=source):
        f = module_file(m)
        h.update(str(f.relative_to(PACKAGE_ROOT)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


#: Bytes read from each end of a file for its sample hash (:func:`file_fingerprint`).
SAMPLE_BYTES = 1 << 16


def _sample_hash(p: Path, size: int) -> str:
    """SHA-256 of a file's first and last :data:`SAMPLE_BYTES` (all of it when it is small)."""
    h = hashlib.sha256()
    with open(p, "rb") as f:
        h.update(f.read(SAMPLE_BYTES))
        if size > 2 * SAMPLE_BYTES:
            f.seek(-SAMPLE_BYTES, 2)
        h.update(f.read(SAMPLE_BYTES))
    return h.hexdigest()


def file_fingerprint(path: str | Path) -> list:
    """[name, size in bytes, modification time in ns, SHA-256 of the first and last
    :data:`SAMPLE_BYTES`] of a file, [name, "missing"], or [name, "unreadable: ..."]: what a cache key
    records of an input, so that a file replaced in place under the same name (reprocessed
    interferograms) reruns its stage, without reading all of a many-GB stack."""
    p = Path(path)
    try:
        st = p.stat()
        return [p.name, st.st_size, st.st_mtime_ns, _sample_hash(p, st.st_size)]
    except FileNotFoundError:
        return [p.name, "missing"]
    except OSError as exc:  # a permission problem: said in the key, and the reader will name it
        return [p.name, f"unreadable: {exc.strerror or exc}"]


def files_fingerprint(paths: Iterable[str | Path]) -> list:
    """:func:`file_fingerprint` of every file under each of ``paths`` (files or folders, recursively,
    hidden files and lsid's temporaries left out), one list per path."""
    out = []
    for p in map(Path, paths):
        out.append([str(p)] + [file_fingerprint(f) for f in (_files(p) if p.is_dir() else [p])])
    return out


def _files(folder: Path) -> list[Path]:
    """The files under ``folder``, recursively, sorted; hidden ones (lsid's temporaries) left out."""
    return sorted(f for f in folder.rglob("*") if f.is_file() and not f.name.startswith("."))


def _product_record(p: Path) -> list | None:
    """What a stamp records of a product: [size, sample hash] of a file, the same per file of a folder
    (by contents, not by time: a product copied with its run folder stays intact); None when absent."""
    try:
        if p.is_dir():
            return [[str(f.relative_to(p)), f.stat().st_size, _sample_hash(f, f.stat().st_size)] for f in _files(p)]
        size = p.stat().st_size
        return [size, _sample_hash(p, size)]
    except OSError:
        return None


def read_stamp(path: str | Path) -> dict:
    """The JSON stamp at ``path``; ``{}`` when it is missing or unreadable (a killed write)."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def products_intact(stamp_data: dict, root: str | Path) -> bool:
    """True when every product a stamp recorded (:func:`stamp` with ``products``) is on disk with the
    size and sample hash (first and last 64 KiB) it had when the stamp was written: a deleted,
    truncated or rewritten product is not intact; a copied one is. ``root``: the folder the recorded
    paths are relative to (the stamp's)."""
    for rel, rec in (stamp_data.get("products") or {}).items():
        if _product_record(Path(root) / rel) != rec:
            return False
    return True


def fresh(path: str | Path, key: str, products: Iterable[str | Path] = ()) -> bool:
    """True when the stamp at ``path`` records ``key``, every one of ``products`` exists, and the
    products the stamp recorded are intact (:func:`products_intact`)."""
    data = read_stamp(path)
    return (data.get("digest") == key and all(Path(p).exists() for p in products)
            and products_intact(data, Path(path).parent))


def stamp(path: str | Path, key: str, products: Iterable[str | Path] = (), **fields) -> dict:
    """Write the stamp ``{"digest": key, **fields, "products": {path: size and sample hash}}`` atomically, after
    the products it vouches for (paths relative to the stamp's folder); returns it."""
    from lsid.io.atomic import write_text

    root = Path(path).parent
    data = {"digest": key, **fields}
    recorded = {str(Path(os.path.relpath(p, root))): _product_record(Path(p)) for p in products}
    if recorded:
        data["products"] = recorded
    write_text(path, json.dumps(data, indent=2, default=_jsonable))
    return json.loads(json.dumps(data, default=_jsonable))


def _jsonable(obj):
    """JSON for what json does not know: numpy scalars as numbers, anything else as text."""
    return obj.item() if hasattr(obj, "item") and callable(obj.item) else str(obj)
