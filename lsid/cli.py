"""The ``lsid`` command.

    lsid run   --aoi data/aoi/<name>.yaml [--profile smoke|cpu|paper] [--only STAGE ...] [--from STAGE] [--no-book]
    lsid synth --aoi data/aoi/<name>.yaml [--profile ...] [--force]
    lsid check --aoi data/aoi/<name>.yaml [--profile ...]
    lsid check --template                 # a commented YAML of every key: default, unit, range
    lsid corpus   [--root runs/corpus] [--areas N] [--workers 2]          # the pretraining corpus
    lsid pretrain [--corpus runs/corpus] [--model crf_faster_rcnn] [--recipe cpu|gpu] [--resume] [--export NAME]
    lsid detect   [--ascending ASC.tif] [--descending DESC.tif] [--dem DEM.tif] [--coherence-ascending C.tif]
                  [--coherence-descending C.tif] [--incidence-ascending DEG --heading-ascending DEG]
                  [--incidence-descending DEG --heading-descending DEG] [--units mm/yr|cm/yr|m/yr] [--flip-sign]
                  [--nodata VALUE] [--detector NAME|CARD.json|best.pt] [--score-threshold S]
                  -o inventory.gpkg|.geojson|.kml|.csv          # potential landslides on your own velocity maps
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

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

    _pretraining_parsers(sub)
    _detect_parser(sub)
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
        elif args.command in ("corpus", "pretrain"):
            _pretraining(args)
        elif args.command == "detect":
            _detect(args)
    except LsidError as exc:
        print(f"lsid: error: {exc}", file=sys.stderr)
        return 2
    return 0


def _pretraining_parsers(sub) -> None:
    """The ``corpus`` and ``pretrain`` commands (issue 13: lsid.corpus, lsid.training.pretrain)."""
    p = sub.add_parser("corpus", help="build (or complete) the randomised synthetic corpus the detector is "
                                      "pretrained on")
    p.add_argument("--root", default="runs/corpus", help="corpus folder (default runs/corpus)")
    p.add_argument("--areas", type=int, default=160, help="number of areas (default 160; 1 in 10 test, 1 in 10 val)")
    p.add_argument("--workers", type=int, default=2, help="parallel processes, one area each (default 2)")
    p.add_argument("--threads", type=int, default=1, help="threads per process (default 1)")
    p.add_argument("--heldout-after", type=int, metavar="N",
                   help="instead: build held-out test areas beyond a corpus of N areas, 4 per native pixel size "
                        "bin (about 20, 50, 90 m), for the benchmark (e.g. --root runs/corpus-heldout "
                        "--heldout-after 160)")

    p = sub.add_parser("pretrain", help="pretrain a detector on the corpus, score it on the held-out areas, and "
                                        "optionally export its weights and model card")
    p.add_argument("--corpus", default="runs/corpus", help="corpus folder (default runs/corpus)")
    p.add_argument("--model", default="crf_faster_rcnn", help="a model of lsid.models.REGISTRY")
    p.add_argument("--recipe", default="cpu", help="cpu (2 cores, ~1.5 h) or gpu (one GPU)")
    p.add_argument("--out", help="run folder (default runs/pretrain/<model>)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--time-budget-min", type=float, help="stop after this many minutes (validation first)")
    p.add_argument("--export", metavar="NAME",
                   help="after training, write the fp16 weights and model card as NAME into lsid/models/weights/")
    p.add_argument("--export-only", action="store_true", help="export the finished run in OUT, do not train")


def _pretraining(args) -> None:
    import json

    if args.command == "corpus":
        from lsid.corpus.build import build_areas, build_corpus, heldout_indices

        if args.heldout_after is not None:
            m = build_areas(args.root, heldout_indices(args.heldout_after), workers=args.workers, threads=args.threads)
        else:
            m = build_corpus(args.root, args.areas, workers=args.workers, threads=args.threads)
        print(json.dumps({k: v for k, v in m.items() if k != "areas"}, indent=1))
        return
    from lsid.training.pretrain import export, pretrain, recipe

    out = args.out or f"runs/pretrain/{args.model}"
    if not args.export_only:
        cfg = recipe(args.recipe, args.model, time_budget_min=args.time_budget_min)
        res = pretrain(args.corpus, out, cfg, resume=args.resume)
        print(json.dumps({"train": {k: v for k, v in res["train"].items() if k != "config"},
                          "test": {k: res["test"][k] for k in ("voc_ap50", "coco_ap", "precision", "recall", "f1",
                                                               "test_tiles", "test_areas")}}, indent=1))
    if args.export:
        from lsid.detect.scene import Drawing
        from lsid.inventory.calibrate import calibrate
        from lsid.layout import ModelLayout
        from lsid.training.checkpoints import model_from_checkpoint

        manifest = json.loads((Path(args.corpus) / "manifest.json").read_text())
        spec = manifest["spec"]
        model, _ = model_from_checkpoint(ModelLayout(out).best, box_score_thresh=0.01)
        cal = calibrate(model, Drawing(spec["channels"], spec["size"], 40.0, spec["pixel_m"]), args.corpus,
                        progress=True)
        print(f"[lsid] operating score threshold {cal['score_threshold']} (best inventory F1 on the "
              f"{cal['areas']} validation areas)")
        extra = {"score_threshold": cal["score_threshold"], "calibration": cal}
        card = export(out, args.corpus, args.export, extra=extra)
        print(f"[lsid] model card: {card}")


def _detect_parser(sub) -> None:
    """The ``detect`` command (lsid.inventory.maps): an inventory from a user's own velocity GeoTIFFs."""
    p = sub.add_parser(
        "detect", help="potential landslides on your own LOS velocity maps (GeoTIFF, any SBAS software)",
        description="Detect on one or two mean LOS velocity GeoTIFFs (LiCSBAS, MintPy, HyP3, commercial) and run "
                    "the study's checks, ascending/descending fusion and export. Values must be positive towards "
                    "the satellite (else --flip-sign).")
    p.add_argument("--ascending", metavar="ASC.tif", help="ascending-track velocity GeoTIFF")
    p.add_argument("--descending", metavar="DESC.tif", help="descending-track velocity GeoTIFF")
    p.add_argument("--dem", metavar="DEM.tif", help="elevation GeoTIFF, m, any grid/CRS (slope and relief checks)")
    for o in ("ascending", "descending"):
        p.add_argument(f"--coherence-{o}", metavar="C.tif", help=f"temporal coherence GeoTIFF (0..1) of the {o} track")
        p.add_argument(f"--incidence-{o}", type=float, metavar="DEG",
                       help=f"mean incidence angle of the {o} track, deg")
        p.add_argument(f"--heading-{o}", type=float, metavar="DEG",
                       help=f"satellite heading of the {o} track, deg clockwise from north")
    p.add_argument("--units", default="mm/yr", choices=["mm/yr", "cm/yr", "m/yr"],
                   help="unit of the velocity files (default mm/yr)")
    p.add_argument("--flip-sign", action="store_true", help="the files' positive values are away from the satellite")
    p.add_argument("--nodata", type=float, metavar="VALUE", help="a no-data value the velocity files do not declare")
    p.add_argument("--detector", default="crf_faster_rcnn",
                   help="a shipped detector name (default crf_faster_rcnn), a model card .json (weights beside it) "
                        "or a study checkpoint best.pt")
    p.add_argument("--score-threshold", type=float, default=None, metavar="S",
                   help="smallest box score kept, 0..1 (default: the detector's operating threshold, from its model "
                        "card; 0.5 for a study checkpoint)")
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="the inventory to write: .gpkg, .geojson, .kml or .csv")


