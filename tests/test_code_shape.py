"""The shape of lsid's code: no overlong function, and no lower layer importing the figures."""

import ast
from pathlib import Path

import pytest

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


def _imported(tree: ast.Module, path: Path) -> set[str]:
    """Every module an import statement anywhere in ``tree`` names (relative imports resolved)."""
    package = ".".join(("lsid",) + path.relative_to(PACKAGE).parent.parts)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)
    return names


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
        hits = sorted(n for n in _imported(_tree(path), path) if n == "lsid.plots" or n.startswith("lsid.plots."))
        if hits:
            offending.append(f"lsid/{path.relative_to(PACKAGE).as_posix()}: {', '.join(hits)}")
    assert not offending, "modules below lsid.plots import it:\n  " + "\n  ".join(offending)


def test_import_scan_sees_imports_inside_functions():
    """The check reads imports anywhere in a module (inside functions too) and resolves relative ones."""
    tree = ast.parse("def f():\n    from lsid.plots.style import VELOCITY_CMAP\n\nfrom ..plots import sbas\n")
    names = _imported(tree, PACKAGE / "tiles" / "render.py")
    assert "lsid.plots.style" in names and "lsid.plots" in names and "lsid.plots.sbas" in names
