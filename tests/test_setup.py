"""The project's set-up files agree with each other."""

import re

import yaml

from tests.helpers import ROOT


def _req_lines(text):
    out = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name = re.split(r"[<>=!~\[ ]", line, maxsplit=1)[0].lower().replace("_", "-")
        out[name] = line.replace(" ", "")
    return out


def test_environment_yml_mirrors_requirements():
    req = _req_lines((ROOT / "requirements.txt").read_text())
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    conda = _req_lines("\n".join(pip))
    assert conda == req


def test_torch_pair_and_book_pins():
    req = _req_lines((ROOT / "requirements.txt").read_text())
    assert req["torch"] == "torch==2.14.1"
    assert req["torchvision"] == "torchvision==0.29.2"
    assert "<2" in req["jupyter-book"]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in ci and "make test" in readme and "make book" in readme


def test_every_toc_chapter_exists_or_is_executed():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    from lsid.pipeline import STAGES

    stem = {s.name: f"book/_executed/{s.notebook.split('/')[-1].removesuffix('.py')}" for s in STAGES}
    executed = {v for k, v in stem.items() if not next(s for s in STAGES if s.name == k).per_run}
    per_run = {v + "_*" for k, v in stem.items() if next(s for s in STAGES if s.name == k).per_run}
    chapters = [c for p in toc["parts"] for c in p["chapters"]]
    files = [toc["root"]] + [c["file"] for c in chapters if "file" in c]
    globs = {c["glob"] for c in chapters if "glob" in c}
    for f in files:
        assert f in executed or (ROOT / f"{f}.md").exists(), f
    assert executed <= set(files) and per_run == globs  # a stage run once per detector: a glob of its pages


def test_config_model_names_match_the_registry():
    from lsid.config import MODEL_NAMES
    from lsid.models import REGISTRY

    assert set(MODEL_NAMES) == set(REGISTRY)