def _detect(args) -> None:
    from lsid.inventory.maps import describe_missing, detect_maps, missing_by_reason

    orbits = ("ascending", "descending")
    geometry = {o: (getattr(args, f"incidence_{o}"), getattr(args, f"heading_{o}")) for o in orbits
                if getattr(args, f"incidence_{o}") is not None or getattr(args, f"heading_{o}") is not None}
    inv = detect_maps(args.ascending, args.descending, dem=args.dem,
                      coherence={o: getattr(args, f"coherence_{o}") for o in orbits if getattr(args, f"coherence_{o}")},
                      geometry=geometry, units=args.units, flip_sign=args.flip_sign, nodata=args.nodata,
                      detector=args.detector, score_threshold=args.score_threshold, output=args.output)
    seen = {k: int((inv["seen_in"] == k).sum()) if len(inv) else 0 for k in ("ascending", "descending", "both")}
    print(f"[lsid] {len(inv)} potential landslides (seen in ascending only: {seen['ascending']}, descending only: "
          f"{seen['descending']}, both: {seen['both']}) from {inv.attrs['detector']}, boxes "
          + ", ".join(f"{o} {n}" for o, n in inv.attrs["boxes"].items()))
    for reason, (names, orbits) in missing_by_reason(inv.attrs["not_checked"]).items():
        print(f"[lsid] {describe_missing(names, orbits)}: {reason}")
    print(f"[lsid] inventory: {inv.attrs['output']}")


if __name__ == "__main__":
    sys.exit(main())
