"""Latency of torchvision's Faster R-CNNs (random weights, eval mode, CPU) on one 640x480 image.

Called by bench/detect_latency.ts; prints one JSON object {model: {"median_ms", "runs_ms", ...}}.
min_size/max_size are set so that the 480x640 input is processed at its own size (no upscaling to 800).
Where torchvision's compiled ops cannot load (a CUDA build of torchvision beside a CPU torch), the
models run through torchvision_ops_shim.py and each model also reports "without_shim_median_ms": its
time minus the shimmed NMS and ROI align, a lower bound of its latency with the real ops.
"""
import argparse
import json
import statistics
import sys
import time

import torch

try:
    import torchvision

    SHIM_SECONDS = None
except RuntimeError:  # "operator torchvision::nms does not exist": the extension did not load
    for name in [m for m in sys.modules if m.startswith("torchvision")]:
        del sys.modules[name]
    from torchvision_ops_shim import SHIM_SECONDS, torchvision
from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_fpn, fasterrcnn_resnet50_fpn


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--width", type=int, default=640)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    image = torch.rand(3, args.height, args.width)
    sizes = dict(min_size=min(args.height, args.width), max_size=max(args.height, args.width))
    out = {"torch": torch.__version__, "torchvision": torchvision.__version__, "threads": args.threads, "ops_shim": SHIM_SECONDS is not None}
    builders = {
        "fasterrcnn_mobilenet_v3_large_fpn": lambda: fasterrcnn_mobilenet_v3_large_fpn(weights=None, weights_backbone=None, **sizes),
        "fasterrcnn_resnet50_fpn": lambda: fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None, **sizes),
    }
    for name, build in builders.items():
        model = build().eval()
        times = []
        without_shim = []
        with torch.inference_mode():
            model([image])  # warm-up
            for _ in range(args.runs):
                shim_before = sum(SHIM_SECONDS.values()) if SHIM_SECONDS is not None else 0.0
                start = time.perf_counter()
                model([image])
                elapsed = time.perf_counter() - start
                times.append(elapsed * 1000)
                if SHIM_SECONDS is not None:
                    without_shim.append((elapsed - (sum(SHIM_SECONDS.values()) - shim_before)) * 1000)
        out[name] = {"median_ms": statistics.median(times), "runs_ms": times}
        if without_shim:
            out[name]["without_shim_median_ms"] = statistics.median(without_shim)
            out[name]["without_shim_runs_ms"] = without_shim
    print(json.dumps(out))


if __name__ == "__main__":
    main()
