"""lsid.provenance: cache keys from parameters and from the import closure of each stage's code."""

import shutil

import pytest

from lsid import provenance
from lsid.pipeline import STAGES

STAGE_MODULES = [s.module for s in STAGES if s.module]


def test_digest_is_order_free_and_sensitive():
    a = provenance.digest({"x": 1, "y": [1, 2]}, "z")
    assert a == provenance.digest({"y": [1, 2], "x": 1}, "z") and len(a) == 64
    assert a != provenance.digest({"x": 1, "y": [2, 1]}, "z")


def test_stamp_and_fresh(tmp_path):
    product = tmp_path / "out.nc"
    s = tmp_path / "stage.json"
    assert not provenance.fresh(s, "k")
    provenance.stamp(s, "k", seconds=1.5)
    assert provenance.read_stamp(s) == {"digest": "k", "seconds": 1.5}
    assert provenance.fresh(s, "k") and not provenance.fresh(s, "other")
    assert not provenance.fresh(s, "k", [product])  # a product missing: not fresh
    product.write_bytes(b"x")
    assert provenance.fresh(s, "k", [product])
    s.write_text("{trunc")  # a damaged stamp reads as none
    assert provenance.read_stamp(s) == {} and not provenance.fresh(s, "k")


def test_lazy_package_attributes_count_only_where_used():
    # lsid.io provides open_netcdf lazily (a module __getattr__): the training code, which imports only
    # lsid.io.atomic, does not depend on the NetCDF reader; a module that imports the name does
    fit = provenance.import_closure("lsid.training.fit")
    assert "lsid.io.atomic" in fit and "lsid.io.netcdf" not in fit and "lsid.config" not in fit
    uses = provenance.import_closure(source="from lsid.io import open_netcdf\n")
    assert "lsid.io.netcdf" in uses and "lsid.io.contracts" not in uses


def test_import_closure_follows_imports_inside_functions():
    sbas = provenance.import_closure("lsid.sbas.stage")
    assert {"lsid", "lsid.sbas", "lsid.sbas.invert", "lsid.sbas.kernels", "lsid.io.netcdf"} <= set(sbas)
    assert not set(provenance.PARAMETER_MODULES) & set(sbas)  # their effect enters through the parameters
    inv = provenance.import_closure("lsid.inventory.stage")
    assert "lsid.detect.scene" in inv and "lsid.training.checkpoints" in inv  # imported inside functions
    src = "from lsid.metrics import evaluate\nimport numpy\n"
    closure = provenance.import_closure(source=src)
    assert {"lsid", "lsid.metrics"} <= set(closure) and all(m.startswith("lsid") for m in closure)


@pytest.mark.parametrize("module", STAGE_MODULES)
def test_no_stage_reaches_the_plots(module):
    assert not [m for m in provenance.import_closure(module) if m.startswith("lsid.plots")]


@pytest.fixture
def package_copy(tmp_path, monkeypatch):
    """A copy of the lsid sources that the digests read (edits there touch nothing real)."""
    root = tmp_path / "lsid"
    shutil.copytree(provenance.PACKAGE_ROOT, root, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(provenance, "PACKAGE_ROOT", root)
    provenance._closure.cache_clear()
    yield root
    provenance._closure.cache_clear()


def _keys():
    provenance._closure.cache_clear()
    return {m: provenance.code_digest(m) for m in STAGE_MODULES + ["lsid.detect.scene"]}


def test_editing_a_plot_reruns_no_stage_and_editing_detect_reruns_detection(package_copy):
    before = _keys()
    with open(package_copy / "plots" / "style.py", "a") as f:
        f.write("\n# a colour-bar edit\n")
    assert _keys() == before
    with open(package_copy / "detect" / "scene.py", "a") as f:
        f.write("\n# a change to scene detection\n")
    after = _keys()
    changed = {m for m in before if before[m] != after[m]}
    assert changed == {"lsid.inventory.stage", "lsid.detect.scene"}


def test_editing_the_inversion_reruns_sbas_and_what_follows_it_only_through_its_key(package_copy):
    before = _keys()
    with open(package_copy / "sbas" / "invert.py", "a") as f:
        f.write("\n# a change to the inversion\n")
    after = _keys()
    changed = {m for m in before if before[m] != after[m]}
    # the tiles and later stages see the change through the SBAS digest they hash, not their own code
    assert "lsid.sbas.stage" in changed and "lsid.training.stage" not in changed


def test_editing_a_parameter_description_or_a_path_docstring_reruns_no_stage(package_copy):
    before = _keys()
    for f in ("config.py", "layout.py", "profiles.py"):
        with open(package_copy / f, "a") as fh:
            fh.write("\n# a reworded description\n")
    assert _keys() == before


def test_type_checking_imports_are_not_dependencies():
    src = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from lsid.plots.style import VELOCITY_CMAP\n"
    assert "lsid.plots.style" not in provenance.imported_modules(src)
