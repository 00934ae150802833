"""The ``lsid`` command.

    lsid run   --aoi data/aoi/<name>.yaml [--profile smoke|cpu|paper] [--only STAGE ...] [--from STAGE] [--no-book]
    lsid synth --aoi data/aoi/<name>.yaml [--profile ...] [--force]
    lsid check --aoi data/aoi/<name>.yaml [--profile ...]
    lsid check --template                 # a commented YAML of every key: default, unit, range
"""

from __future__ import annotations

import argparse
import logging
import sys

from lsid.config import PROFILES
from lsid.errors import LsidError


def _common(p: argparse.ArgumentParser, aoi_required: bool = True):
    p.add_argument("--aoi", required=aoi_required,
                   help="area-of-interest YAML file (e.g. data/aoi/ahai-synthetic.yaml)")
    p.add_argument("--profile", default="cpu", help=f"run size: {', '.join(PROFILES)} (default cpu)")
    p.add_argument("--run-root", default="runs", help="parent folder of the run folders (default runs/)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lsid", description="Landslide identification from InSAR deformation.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)

    from lsid.pipeline import STAGES  # the stage names, for `lsid run --help`

    names = ", ".join(s.name for s in STAGES)
    width = max(len(s.name) for s in STAGES)
    epilog = "stages, in order:\n" + "\n".join(
        f"  {s.name:<{width}}  {s.module or '(figures only)':<22}  {s.notebook}"
        + ("  (once per detector run)" if s.per_run else "") for s in STAGES)
    p = sub.add_parser("run", help="execute the study's stages and notebooks and build the book",
                       epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(p)
    p.add_argument("--only", nargs="+", metavar="STAGE", help=f"run only these stages, any of: {names}")
    p.add_argument("--from", dest="start", metavar="STAGE", help=f"run from this stage on, one of: {names}")
    p.add_argument("--no-book", action="store_true", help="do not build the HTML book")
    p.add_argument("--force", action="store_true",
                   help="execute every selected notebook, even those whose inputs, parameters and code are unchanged")
    p.add_argument("--wait", action="store_true",
                   help="when another lsid run is writing the same run folder, wait for it (default: stop)")

    p = sub.add_parser("synth", help="generate the synthetic area (stacks and truth) only")
    _common(p)
    p.add_argument("--force", action="store_true", help="regenerate even when up to date")

    p = sub.add_parser("check", help="validate an area-of-interest file and print its parameters")
    _common(p, aoi_required=False)
    p.add_argument("--template", action="store_true",
                   help="print a commented YAML of every key (default, unit, allowed range) instead")

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "run":
            from lsid.pipeline import run

            run_dir = run(args.aoi, args.profile, args.run_root, only=args.only, start=args.start,
                          book=not args.no_book, force=args.force, wait=args.wait)
            print(f"[lsid] outputs in {run_dir}")
        elif args.command == "synth":
            from lsid.config import load_aoi
            from lsid.io.lock import run_lock
            from lsid.layout import RunLayout
            from lsid.synth import stage

            cfg = load_aoi(args.aoi, args.profile)
            with run_lock(RunLayout.of(cfg, args.run_root).root):
                manifest = stage.run(cfg, RunLayout.of(cfg, args.run_root), force=args.force, progress=True)
            if not manifest:
                raise LsidError(f"{args.aoi}: not a synthetic area (synthetic: false): nothing to generate")
            for k, v in manifest["files"].items():
                print(f"{k:20s} {RunLayout.of(cfg, args.run_root).root / v}")
        elif args.command == "check" and args.template:
            from lsid.config_template import template

            print(template(), end="")
        elif args.command == "check":
            import yaml

            from lsid.config import load_aoi

            if not args.aoi:
                parser.error("check needs --aoi FILE (or --template)")
            cfg = load_aoi(args.aoi, args.profile, check_paths=True)
            print(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    except LsidError as exc:
        print(f"lsid: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
