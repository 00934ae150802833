"""NetCDF round trips, atomic writes, unwritable folders and killed runs."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import dask.array as da
import numpy as np
import pytest
import rioxarray  # noqa: F401  (registers .rio)
import xarray as xr

from lsid.errors import InputDataError, OutputError
from lsid.io import atomic_path, check_stack, ensure_writable_dir, open_netcdf, open_stack, write_netcdf
from tests.helpers import ROOT


def _dataset(n=4, fail_at=None):
    def block(k):
        if k == fail_at:
            raise RuntimeError("simulated crash while writing")
        return np.full((1, 16, 12), k, dtype=np.float32)

    blocks = [da.from_delayed(__import__("dask").delayed(block)(k), (1, 16, 12), np.float32) for k in range(n)]
    ds = xr.Dataset(
        {"v": (("pair", "y", "x"), da.concatenate(blocks), {"units": "rad"}),
         "dem": (("y", "x"), np.ones((16, 12), np.float32), {"units": "m"})},
        coords={"y": np.arange(16.0)[::-1] * 10, "x": np.arange(12.0) * 10,
                "reference_date": ("pair", np.arange(n).astype("datetime64[D]"))},
    )
    return ds.rio.write_crs("EPSG:32647")


def test_roundtrip_keeps_crs_dates_and_values(tmp_path):
    ds = _dataset()
    write_netcdf(ds, tmp_path / "a.nc")
    back = open_netcdf(tmp_path / "a.nc", chunks=None)
    assert back.rio.crs.to_epsg() == 32647
    assert np.array_equal(back.v.values, ds.v.values)
    assert np.array_equal(back.reference_date.values.astype("datetime64[D]"), ds.reference_date.values)
    assert back.v.attrs["units"] == "rad"


def test_failed_write_leaves_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "a.nc"
    write_netcdf(_dataset(), target)
    before = target.read_bytes()
    with pytest.raises(RuntimeError, match="simulated crash"):
        write_netcdf(_dataset(fail_at=2), target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.nc"]


def test_failed_first_write_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        write_netcdf(_dataset(fail_at=1), tmp_path / "b.nc")
    assert list(tmp_path.iterdir()) == []


def test_unwritable_folder_is_a_clear_error(tmp_path):
    # Root may write anywhere a normal user cannot, so also use a place nobody can write: /proc.
    targets = [("/proc/lsid-cannot-write-here", None)]
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        targets.append((locked / "out", locked))
    for folder, _ in targets:
        with pytest.raises(OutputError, match="cannot write in output folder.*Choose a folder"):
            ensure_writable_dir(folder)
        with pytest.raises(OutputError):
            write_netcdf(_dataset(), os.path.join(folder, "x.nc"))


def test_output_folder_that_is_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(OutputError, match=str(f)):
        ensure_writable_dir(f / "sub")


def test_atomic_path_cleans_stale_temporaries(tmp_path):
    target = tmp_path / "t.txt"
    stale = tmp_path / ".t.txt.tmp-999999999"  # a pid that does not run
    stale.write_text("half")
    with atomic_path(target) as tmp:
        tmp.write_text("whole")
    assert target.read_text() == "whole" and not stale.exists()


def test_corrupt_netcdf_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.nc"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + os.urandom(256))
    with pytest.raises(InputDataError, match="cannot be read as NetCDF.*delete it and rerun"):
        open_netcdf(bad)
    with pytest.raises(InputDataError, match="not found"):
        open_netcdf(tmp_path / "missing.nc")


def test_stack_contract_violations_are_listed(smoke_run):
    ds = open_stack(smoke_run / "stacks" / "ascending.nc")
    broken = (ds.drop_vars("unwrapped_phase").drop_attrs() if hasattr(ds, "drop_attrs")
              else ds.drop_vars("unwrapped_phase"))
    broken.attrs = {}
    with pytest.raises(InputDataError) as e:
        check_stack(broken, "x.nc")
    msg = str(e.value)
    assert "x.nc" in msg and "unwrapped_phase" in msg and "wavelength" in msg


def test_killed_generation_leaves_no_half_written_netcdf(tmp_path):
    """Kill a generation while it writes a Stack (SIGKILL: no clean-up code runs), then rerun."""
    run_dir = tmp_path / "run"
    script = textwrap.dedent(f"""
        from lsid.config import load_aoi
        from lsid.synth import generate
        aoi = load_aoi({str(ROOT / 'data/aoi/ahai-synthetic.yaml')!r}, "smoke", overrides={{"synth": {{
            "grid": {{"shape": [384, 320]}},
            "acquisitions": {{"ascending": {{"n_dates": 40, "repeat_days": 12}},
                              "descending": {{"n_dates": 40, "repeat_days": 12}}}}}}}})
        generate(aoi, {str(run_dir)!r}, progress=False, n_threads=1)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    stacks = run_dir / "stacks"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if stacks.is_dir() and any(p.name.startswith(".ascending.nc.tmp-") for p in stacks.iterdir()):
            break
        time.sleep(0.005)
    assert proc.poll() is None, "generation finished before it could be killed; make it larger"
    time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (stacks / "ascending.nc").exists()
    assert not (run_dir / "synth" / "manifest.json").exists()
    assert any(p.name.startswith(".ascending.nc.tmp-") for p in stacks.iterdir())
    # rerun: completes, removes the dead run's temporary file, writes readable stacks
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True)
    assert sorted(p.name for p in stacks.iterdir()) == ["ascending.nc", "descending.nc"]
    last = open_stack(stacks / "ascending.nc").unwrapped_phase.isel(pair=-1).values
    assert np.isfinite(last).mean() > 0.1
    assert (run_dir / "synth" / "manifest.json").exists()
