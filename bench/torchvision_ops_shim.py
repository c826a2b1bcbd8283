"""Lets torchvision's detection models run where its compiled ops cannot load.

The offline wheel store pairs torch 2.13.0+cpu with torchvision 0.28.0, whose _C.so is the CUDA build
(it links libtorch_cuda.so / libc10_cuda.so), so `import torchvision` fails with "operator
torchvision::nms does not exist". Import this module before torchvision: it skips the two modules that
register kernels for the missing ops, replaces `torchvision.ops.boxes.nms` with a NumPy greedy NMS, and
keeps torchvision's own pure-PyTorch ROI align (used automatically without the extension). Both are
timed (`SHIM_SECONDS`), so that a benchmark can report torchvision's time without them: the network
minus its NMS and ROI align, a lower bound of torchvision's real latency.
"""
import sys
import time
import types

import numpy as np
import torch

SHIM_SECONDS = {"nms": 0.0, "roi_align": 0.0}

for _name in ("torchvision._meta_registrations", "torchvision._autograd_registrations"):
    sys.modules.setdefault(_name, types.ModuleType(_name))

import torchvision  # noqa: E402

# The modules (torchvision.ops re-exports functions under the same names).
_boxes = sys.modules["torchvision.ops.boxes"]
_roi_align_module = sys.modules["torchvision.ops.roi_align"]


def _greedy_nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Indices kept by greedy NMS, highest score first (torchvision.ops.nms semantics, xyxy boxes)."""
    start = time.perf_counter()
    b = boxes.detach().numpy().astype(np.float64)
    order = np.argsort(-scores.detach().numpy(), kind="stable")
    areas = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    keep = []
    while order.size > 0:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        w = np.clip(np.minimum(b[i, 2], b[rest, 2]) - np.maximum(b[i, 0], b[rest, 0]), 0, None)
        h = np.clip(np.minimum(b[i, 3], b[rest, 3]) - np.maximum(b[i, 1], b[rest, 1]), 0, None)
        inter = w * h
        iou = inter / (areas[i] + areas[rest] - inter)
        order = rest[iou <= iou_threshold]
    SHIM_SECONDS["nms"] += time.perf_counter() - start
    return torch.as_tensor(np.array(keep, dtype=np.int64))


def _timed_roi_align(*args, **kwargs):
    start = time.perf_counter()
    out = _pure_roi_align(*args, **kwargs)
    SHIM_SECONDS["roi_align"] += time.perf_counter() - start
    return out


_pure_roi_align = _roi_align_module._roi_align
_roi_align_module._roi_align = _timed_roi_align
_boxes.nms = _greedy_nms

__all__ = ["SHIM_SECONDS", "torchvision"]
