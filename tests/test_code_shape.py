"""The shape of lsid's code: no overlong function, and no lower layer importing the figures."""

import ast
from pathlib import Path

import pytest

from lsid.provenance import imported_modules

PACKAGE = Path(__file__).resolve().parents[1] / "lsid"
#: Longest function or method, in lines (``end_lineno - lineno + 1``, decorators excluded).
MAX_FUNCTION_LINES = 100
#: Files whose long functions are meant to be long: the numba kernels of the inversion (one loop
#: nest each, as fast as numba makes them) and the terrain recipe (one physical recipe, step by step).
LONG_FUNCTIONS_ALLOWED = ("sbas/kernels.py", "synth/terrain.py")
#: Packages below lsid.plots: none of their modules may import it.
BELOW_PLOTS = ("tiles", "sbas", "io", "synth", "models", "detect", "inventory", "training", "report")


def _modules(under: Path = PACKAGE):
    return sorted(under.rglob("*.py"))


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _imported(path: Path) -> set[str]:
    """The lsid modules ``path`` imports anywhere in it (lsid.provenance's scan: the one that makes the
    stages' code keys)."""
    name = ".".join(("lsid",) + path.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")
    return imported_modules(path.read_text(encoding="utf-8"), name, path)


def test_no_function_longer_than_the_limit():
    too_long = []
    for path in _modules():
        rel = path.relative_to(PACKAGE).as_posix()
        if rel in LONG_FUNCTIONS_ALLOWED:
            continue
        for node in ast.walk(_tree(path)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    too_long.append(f"lsid/{rel}:{node.lineno} {node.name} ({n} lines)")
    assert not too_long, (f"functions longer than {MAX_FUNCTION_LINES} lines (split them by what they do):\n  "
                          + "\n  ".join(too_long))


@pytest.mark.parametrize("package", BELOW_PLOTS)
def test_lower_layers_do_not_import_plots(package):
    offending = []
    for path in _modules(PACKAGE / package):
        hits = sorted(n for n in _imported(path) if n == "lsid.plots" or n.startswith("lsid.plots."))
        if hits:
            offending.append(f"lsid/{path.relative_to(PACKAGE).as_posix()}: {', '.join(hits)}")
    assert not offending, "modules below lsid.plots import it:\n  " + "\n  ".join(offending)


def test_import_scan_sees_imports_inside_functions():
    """The check reads imports anywhere in a module (inside functions too) and resolves relative ones."""
    src = "def f():\n    from lsid.plots.style import VELOCITY_CMAP\n\nfrom ..plots import sbas\n"
    names = imported_modules(src, "lsid.tiles.render", PACKAGE / "tiles" / "render.py")
    assert "lsid.plots.style" in names and "lsid.plots" in names and "lsid.plots.sbas" in names
