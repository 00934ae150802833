"""Faults a real user meets: inputs replaced in place, products deleted or damaged, checkpoints cut by
a kill, a stage killed half-way, two runs on one folder. Each rerun must repair exactly what is needed,
and nothing stale or half-written may be used or published."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from lsid import provenance
from lsid.io import temporaries
from lsid.io.lock import RunFolderLocked, run_lock
from lsid.layout import RunLayout
from tests.helpers import AOI, ROOT


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


# ------------------------------------------------------------------------------ stamps and products
def test_a_stamp_notices_deleted_truncated_and_replaced_products(tmp_path):
    a, folder = tmp_path / "a.nc", tmp_path / "tiles"
    a.write_bytes(b"x" * 100)
    folder.mkdir()
    (folder / "t.png").write_bytes(b"png")
    s = tmp_path / "a.json"
    provenance.stamp(s, "k", products=[a, folder])
    assert provenance.fresh(s, "k")
    with open(a, "r+b") as f:  # truncated by a kill or a full disk
        f.truncate(50)
    assert not provenance.fresh(s, "k")
    provenance.stamp(s, "k", products=[a, folder])
    (folder / "t.png").unlink()  # a file of a folder product deleted
    assert not provenance.fresh(s, "k")
    provenance.stamp(s, "k", products=[a, folder])
    shutil.rmtree(folder)
    assert not provenance.fresh(s, "k")


def test_fingerprint_sees_a_file_replaced_in_place_with_the_same_size(tmp_path):
    f = tmp_path / "pair.tif"
    f.write_bytes(b"a" * 1000)
    before = provenance.file_fingerprint(f)
    st = f.stat()
    f.write_bytes(b"b" * 1000)
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size and time: only the contents changed
    assert provenance.file_fingerprint(f) != before
    assert provenance.file_fingerprint(tmp_path / "gone.tif") == ["gone.tif", "missing"]


def test_sbas_products_deleted_or_damaged_are_made_again_and_nothing_else(smoke_aoi, smoke_run, tmp_path):
    from lsid.sbas import stage

    run = tmp_path / "run"
    shutil.copytree(smoke_run, run, ignore=shutil.ignore_patterns("sbas", "tiles", "models"))
    lay = RunLayout(run)
    stage.run(smoke_aoi, lay)
    times = {o: lay.deformation(o).stat().st_mtime_ns for o in ("ascending", "descending")}
    lay.velocity("ascending").unlink()  # a deleted product
    stage.run(smoke_aoi, lay)
    assert lay.velocity("ascending").exists()
    assert lay.deformation("descending").stat().st_mtime_ns == times["descending"]  # untouched
    with open(lay.deformation("descending"), "r+b") as f:  # a damaged product
        f.truncate(1000)
    stage.run(smoke_aoi, lay)
    assert lay.deformation("descending").stat().st_size > 1000
    from lsid.io.netcdf import open_netcdf

    with open_netcdf(lay.deformation("descending"), chunks={}, what="Deformation") as d:
        assert "velocity" in d


# ------------------------------------------------------------------------------------- checkpoints
SMOKE = dict(model="faster_rcnn_vgg16", epochs=2, max_iters_per_epoch=2, batch_size=2, warmup_iters=2, patience=5,
             seed=3)


def test_a_lost_best_checkpoint_is_chosen_again_on_resume(smoke_tiles, tmp_path):
    """A kill while best.pt is written (or a deleted best.pt), then an epoch that does not improve:
    the resumed run must still end with a usable best.pt."""
    from lsid.training import TrainConfig, fit, load_checkpoint

    _, root = smoke_tiles
    out = tmp_path / "run"
    fit(root / "rendered", out, TrainConfig(**{**SMOKE, "epochs": 1}), progress=False)
    (out / "best.pt").unlink()
    (out / "train.json").unlink()
    with pytest.warns(UserWarning, match="best epoch is chosen again"):
        s = fit(root / "rendered", out, TrainConfig(**SMOKE), resume=True, progress=False)
    assert load_checkpoint(out / "best.pt")["state"]["best_epoch"] == s["best_epoch"] == 2


def test_resume_drops_history_rows_written_after_the_checkpoint(smoke_tiles, tmp_path):
    from lsid.training import TrainConfig, fit

    _, root = smoke_tiles
    out = tmp_path / "run"
    fit(root / "rendered", out, TrainConfig(**{**SMOKE, "epochs": 1}), progress=False)
    # a kill after epoch 2's rows were written, before its last.pt: rows of epoch 2 (iteration 3) on disk
    for name, extra in (("history.csv", "2,3,"), ("epochs.csv", "2,")):
        lines = (out / name).read_text().splitlines()
        last = lines[-1].split(",")
        fake = extra + ",".join(last[len(extra.split(",")) - 1:])
        (out / name).write_text("\n".join(lines + [fake]) + "\n")
    fit(root / "rendered", out, TrainConfig(**SMOKE), resume=True, progress=False)
    import pandas as pd

    assert list(pd.read_csv(out / "epochs.csv").epoch) == [1, 2]
    assert list(pd.read_csv(out / "history.csv").iteration) == [1, 2, 3, 4]


def test_a_damaged_checkpoint_of_a_finished_run_is_trained_again(smoke_aoi, smoke_tiles, tmp_path):
    from lsid.training import stage

    _, tiles = smoke_tiles
    lay = RunLayout(tmp_path / "run")
    shutil.copytree(tiles, lay.tiles_dir)
    run, _ = stage.find_run(smoke_aoi, "faster_rcnn_vgg16")
    first = stage.ensure_trained(smoke_aoi, lay, run, progress=False)
    ml = lay.model(run.key)
    assert stage.ensure_trained(smoke_aoi, lay, run, progress=False) == first  # intact: trusted
    with open(ml.best, "r+b") as f:
        f.truncate(100)
    with pytest.warns(UserWarning, match="trained again"):
        again = stage.ensure_trained(smoke_aoi, lay, run, progress=False)
    assert again["epochs"] == first["epochs"] and ml.best.stat().st_size > 100
    with open(ml.last, "r+b") as f:  # an interrupted run whose last.pt a kill cut short
        f.truncate(100)
    ml.summary.unlink()
    with pytest.warns(UserWarning, match="damaged"):
        stage.ensure_trained(smoke_aoi, lay, run, progress=False)
    assert ml.summary.exists() and provenance.products_intact(provenance.read_stamp(ml.stamp), ml.folder)


# ------------------------------------------------------------------------------------- temporaries
def test_sweep_removes_only_the_temporaries_of_dead_writers(tmp_path):
    dead = _dead_pid()
    (tmp_path / "sbas").mkdir()
    left = [tmp_path / "sbas" / f".ascending.nc.tmp-{dead}", tmp_path / f".inventory.tmp-{dead}",
            tmp_path / f".01_sbas.ipynb.tmp-{dead}.ipynb", tmp_path / f".objects_ada_ascending.gpkg.tmp-{dead}.gpkg"]
    for p in left:
        p.mkdir() if p.name.startswith(".inventory") else p.write_text("half")
    mine = tmp_path / f".best.pt.tmp-{os.getpid()}"
    mine.write_text("being written")
    kept = tmp_path / "velocity.tif"
    kept.write_text("a product")
    removed = temporaries.sweep(tmp_path)
    assert sorted(removed) == sorted(left) and mine.exists() and kept.exists()
    assert all(temporaries.is_temporary(p) for p in left) and not temporaries.is_temporary(kept)


def test_the_book_never_publishes_a_temporary_notebook(tmp_path):
    from lsid.pipeline import stage_book_sources

    nb = tmp_path / "notebooks"
    nb.mkdir()
    (nb / "01_sbas_inversion.ipynb").write_text("{}")
    (nb / f".02_dataset.ipynb.tmp-{_dead_pid()}.ipynb").write_text("{}")
    (nb / "03_training.failed.ipynb").write_text("{}")
    src = stage_book_sources(tmp_path, "t")
    assert sorted(p.name for p in (src / "book" / "_executed").iterdir()) == ["01_sbas_inversion.ipynb"]


KILLER = textwrap.dedent("""
    import os, signal, sys, importlib
    from lsid.config import load_aoi
    from lsid.layout import RunLayout
    module, run_dir, nth = sys.argv[1], sys.argv[2], int(sys.argv[3])
    calls = [0]
    def killing(real):
        def f(*a, **k):
            calls[0] += 1
            if calls[0] == nth:  # the n-th rename of a finished temporary: the process dies there
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*a, **k)
        return f
    os.replace, os.rename = killing(os.replace), killing(os.rename)
    importlib.import_module(module).run(load_aoi(sys.argv[4], "smoke"), RunLayout(run_dir))
