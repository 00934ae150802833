"""Benchmark: the detectors' size, cost and speed (issue 5), on this machine's CPU and on a GPU when present.

Per model of lsid.models.REGISTRY: parameters, forward FLOPs for one tile (torch.utils.flop_counter),
training throughput (images/s, batch 5) and inference throughput (tiles/s, batch 8, inference_mode;
AMP and channels_last on CUDA); and the cost of CBAM (the CRF model against ResNet-50 + FPN).

    .venv/bin/python benchmarks/detectors.py [--size 256] [--iters 3] [--out benchmarks/results/detectors.json]

On a GPU machine (torch + torchvision only): ``python benchmarks/detectors.py --size 512``; the
results of each device are kept under their own key in the JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def flops(model, size: int, channels: int = 3) -> float | None:
    """Forward FLOPs of the backbone (+ neck, attention) for one tile (the heads depend on proposals)."""
    import torch

    try:
        from torch.utils.flop_counter import FlopCounterMode
    except ImportError:
        return None
    x = torch.zeros(1, channels, size, size, device=next(model.parameters()).device)
    with torch.inference_mode(), FlopCounterMode(display=False) as fc:
        model.backbone(x)
    return float(fc.get_total_flops())


def bench(name: str, size: int, iters: int, device: str) -> dict:
    import torch

    from lsid.models import build, count_parameters

    torch.manual_seed(0)
    cuda = device.startswith("cuda")
    m = build(name, 3, size).to(device)
    if cuda:
        m = m.to(memory_format=torch.channels_last)
    res = {"parameters_m": round(count_parameters(m) / 1e6, 2),
           "backbone_parameters_m": round(count_parameters(m.backbone) / 1e6, 2)}
    f = flops(m, size)
    res["backbone_gflops_per_tile"] = round(f / 1e9, 2) if f else None
    imgs = [torch.rand(3, size, size, device=device) for _ in range(5)]
    box = torch.tensor([[size * 0.2, size * 0.3, size * 0.5, size * 0.6]], device=device)
    targets = [{"boxes": box, "labels": torch.ones(1, dtype=torch.int64, device=device)} for _ in imgs]
    opt = torch.optim.SGD(m.parameters(), lr=1e-4, momentum=0.9)
    scaler = torch.amp.GradScaler("cuda", enabled=cuda) if cuda else None
    m.train()
    times = []
    for k in range(iters + 1):
        if cuda:
            torch.cuda.synchronize()
        t = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.float16, enabled=cuda):
            loss = sum(m(imgs, targets).values())
        opt.zero_grad()
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()
        if cuda:
            torch.cuda.synchronize()
        if k:  # the first iteration warms up
            times.append(time.perf_counter() - t)
    res["train_images_per_s"] = round(5 / (sum(times) / len(times)), 2)
    m.eval()
    batch = [torch.rand(3, size, size, device=device) for _ in range(8)]
    times = []
    with torch.inference_mode():
        for k in range(iters + 1):
            if cuda:
                torch.cuda.synchronize()
            t = time.perf_counter()
            with torch.autocast("cuda", dtype=torch.float16, enabled=cuda):
                m(batch)
            if cuda:
                torch.cuda.synchronize()
            if k:
                times.append(time.perf_counter() - t)
    res["inference_tiles_per_s"] = round(8 / (sum(times) / len(times)), 2)
    return res


def main():
    import torch

    from lsid.models import REGISTRY

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--models", nargs="*", default=list(REGISTRY))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "detectors.json"))
    a = ap.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    key = f"{torch.cuda.get_device_name(0) if device == 'cuda' else f'cpu x{torch.get_num_threads()}'} @ {a.size} px"
    out = Path(a.out)
    results = json.loads(out.read_text()) if out.exists() else {}
    entry = {"date": time.strftime("%Y-%m-%d"), "python": platform.python_version(), "torch": torch.__version__,
             "amp": device == "cuda", "channels_last": device == "cuda", "models": {}}
    for name in a.models:
        entry["models"][name] = bench(name, a.size, a.iters, device)
        print(name, json.dumps(entry["models"][name]), flush=True)
    ms = entry["models"]
    if "crf_faster_rcnn" in ms and "faster_rcnn_r50_fpn" in ms:
        c, f = ms["crf_faster_rcnn"], ms["faster_rcnn_r50_fpn"]
        entry["cbam_cost"] = {
            "extra_parameters_m": round(c["parameters_m"] - f["parameters_m"], 3),
            "extra_backbone_gflops": round((c["backbone_gflops_per_tile"] or 0)
                                           - (f["backbone_gflops_per_tile"] or 0), 3),
            "train_slowdown": round(f["train_images_per_s"] / c["train_images_per_s"], 3),
            "inference_slowdown": round(f["inference_tiles_per_s"] / c["inference_tiles_per_s"], 3)}
    results[key] = entry
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
