"""Inference precision of the heavy networks (lip encoder, F0 predictor, mel decoder).

    precision "float32"   every layer in float32
              "bfloat16"  those three networks under torch.autocast(bfloat16): convolutions and
                          matrix products in bfloat16, accumulated in float32; their outputs are cast
                          back to float32, so durations, F0 and mel leave the model in float32
              "auto"      bfloat16 where the device computes it natively (a CPU with AVX512-BF16 or
                          AMX, which oneDNN reports; a CUDA GPU that supports it), else float32

On a CPU without native bfloat16 the autocast path is emulated and slower than float32, which is
why ``auto`` asks the hardware. The timing path (phoneme encoder, fusion, lip-reading heads,
duration search) stays in float32, so the lip features are the one bfloat16 result a phone
boundary depends on. README ("Fast sampling") has the speed and the quality of each on the demo
systems, and how many boundaries moved.
"""

import contextlib
from typing import ContextManager

PRECISIONS = ("float32", "bfloat16", "auto")  # torch is imported where it is used: the CLIs list these cheaply


def native_bfloat16(device) -> bool:
    """Whether ``device`` (torch.device or its name) computes bfloat16 convolutions and matrix products in hardware."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return False


def resolve_precision(name: str, device):
    """``name`` (one of PRECISIONS) on ``device`` -> the compute dtype (torch.dtype) of the heavy networks."""
    import torch

    if name not in PRECISIONS:
        raise ValueError(f"precision {name!r}: expected one of {list(PRECISIONS)}")
    if name == "auto":
        return torch.bfloat16 if native_bfloat16(device) else torch.float32
    return torch.bfloat16 if name == "bfloat16" else torch.float32


def compute_in(dtype, device) -> ContextManager:
    """A context in which the heavy networks run in ``dtype`` (autocast; nothing for float32)."""
    import torch

    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=dtype)
