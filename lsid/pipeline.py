"""Run the study: each stage's computation (``lsid.<layer>.stage.run``), then its notebook with
papermill (from the jupytext source; the notebook reads the stage's outputs, narrates and draws), then
the Jupyter Book of the run.

Each run goes to ``<run_root>/<aoi name>/<profile>/`` (:class:`lsid.layout.RunLayout`): the stages'
products, ``notebooks/`` (the executed notebooks) and ``book/_build/html`` (the rendered book). The book
is built from a staged copy of the book sources (``book_src/``), so runs of different areas never
overwrite one another. The stage table (:data:`STAGES`) is documented in docs/design.md.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from lsid.config import load_aoi
from lsid.errors import ConfigError, LsidError
from lsid.io.aoi import input_files
from lsid.io.atomic import atomic_path, ensure_writable_dir, write_text
from lsid.io.lock import run_lock
from lsid.io.temporaries import is_temporary
from lsid.io.temporaries import sweep as sweep_temporaries
from lsid.layout import RunLayout
from lsid.provenance import code_digest, digest, files_fingerprint, read_stamp

log = logging.getLogger(__name__)

#: Project root (holds _config.yml, _toc.yml, book/, notebooks/).
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Stage:
    """One step of the study: the stage module whose ``run(cfg, layout, *, force, progress)`` makes its
    products (None: the notebook only draws what earlier stages made), and the notebook that narrates
    them. ``per_run``: the notebook is executed once per detector run of the AOI's ``training``
    section (parameters model, channels, split), as ``<notebook>_<run key>.ipynb``."""

    name: str
    notebook: str  # jupytext source, relative to the project root
    module: str | None = None  # lsid.<layer>.stage
    per_run: bool = False
    title: str | None = None  # per-run page title, formatted with the run's parameters

    def run(self, cfg, layout: RunLayout, force: bool = False, progress: bool = False):
        """The stage module's ``run`` (None when the stage has no module)."""
        if self.module is None:
            return None
        return importlib.import_module(self.module).run(cfg, layout, force=force, progress=progress)


#: Stages that read the AOI's input files (the others read only the run folder): ``lsid run`` checks
#: that those files exist when one of them is asked for.
READS_INPUTS = ("study_area", "sbas", "dataset", "inventory")

#: The study's stages, in order (the stage table of docs/design.md). Later issues append to it.
STAGES: tuple[Stage, ...] = (
    Stage("study_area", "notebooks/00_study_area.py", "lsid.synth.stage"),
    Stage("sbas", "notebooks/01_sbas_inversion.py", "lsid.sbas.stage"),
    Stage("dataset", "notebooks/02_dataset.py", "lsid.tiles.stage"),
    Stage("methods", "notebooks/03_detectors.py"),
    Stage("training", "notebooks/03_training.py", "lsid.training.stage", per_run=True,
          title="Training: {model} ({channels} tiles, {split} split)"),
    Stage("evaluation", "notebooks/04_evaluation.py"),
    Stage("inventory", "notebooks/05_detection_inventory.py", "lsid.inventory.stage"),
    Stage("case_study", "notebooks/06_case_study.py"),
    Stage("report", "notebooks/07_reproduction.py", "lsid.report.stage"),
)


class NotebookError(LsidError, RuntimeError):
    """A notebook failed while executing."""


def _select(only: list[str] | None, start: str | None) -> list[Stage]:
    names = [s.name for s in STAGES]
    for n in (only or []) + ([start] if start else []):
        if n not in names:
            raise ConfigError(f"unknown stage {n!r}: choose from {', '.join(names)}")
    stages = list(STAGES)
    if start:
        stages = stages[names.index(start):]
    if only:
        stages = [s for s in stages if s.name in only]
    return stages


@contextlib.contextmanager
def _kernel_environment():
    """Environment of the kernel papermill starts (it inherits ours): this Python first on PATH (the
    one with lsid installed, whatever PATH says) and inline figures (a headless MPLBACKEND=Agg would
    leave the book without figures). Restored afterwards."""
    saved = {k: os.environ.get(k) for k in ("PATH", "MPLBACKEND")}
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


#: Longest path of a Unix socket (sun_path: 108 bytes on Linux, 104 on macOS, less the terminator).
MAX_SOCKET_PATH = 100


def _kernel_transport(socket_dir: Path) -> dict:
    """papermill (nbclient) options for the kernel's channels: Unix sockets in ``socket_dir`` (private,
    removed afterwards) instead of TCP ports on localhost, so that ipykernel (>= 7) does not print
    "Kernel is running over TCP without encryption" for every notebook and no port is opened. Windows
    has no ipc transport, and a very long temporary folder (an HPC $TMPDIR) no room for a socket path:
    TCP stays there, with the kernel application's own log raised to errors."""
    if os.name == "nt" or len(str(socket_dir / "kernel-ipc-5")) > MAX_SOCKET_PATH:
        return {"extra_arguments": ["--IPKernelApp.log_level=ERROR"]}
    from traitlets.config import Config

    return {"config": Config({"KernelManager": {"transport": "ipc", "ip": str(socket_dir / "kernel")}})}


