"""Run the study: execute the notebooks with papermill (from their jupytext sources), then build the
Jupyter Book of the run.

Each run goes to ``<run_root>/<aoi name>/<profile>/``: ``notebooks/`` (the executed notebooks),
``book/_build/html`` (the rendered book) and the data products the notebooks write. The book is built
from a staged copy of the book sources (``book_src/``), so runs of different areas never overwrite one
another.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from lsid.config import load_aoi
from lsid.errors import ConfigError, LsidError
from lsid.io.atomic import atomic_path, ensure_writable_dir, write_text
from lsid.provenance import source_digest

log = logging.getLogger(__name__)

#: Project root (holds _config.yml, _toc.yml, book/, notebooks/).
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Stage:
    """One notebook of the study; ``per_run``: executed once per detector run of the AOI's
    ``training`` section (parameters model, channels, split), as ``<notebook>_<run key>.ipynb``."""

    name: str
    notebook: str  # jupytext source, relative to the project root
    per_run: bool = False
    title: str | None = None  # per-run page title, formatted with the run's parameters


#: The study's stages, in order. Later issues append to this list.
STAGES: tuple[Stage, ...] = (
    Stage("study_area", "notebooks/00_study_area.py"),
    Stage("sbas", "notebooks/01_sbas_inversion.py"),
    Stage("dataset", "notebooks/02_dataset.py"),
    Stage("methods", "notebooks/03_detectors.py"),
    Stage("training", "notebooks/03_training.py", per_run=True,
          title="Training: {model} ({channels} tiles, {split} split)"),
    Stage("evaluation", "notebooks/04_evaluation.py"),
    Stage("inventory", "notebooks/05_detection_inventory.py"),
    Stage("case_study", "notebooks/06_case_study.py"),
    Stage("report", "notebooks/07_reproduction.py"),
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
                cell.source = "# " + title + cell.source[cell.source.index("\n"):] if "\n" in cell.source else "# " + title
                break
    name = name or src.stem
    target = out_dir / f"{name}.ipynb"
    failed = out_dir / f"{name}.failed.ipynb"
    failed.unlink(missing_ok=True)
    with _kernel_environment(), atomic_path(target) as tmp:
        tmp_ipynb = tmp.with_name(tmp.name + ".ipynb")
        try:
            papermill.execute_notebook(
                nb, str(tmp_ipynb), parameters=parameters, kernel_name=kernel_name, language="python",
                cwd=str(ROOT), progress_bar=False,
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


def input_fingerprint(cfg) -> list:
    """Size and modification time of every input file the AOI names (interferogram folders, velocity
    maps, inventories), so that a stage reruns when a user replaces a file under the same name."""
    paths = [spec.path for spec in (cfg.inputs.ascending, cfg.inputs.descending) if spec is not None]
    paths += [p for p in (cfg.tiles.inventory, cfg.inventory.validation_inventory) if p]
    out = []
    for p in map(Path, paths):
        files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
        out.append([str(p)] + [[f.name, f.stat().st_size, f.stat().st_mtime_ns] if f.exists() else [f.name, "missing"]
                               for f in files])
    return out


def stage_digest(previous: str, stage: Stage, parameters: dict, code: str) -> str:
    """Content hash of one notebook execution: the digest of the stages before it (their inputs and
    outputs), the notebook's text, its parameters and lsid's code."""
    text = (ROOT / stage.notebook).read_bytes()
    parts = {"previous": previous, "notebook": hashlib.sha256(text).hexdigest(), "parameters": parameters, "code": code}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def stage_book_sources(run_dir: Path, title: str) -> Path:
    """Copy the book sources (config, table of contents, chapters) and this run's executed
    notebooks into ``<run_dir>/book_src``; returns that folder."""
    src = run_dir / "book_src"
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
    for nb in sorted((run_dir / "notebooks").glob("*.ipynb")):
        if not nb.name.endswith(".failed.ipynb"):
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
        raise LsidError(f"jupyter-book build failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return html


def run(aoi: str | Path, profile: str = "cpu", run_root: str | Path = "runs", only: list[str] | None = None,
        start: str | None = None, book: bool = True, kernel_name: str = "python3", force: bool = False) -> Path:
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
        the notebook, its parameters, lsid's code and the AOI's input files) is unchanged; otherwise such
        a stage is skipped (its executed notebook is kept).
    """
    aoi = Path(aoi).resolve()
    cfg = load_aoi(aoi, profile)  # fail on bad parameters before doing anything
    stages = _select(only, start)
    run_root = Path(run_root).resolve()
    run_dir = cfg.run_dir(run_root)
    nb_dir = ensure_writable_dir(run_dir / "notebooks")
    params = {"aoi": str(aoi), "profile": profile, "run_root": str(run_root)}
    if cfg.synthetic and any(s.name == "study_area" for s in stages):
        from lsid.synth import generate

        t0 = time.perf_counter()
        print(f"[lsid] synthetic area {cfg.name} ({profile}): generating stacks and truth ...", flush=True)
        generate(cfg, run_dir)  # progress bars on the console; the notebook then finds it done
        print(f"[lsid] synthetic area ready in {time.perf_counter() - t0:.0f} s", flush=True)
    code = source_digest("lsid")
    chain = json.dumps([cfg.digest(), input_fingerprint(cfg)], default=str)
    position = {s.name: n for n, s in enumerate(stages, 1)}  # the stages asked for, numbered for the console
    for stage in STAGES:  # every stage: later ones depend on what the earlier ones last made
        variants = [(None, {})]
        if stage.per_run:
            runs = list(cfg.training.runs) + list(cfg.training.ablations)
            variants = [(f"{Path(stage.notebook).stem}_{r.key}", {"model": r.model, "channels": r.channels, "split": r.split})
                        for r in runs]
        k = position.get(stage.name)
        keys = []
        t0 = time.perf_counter()
        for name, extra in variants:
            stem = name or Path(stage.notebook).stem
            stamp = nb_dir / f"{stem}.stage.json"
            last = json.loads(stamp.read_text()).get("digest", "") if stamp.exists() else ""
            if k is None:  # not asked for: its last execution stands
                keys.append(last)
                continue
            digest = stage_digest(chain, stage, {**params, **extra}, code)
            keys.append(digest)
            what = f"{stage.notebook}" + (f" ({name})" if name else "")
            if last == digest and not force and (nb_dir / f"{stem}.ipynb").exists():
                print(f"[lsid] {k}/{len(stages)} {stage.name}: {what} unchanged (same inputs, parameters and code), "
                      f"skipped", flush=True)
                continue
            print(f"[lsid] {k}/{len(stages)} {stage.name}: executing {what} ...", flush=True)
            stamp.unlink(missing_ok=True)
            execute_notebook(stage, {**params, **extra}, nb_dir, kernel_name=kernel_name, name=name)
            write_text(stamp, json.dumps({"digest": digest, "stage": stage.name}))
        chain = json.dumps(keys)
        if k is not None:
            print(f"[lsid] {k}/{len(stages)} {stage.name}: done in {time.perf_counter() - t0:.0f} s", flush=True)
    if book:
        t0 = time.perf_counter()
        print("[lsid] building the book ...", flush=True)
        title = f"lsid — {cfg.title or cfg.name} ({profile} profile)"
        html = build_book(stage_book_sources(run_dir, title), run_dir / "book")
        print(f"[lsid] book: {html / 'index.html'} ({time.perf_counter() - t0:.0f} s)", flush=True)
    return run_dir
