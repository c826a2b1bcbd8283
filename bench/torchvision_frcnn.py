"""torchvision Faster R-CNN peers for bench/detect_latency.ts, as a worker timed image by image.

Reads one command per line on stdin, answers one JSON line each:
  start:   {"torch", "torchvision", "threads", "blas", "models": [...]} once the models are built
  "NAME PATH" -> {"wall": ms, "cpu": ms}: NAME's latency on the JPEG at PATH, end to end as ours is
           measured: read + decode (torchvision.io.decode_jpeg) + scaling to [0, 1] + the model (its own
           normalise/resize transform, backbone, RPN, ROI heads, post-processing).
Random weights (weights=None), eval mode, CPU, `torch.set_num_threads(threads)`. min_size/max_size are the
image's own sides so that the 480x640 input runs at its native size (torchvision's default would upscale to
800). torchvision's compiled C++ ops (nms, roi_align) are required: no pure-Python substitute is timed.
"""
import json
import re
import sys
import time

import torch
import torchvision
from torchvision.io import decode_jpeg, read_file
from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_fpn, fasterrcnn_resnet50_fpn


def blas() -> str:
    """Which BLAS torch's Linear runs on (BLAS_INFO in the build config; the loaded library when generic)."""
    found = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    info = found.group(1) if found else "unknown"
    if info == "generic":
        try:
            with open("/proc/self/maps") as maps:
                libs = sorted({line.split()[-1] for line in maps if "blas" in line.lower() and line.strip().endswith(".so.3")})
            info += f" -> {', '.join(libs) or 'none loaded'}"
        except OSError:
            pass
    return info


def main() -> None:
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    height, width = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (480, 640)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    torch.ops.torchvision.nms  # raises when the compiled ops did not load
    sizes = dict(min_size=min(height, width), max_size=max(height, width))
    models = {
        "fasterrcnn_mobilenet_v3_large_fpn": fasterrcnn_mobilenet_v3_large_fpn(weights=None, weights_backbone=None, **sizes).eval(),
        "fasterrcnn_resnet50_fpn": fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None, **sizes).eval(),
    }
    with torch.inference_mode():
        for model in models.values():
            model([torch.rand(3, height, width)])  # warm-up; also loads BLAS
    print(json.dumps({"torch": torch.__version__, "torchvision": torchvision.__version__, "threads": threads, "blas": blas(), "models": list(models)}), flush=True)
    for line in sys.stdin:
        name, path = line.split()
        wall, cpu = time.perf_counter(), time.process_time()
        with torch.inference_mode():
            image = decode_jpeg(read_file(path)).float() / 255
            models[name]([image])
        print(json.dumps({"wall": (time.perf_counter() - wall) * 1000, "cpu": (time.process_time() - cpu) * 1000}), flush=True)


if __name__ == "__main__":
    main()