def execute_notebook(stage: Stage, parameters: dict, out_dir: Path, kernel_name: str = "python3",
                     name: str | None = None) -> Path:
    """Execute one stage's jupytext notebook with papermill; returns the executed ``.ipynb``.

    The executed notebook is written atomically; on failure it is kept beside, as
    ``<name>.failed.ipynb``, to show the failing cell, and :class:`NotebookError` is raised.
    """
    import jupytext
    import papermill

    src = ROOT / stage.notebook
    nb = jupytext.read(src)
    if stage.title and name:  # one page per run: its own title (the book's navigation shows it)
        title = stage.title.format(**parameters)
        for cell in nb.cells:
            if cell.cell_type == "markdown" and cell.source.startswith("# "):
                cell.source = ("# " + title + cell.source[cell.source.index("\n"):] if "\n" in cell.source
                               else "# " + title)
                break
    name = name or src.stem
    lay = RunLayout(out_dir.parent)
    target, failed = lay.notebook(name), lay.failed_notebook(name)
    failed.unlink(missing_ok=True)
    with (_kernel_environment(), atomic_path(target) as tmp,
          tempfile.TemporaryDirectory(prefix="lsid-kernel-") as sockets):
        tmp_ipynb = tmp.with_name(tmp.name + ".ipynb")
        try:
            papermill.execute_notebook(
                nb, str(tmp_ipynb), parameters=parameters, kernel_name=kernel_name, language="python",
                cwd=str(ROOT), progress_bar=False, **_kernel_transport(Path(sockets)),
            )
        except papermill.PapermillExecutionError as exc:
            if tmp_ipynb.exists():
                shutil.move(tmp_ipynb, failed)
            raise NotebookError(
                f"notebook {stage.notebook} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}\n"
                f"The executed notebook with the error is {failed}."
            ) from None
        finally:
            if tmp_ipynb.exists():
                tmp_ipynb.replace(tmp)
    return target


def stage_digest(previous: str, stage: Stage, parameters: dict) -> str:
    """Content hash of one notebook execution: the digest of the stages before it (their inputs and
    outputs), the notebook's text, its parameters and the code it imports (its lsid import closure)."""
    text = (ROOT / stage.notebook).read_text()
    return digest({"previous": previous, "notebook": text, "parameters": parameters,
                   "code": code_digest(*([stage.module] if stage.module else []), source=text)})