""")


@pytest.mark.parametrize("module, needs", [("lsid.synth.stage", ()), ("lsid.sbas.stage", ("stacks", "truth", "synth")),
                                           ("lsid.tiles.stage", ("stacks", "truth", "synth", "sbas")),
                                           ("lsid.inventory.stage", ("stacks", "truth", "synth", "sbas"))])
def test_a_stage_killed_half_way_leaves_temporaries_that_the_rerun_sweeps_and_repairs(module, needs, smoke_aoi,
                                                                                      smoke_sbas, tmp_path):
    import importlib

    run = tmp_path / "run"
    run.mkdir()
    for sub in needs:
        shutil.copytree(smoke_sbas / sub, run / sub)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-c", KILLER, module, str(run), "1", str(AOI)], env=env, cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == -signal.SIGKILL, p.stderr[-2000:]
    left = [q for q in run.rglob(".*") if temporaries.is_temporary(q)]
    assert left, "the kill should have left a temporary behind"
    temporaries.sweep(run)
    assert not [q for q in run.rglob(".*") if temporaries.is_temporary(q)]
    summary = importlib.import_module(module).run(smoke_aoi, RunLayout(run))  # the rerun repairs
    assert summary
    assert importlib.import_module(module).load(RunLayout(run))


# ------------------------------------------------------------------------------------------ the lock
def test_a_second_run_on_the_same_folder_is_stopped_with_the_holders_pid(tmp_path):
    hold = textwrap.dedent(f"""
        import time, sys
        from lsid.io.lock import run_lock
        with run_lock({str(tmp_path)!r}, command="lsid run --aoi a.yaml"):
            print("held", flush=True)
            time.sleep(60)
    """)
    p = subprocess.Popen([sys.executable, "-c", hold], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                         stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "held"
        with pytest.raises(RunFolderLocked, match=rf"process {p.pid} \(lsid run --aoi a.yaml"):
            with run_lock(tmp_path):
                pass
    finally:
        p.kill()
        p.wait()
    t0 = time.perf_counter()
    with run_lock(tmp_path):  # a killed holder leaves no lock behind
        assert json.loads((tmp_path / ".lsid.lock.json").read_text())["pid"] == os.getpid()
    assert time.perf_counter() - t0 < 5


def test_a_run_folder_copied_elsewhere_stays_valid(smoke_aoi, smoke_sbas, tmp_path):
    from lsid.sbas import stage

    copy = tmp_path / "copy"
    shutil.copytree(smoke_sbas, copy, copy_function=shutil.copy)  # new modification times, same contents
    lay = RunLayout(copy)
    before = lay.deformation("ascending").stat().st_mtime_ns
    stage.run(smoke_aoi, lay)
    assert lay.deformation("ascending").stat().st_mtime_ns == before  # not inverted again


def test_the_lock_is_reentrant_within_one_process(tmp_path):
    with run_lock(tmp_path):
        with run_lock(tmp_path):  # lsid run -> a stage that locks too
            pass
        assert (tmp_path / ".lsid.lock.json").exists()  # still held by the outer block
    assert not (tmp_path / ".lsid.lock.json").exists()


def test_a_tracks_warnings_are_kept_and_shown_even_when_it_then_fails():
    import warnings

    from lsid.sbas.stage import _recorded

    kept = []
    with pytest.raises(ValueError), pytest.warns(UserWarning, match="looks like mm"):
        with _recorded(kept):
            for _ in range(3):  # a loop's warning: kept and shown once
                warnings.warn("phase looks like mm", UserWarning, stacklevel=1)
            raise ValueError("no reliable pixel")
    assert [str(w.message) for w in kept] == ["phase looks like mm"]


def test_input_paths_cover_what_the_readers_read(tmp_path):
    from lsid.config import OrbitInput
    from lsid.io.aoi import input_paths

    ts = tmp_path / "124D" / "TS_GEOCml10"
    (ts / "results").mkdir(parents=True)
    (tmp_path / "124D" / "GEOCml10").mkdir()
    for c in "ENU":
        (tmp_path / "124D" / "GEOCml10" / f"{c}.geo").write_bytes(b"0")
    (tmp_path / "124D" / "GEOCml10" / "20200101_20200113.unw").write_bytes(b"0")
    paths = input_paths(OrbitInput(format="licsbas", path=str(ts)))
    assert paths[0] == ts and sorted(p.name for p in paths[1:]) == ["E.geo", "N.geo", "U.geo"]
    vel = tmp_path / "mintpy" / "velocity.h5"
    vel.parent.mkdir()
    vel.write_bytes(b"0")
    assert input_paths(OrbitInput(format="mintpy_results", path=str(vel))) == [vel.parent]
    assert input_paths(OrbitInput(format="mintpy_results", path=str(vel.parent))) == [vel.parent]
