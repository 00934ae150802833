"""End to end: `lsid run` at the smoke profile executes the notebooks and builds the book."""

import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import geopandas as gpd
import pytest

from lsid.cli import main
from tests.helpers import AOI, REALDATA, ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")  # not "module": xdist runs other modules' tests between the group's
def smoke_book(tmp_path_factory):
    """(run folder, console output) of one smoke run of the whole study with its book, built once per
    worker (the tests that use it share an xdist group, so once in all)."""
    import contextlib
    import io

    root = tmp_path_factory.mktemp("smoke_book")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["run", "--aoi", str(AOI), "--profile", "smoke", "--run-root", str(root)]) == 0
    return root / "ahai-synthetic" / "smoke", out.getvalue()


@pytest.mark.xdist_group("smoke_book")
def test_smoke_run_builds_book(smoke_book, capsys):
    run_dir, console = smoke_book
    nb = json.loads((run_dir / "notebooks" / "00_study_area.ipynb").read_text())
    assert nb["metadata"]["papermill"]["parameters"]["profile"] == "smoke"
    errors = [o for c in nb["cells"] if c["cell_type"] == "code"
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    html = run_dir / "book" / "_build" / "html"
    page = (html / "book" / "_executed" / "00_study_area.html").read_text()
    images = re.findall(r'<img[^>]+src="([^"]+)"', page)
    assert len(images) >= 3
    for src in images:
        assert (html / "book" / "_executed" / src).resolve().is_file()
    assert "synthetic" in page.lower() and "Table 1" in page
    intro = (html / "book" / "intro.html").read_text()
    assert "_static/mathjax" in intro and "cdn." not in intro  # offline MathJax
    assert "[lsid] book:" in console
    # the SBAS stage: its notebook, its chapter and its products
    sbas_page = (html / "book" / "_executed" / "01_sbas_inversion.html").read_text()
    assert len(re.findall(r"<img", sbas_page)) >= 3 and "Fig. 8" in sbas_page
    for orbit in ("ascending", "descending"):
        for name in (f"{orbit}.nc", f"velocity_{orbit}.tif", f"network_{orbit}.csv", f"{orbit}.json"):
            assert (run_dir / "sbas" / name).is_file(), name
        summary = json.loads((run_dir / "sbas" / f"{orbit}.json").read_text())
        assert summary["valid_share"] > 0.2 and summary["network_components"] == 1
    # the dataset, training and evaluation stages: no failed cell, their pages, their products
    for nb_file in sorted((run_dir / "notebooks").glob("0[234567]_*.ipynb")):
        nb = json.loads(nb_file.read_text())
        errs = [o for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert not errs, nb_file.name
    pages = {p.name for p in (html / "book" / "_executed").glob("*.html")}
    assert {"02_dataset.html", "04_evaluation.html", "03_training_crf_faster_rcnn_rendered_spatial.html",
            "03_training_faster_rcnn_vgg16_rendered_spatial.html"} <= pages
    assert len(re.findall(r"<img", (html / "book" / "_executed" / "02_dataset.html").read_text())) >= 3
    crf_page = (html / "book" / "_executed" / "03_training_crf_faster_rcnn_rendered_spatial.html").read_text()
    assert "Training: crf_faster_rcnn (rendered tiles, spatial split)" in crf_page  # its own title
    assert (run_dir / "tiles" / "rendered" / "tileset.json").is_file()
    for key in ("faster_rcnn_vgg16_rendered_spatial", "crf_faster_rcnn_rendered_spatial",
                "crf_faster_rcnn_rendered_random"):
        m = json.loads((run_dir / "models" / key / "metrics.json").read_text())["metrics"]
        assert m["tp"] + m["fn"] == m["ground_truth_boxes"]
        # AP is undefined (NaN) only for a test split without a visible landslide (the tiny smoke area's
        # test tiles may hold none under the visibility rule: its slides are ignore regions there)
        assert 0 <= m["voc_ap50"] <= 1 if m["ground_truth_boxes"] else math.isnan(m["voc_ap50"])
    ev = (html / "book" / "_executed" / "04_evaluation.html").read_text()
    assert "0.888" in ev and "Table 2" in ev
    # the inventory and case-study stages: scene boxes of both models, both inventories in every format
    assert {"03_detectors.html", "05_detection_inventory.html", "06_case_study.html", "07_reproduction.html"} <= pages
    inv_page = (html / "book" / "_executed" / "05_detection_inventory.html").read_text()
    assert len(re.findall(r"<img", inv_page)) >= 2 and "ADA baseline" in inv_page and "Fig. 13" in inv_page
    for model in ("faster_rcnn_vgg16", "crf_faster_rcnn"):
        for orbit in ("ascending", "descending"):
            assert (run_dir / "detections" / f"{model}_{orbit}.gpkg").is_file()
    for stem in ("inventory", "ada_inventory"):
        for fmt in ("geojson", "gpkg", "kml", "csv"):
            assert (run_dir / "inventory" / f"{stem}.{fmt}").is_file(), (stem, fmt)
    inv_summary = json.loads((run_dir / "inventory" / "summary.json").read_text())
    assert inv_summary["ada"]["validation"]["n_reference"] > 0
    _rerun_skips_unchanged_stages(run_dir, capsys)


def _rerun_skips_unchanged_stages(run_dir, capsys):
    """A second `lsid run` of the same smoke study skips every notebook; --force re-executes one.
    (Part of test_smoke_run_builds_book: a test of its own was scheduled on another xdist worker,
    which built the smoke book a second time, 2.5 min.)"""
    root = str(run_dir.parents[1])
    assert main(["run", "--aoi", str(AOI), "--profile", "smoke", "--run-root", root, "--no-book"]) == 0
    out = capsys.readouterr().out
    assert out.count("skipped") >= 10 and "executing" not in out  # every notebook: same inputs, parameters, code
    assert main(["run", "--aoi", str(AOI), "--profile", "smoke", "--run-root", root, "--no-book",
                 "--only", "report", "--force"]) == 0
    assert "report: executing notebooks/07_reproduction.py" in capsys.readouterr().out


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
#: hosts Chromium itself calls (updates, time, spelling), not the page
BROWSER_HOSTS = ("google.com", "googleapis.com", "gvt1.com", "gstatic.com")


def render_offline(page: Path, out: Path) -> tuple[str, list[str]]:
    """(DOM after the scripts ran, http(s) URLs the page asked for) of one page opened in headless
    Chromium with every host name unresolvable (no network)."""
    netlog = out / f"{page.stem}.netlog.json"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--no-first-run", "--host-resolver-rules=MAP * ~NOTFOUND",
           f"--log-net-log={netlog}", "--virtual-time-budget=10000", "--dump-dom", page.as_uri()]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    log = json.loads(netlog.read_text()) if netlog.exists() else {"events": []}
    urls = {e["params"]["url"] for e in log["events"] if "url" in e.get("params", {})}
    asked = sorted(u for u in urls if u.startswith("http") and not any(h in u for h in BROWSER_HOSTS))
    return dom, asked


def local_references(page: Path) -> list[Path]:
    """Local files a page's img/script/link tags point at (parsed as HTML: the text of inlined scripts
    is not mistaken for tags)."""
    from html.parser import HTMLParser

    refs = []

    class Refs(HTMLParser):
        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            ref = a.get("src") if tag in ("img", "script") else a.get("href") if tag == "link" else None
            if ref and not ref.startswith(("http:", "https:", "data:", "//", "#")):
                refs.append(ref.split("#")[0].split("?")[0])

    Refs().feed(page.read_text())
    return [(page.parent / r).resolve() for r in refs if r]


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium absent (apt-get install chromium)")
@pytest.mark.xdist_group("smoke_book")
def test_book_renders_offline_in_chromium(smoke_book, tmp_path):
    """Every page of the smoke book: its files exist, it asks for nothing on the network, math is typeset
    by the bundled MathJax, images are in place, and the interactive (Bokeh) figures render."""
    run_dir, _ = smoke_book
    html = run_dir / "book" / "_build" / "html"
    pages = [html / "book" / "intro.html"] + sorted(p for p in (html / "book" / "_executed").glob("0*.html")
                                                    if not p.name.startswith("03_training"))
    for page in pages:
        missing = [str(p) for p in local_references(page) if not p.exists()]
        assert not missing, (page.name, missing)
        dom, asked = render_offline(page, tmp_path)
        assert not asked, (page.name, asked)
        assert dom.count("<img") >= page.read_text().count("<img"), f"{page.name}: images missing after rendering"
        if page.name in ("00_study_area.html", "05_detection_inventory.html", "03_detectors.html"):
            assert "<img" in dom, f"{page.name}: no figure"
        if "$$" in page.read_text() or "\\(" in page.read_text():
            assert "mjx-container" in dom, f"{page.name}: math not typeset"
    dom, _ = render_offline(html / "book" / "_executed" / "05_detection_inventory.html", tmp_path)
    assert "bk-Row" in dom or "bk-Column" in dom or 'class="bk' in dom, "interactive figures did not render"
    assert "mjx-container" in render_offline(html / "book" / "intro.html", tmp_path)[0]


def test_bad_aoi_fails_before_running(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(AOI.read_text().replace("min_slope_deg: 15", "min_slope_deg: -1"))
    assert main(["run", "--aoi", str(bad), "--profile", "smoke", "--run-root", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "synth.landslides.min_slope_deg" in err and "greater than or equal to 0" in err
    assert not (tmp_path / "runs").exists()


def test_unknown_profile_and_stage(tmp_path, capsys):
    assert main(["run", "--aoi", str(AOI), "--profile", "huge", "--run-root", str(tmp_path)]) == 2
    assert "unknown profile 'huge'" in capsys.readouterr().err
    assert main(["run", "--aoi", str(AOI), "--profile", "smoke", "--only", "nope", "--run-root", str(tmp_path)]) == 2
    assert "unknown stage 'nope'" in capsys.readouterr().err


def test_check_prints_parameters(capsys):
    assert main(["check", "--aoi", str(AOI), "--profile", "paper"]) == 0
    out = capsys.readouterr().out
    assert "3565" in out and "name: ahai-synthetic" in out


def test_notebooks_have_parameters_cell():
    import jupytext

    from lsid.pipeline import STAGES

    for s in STAGES:
        nb = jupytext.read(ROOT / s.notebook)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, s.notebook


@pytest.mark.realdata
@pytest.mark.skipif(not (REALDATA / "pyrate_cropA" / "geotiffs").is_dir(), reason="../shared/realdata absent")
def test_run_on_a_users_own_interferograms(tmp_path):
    """A non-synthetic AOI pointing at real GAMMA GeoTIFFs (one track) runs through both stages."""
    aoi = tmp_path / "mexico.yaml"
    aoi.write_text(
        "name: mexico-city\ntitle: Mexico City (PyRate cropA)\nsynthetic: false\n"
        f"inputs:\n  ascending: {{format: geotiff, path: {REALDATA / 'pyrate_cropA' / 'geotiffs'}}}\n"
        "sbas: {weight: var, min_mean_coherence: null}\n"
    )
    assert main(["run", "--aoi", str(aoi), "--profile", "smoke", "--run-root", str(tmp_path / "runs")]) == 0
    run_dir = tmp_path / "runs" / "mexico-city" / "smoke"
    summary = json.loads((run_dir / "sbas" / "ascending.json").read_text())
    assert summary["pairs_kept"] == 30 and summary["valid_share"] > 0.9
    assert summary["velocity_p1_mm_yr"] < -150  # subsidence
    assert not (run_dir / "sbas" / "descending.json").exists()
    page = (run_dir / "book" / "_build" / "html" / "book" / "_executed" / "00_study_area.html").read_text()
    assert "not synthetic" in page


@pytest.mark.realdata
@pytest.mark.skipif(not (REALDATA / "licsbas_campi_flegrei" / "TS_GEOCml1clip").is_dir(),
                    reason="../shared/realdata absent")
def test_run_on_licsbas_results(tmp_path):
    """A real area given as LiCSBAS results (Campi Flegrei, one descending track, no landslide inventory)
    runs end to end: the map goes onto UTM 33N, no detector is trained, the ADA baseline finds the
    Pozzuoli uplift at its place, and the checks reject it: gentle ground that the descending orbit
    could not see slide (a volcanic uplift, not a landslide)."""
    aoi = tmp_path / "campi.yaml"
    aoi.write_text(
        "name: campi-flegrei\ntitle: Campi Flegrei (LiCSBAS)\nsynthetic: false\n"
        f"inputs:\n  descending: {{format: licsbas, path: {REALDATA / 'licsbas_campi_flegrei' / 'TS_GEOCml1clip'}}}\n"
    )
    assert main(["run", "--aoi", str(aoi), "--profile", "smoke", "--run-root", str(tmp_path / "runs")]) == 0
    run_dir = tmp_path / "runs" / "campi-flegrei" / "smoke"
    summary = json.loads((run_dir / "sbas" / "descending.json").read_text())
    assert summary["crs"] == "EPSG:32633" and summary["pairs_total"] == 0 and 60 < summary["velocity_max_mm_yr"] < 80
    objects = gpd.read_file(run_dir / "inventory" / "objects_ada_descending.gpkg")
    assert objects.crs.to_epsg() == 32633 and len(objects), "ADA found nothing on the Campi Flegrei map"
    centres = objects.centroid.to_crs(4326)
    near = objects[(abs(centres.y - 40.82) < 0.02) & (abs(centres.x - 14.14) < 0.02)]
    assert len(near) == 1 and near.v_mean.iloc[0] > 10  # uplift: towards the satellite
    assert "slope" in near.rejected_by.iloc[0] and near.slope_deg.iloc[0] < 10  # measured on the real DEM
    inv = gpd.read_file(run_dir / "inventory" / "ada_inventory.geojson")
    assert inv.crs.to_epsg() == 4326 and len(inv) == int(objects.passes.astype(bool).sum())
    assert not list((run_dir / "models").glob("*/best.pt"))
    page = (run_dir / "book" / "_build" / "html" / "book" / "_executed" / "01_sbas_inversion.html").read_text()
    assert "came inverted already" in page


@pytest.mark.slow
def test_second_area_reruns_with_its_own_parameters(tmp_path):
    """The second example AOI (another seed, density and checks) runs end to end and builds its book."""
    second = ROOT / "data" / "aoi" / "jinsha-gorge-synthetic.yaml"
    assert main(["run", "--aoi", str(second), "--profile", "smoke", "--run-root", str(tmp_path)]) == 0
    run_dir = tmp_path / "jinsha-gorge-synthetic" / "smoke"
    assert (run_dir / "book" / "_build" / "html" / "book" / "_executed" / "05_detection_inventory.html").is_file()
    truth = json.loads((run_dir / "truth" / "landslides.geojson").read_text())
    assert len([f for f in truth["features"] if f["properties"]["kind"] != "reactivated"]) == 12
    assert not list((run_dir / "models").glob("faster_rcnn_r50_*"))  # no ablations in this file's smoke profile
    summary = json.loads((run_dir / "inventory" / "summary.json").read_text())
    assert summary["ada"]["reference"].startswith("synthetic truth")