def stage_book_sources(run_dir: Path, title: str) -> Path:
    """Copy the book sources (config, table of contents, chapters) and this run's executed
    notebooks into the run's ``book_src/``; returns that folder."""
    lay = RunLayout(run_dir)
    src = lay.book_src
    if src.exists():
        shutil.rmtree(src)
    (src / "book" / "_executed").mkdir(parents=True)
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["title"] = title
    (src / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    shutil.copy2(ROOT / "_toc.yml", src / "_toc.yml")
    for f in (ROOT / "book").iterdir():
        if f.name.startswith("_") or f.name.startswith("."):
            continue
        (shutil.copytree if f.is_dir() else shutil.copy2)(f, src / "book" / f.name)
    for nb in sorted(lay.notebooks_dir.glob("*.ipynb")):
        if not nb.name.endswith(".failed.ipynb") and not nb.name.startswith(".") and not is_temporary(nb):
            shutil.copy2(nb, src / "book" / "_executed" / nb.name)
    return src


def build_book(src: Path, out: Path) -> Path:
    """Build the HTML book from ``src`` into ``out``; returns the folder of ``index.html``."""
    exe = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(src), "--path-output", str(out)]
    log.info("building the book: %s", " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True)
    html = out / "_build" / "html"
    if proc.returncode != 0 or not (html / "index.html").exists():
        raise LsidError(f"jupyter-book build failed (exit {proc.returncode}):\n"
                        f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return html


def run(aoi: str | Path, profile: str = "cpu", run_root: str | Path = "runs", only: list[str] | None = None,
        start: str | None = None, book: bool = True, kernel_name: str = "python3", force: bool = False,
        wait: bool = False) -> Path:
    """Run the study for an area of interest at a profile; returns the run folder.

    Parameters
    ----------
    aoi : area-of-interest YAML file.
    profile : ``smoke``, ``cpu`` or ``paper``.
    run_root : parent of the run folders.
    only : run only these stages (names in :data:`STAGES`).
    start : run from this stage on.
    book : build the HTML book afterwards.
    force : execute the notebooks even when their content hash (:func:`stage_digest`: the stages before,
        the notebook, its parameters, its code and the AOI's input files) is unchanged; otherwise such a
        notebook is skipped (its executed notebook is kept). The stages' products are remade only when
        their own cache key changes (``lsid synth --force`` regenerates a synthetic area).
    wait : when another ``lsid run`` holds the run folder's lock (:mod:`lsid.io.lock`), wait for it
        instead of stopping with a message that names it.

    At the start of every stage the run folder is swept of the temporaries of killed runs
    (:mod:`lsid.io.temporaries`).
    """
    aoi = Path(aoi).resolve()
    stages = _select(only, start)
    reads_inputs = {s.name for s in stages} & set(READS_INPUTS)
    cfg = load_aoi(aoi, profile, check_paths=bool(reads_inputs))  # fail on bad parameters before doing anything
    layout = RunLayout.of(cfg, Path(run_root).resolve())
    ensure_writable_dir(layout.notebooks_dir)
    params = {"aoi": str(aoi), "profile": profile, "run_root": str(layout.root.parent.parent)}
    with run_lock(layout.root, wait=wait):
        _run_stages(cfg, layout, stages, params, kernel_name, force)
        if book:
            _book(cfg, layout, profile)
    return layout.root


def _run_stages(cfg, layout: RunLayout, stages: list[Stage], params: dict, kernel_name: str, force: bool) -> None:
    """Every stage in order: the stage's computation and its notebook(s) when asked for; the digests of
    those not asked for carry on the chain."""
    chain = json.dumps([cfg.digest(), files_fingerprint(input_files(cfg))], default=str)
    position = {s.name: n for n, s in enumerate(stages, 1)}  # the stages asked for, numbered for the console
    for stage in STAGES:  # every stage: later ones depend on what the earlier ones last made
        k = position.get(stage.name)
        t0 = time.perf_counter()
        if k is not None:
            sweep_temporaries(layout.root)  # what a killed run left
        if k is not None and stage.module:
            print(f"[lsid] {k}/{len(stages)} {stage.name}: {stage.module}.run ...", flush=True)
            summary = stage.run(cfg, layout, progress=True)  # progress bars on the console; reused when unchanged
            if stage.name in ("dataset", "training") and not summary and not cfg.labelled:
                what = "built" if stage.name == "dataset" else "trained"
                print(f"[lsid] {k}/{len(stages)} {stage.name}: skipped, nothing {what}: "
                      f"area {cfg.name} has no landslide labels (synthetic: false and no tiles.inventory). Set "
                      f"tiles.inventory in {params['aoi']} to a GeoJSON / Shapefile / GeoPackage of landslide polygons "
                      f"to build a TileSet and train; without labels the inventory stage uses the ADA baseline only",
                      flush=True)
        chain = _run_notebooks(stage, cfg, layout, params, chain, k, len(stages), kernel_name, force)
        if k is not None:
            print(f"[lsid] {k}/{len(stages)} {stage.name}: done in {time.perf_counter() - t0:.0f} s", flush=True)


def _book(cfg, layout: RunLayout, profile: str) -> None:
    """Build the run's HTML book from its executed notebooks."""
    t0 = time.perf_counter()
    print("[lsid] building the book ...", flush=True)
    title = f"lsid — {cfg.title or cfg.name} ({profile} profile)"
    html = build_book(stage_book_sources(layout.root, title), layout.book_dir)
    print(f"[lsid] book: {html / 'index.html'} ({time.perf_counter() - t0:.0f} s)", flush=True)


def _variants(stage: Stage, cfg) -> list[tuple[str | None, dict]]:
    """(notebook name, extra parameters) of each execution of a stage's notebook."""
    if not stage.per_run:
        return [(None, {})]
    runs = list(cfg.training.runs) + list(cfg.training.ablations)
    return [(f"{Path(stage.notebook).stem}_{r.key}", {"model": r.model, "channels": r.channels, "split": r.split})
            for r in runs]


def _run_notebooks(stage: Stage, cfg, layout: RunLayout, params: dict, chain: str, k: int | None, n: int,
                   kernel_name: str, force: bool) -> str:
    """Execute a stage's notebook(s) unless unchanged (a stage not asked for keeps its last execution);
    returns the chain digest for the stages after it."""
    keys = []
    for name, extra in _variants(stage, cfg):
        stem = name or Path(stage.notebook).stem
        stamp_path = layout.notebook_stamp(stem)
        last = read_stamp(stamp_path).get("digest", "")
        if k is None:  # not asked for: its last execution stands
            keys.append(last)
            continue
        key = stage_digest(chain, stage, {**params, **extra})
        keys.append(key)
        what = f"{stage.notebook}" + (f" ({name})" if name else "")
        if last == key and not force and layout.notebook(stem).exists():
            print(f"[lsid] {k}/{n} {stage.name}: {what} unchanged (same inputs, parameters and code), skipped",
                  flush=True)
            continue
        print(f"[lsid] {k}/{n} {stage.name}: executing {what} ...", flush=True)
        stamp_path.unlink(missing_ok=True)
        execute_notebook(stage, {**params, **extra}, layout.notebooks_dir, kernel_name=kernel_name, name=name)
        write_text(stamp_path, json.dumps({"digest": key, "stage": stage.name}))
    return json.dumps(keys)
