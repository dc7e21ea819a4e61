"""Inference precision of the heavy networks (lip encoder, F0 predictor, mel decoder).

    precision "float32"   every layer in float32
              "bfloat16"  those three networks under torch.autocast(bfloat16): convolutions and
                          matrix products in bfloat16, accumulated in float32; their outputs are cast
                          back to float32, so durations, F0 and mel leave the model in float32
              "auto"      bfloat16 where the device has bfloat16 arithmetic instructions, else float32
                          (``native_bfloat16``)

What ``auto`` asks of each device:

* x86-64 CPU: the ``avx512_bf16`` (VDPBF16PS dot products: Cooper Lake, Sapphire Rapids and later
  Xeons, AMD Zen 4 and later) or ``amx_bf16`` (AMX tiles) flag in the kernel's CPU flags
  (``cpu_flags``, the first ``flags`` line of /proc/cpuinfo), and a torch built with oneDNN.
  A CPU with AVX-512 but neither flag (Skylake-SP, Cascade Lake, Ice Lake) runs bfloat16 through
  oneDNN's emulation, float32 arithmetic with conversions on top: a 5 s line at paper size
  (Euler-2) took 2.37 s there against 0.78 s in float32, so ``auto`` gives float32. Whether
  oneDNN accepts bfloat16 at all (``torch.ops.mkldnn._is_mkldnn_bf16_supported``) is not the
  question: it says yes on every AVX-512 CPU, emulated or not. Conversion-only extensions
  (AVX-NE-CONVERT) do not count either.
* ARM CPU (aarch64): float32, whatever its features. The ``bf16`` feature (BFDOT / BFMMLA:
  Graviton3, Neoverse V1/V2 and later) is bfloat16 arithmetic in hardware, and oneDNN accepts
  bfloat16 there; but torch reaches those instructions through oneDNN's Arm Compute Library
  backend, whose coverage varies by operator and by torch build, and bfloat16 has not been timed
  against float32 on such a CPU for these networks (2-D/3-D convolutions of the lip encoder, the
  decoders' 1-D convolutions). A wrong bfloat16 costs several times the float32 decode (as on the
  AVX-512 CPUs above), a missed one only the speed-up, so ``auto`` stays float32 until it is
  measured; ``precision: bfloat16`` turns it on explicitly.
* A CPU whose flags cannot be read (no /proc/cpuinfo: macOS, Windows; torch offers no bfloat16
  query that tells native from emulated, ``torch.backends.cpu.get_cpu_capability()`` names only
  the widest vector ISA): float32.
* CUDA: ``torch.cuda.is_bf16_supported()``. Any other device: float32.

The timing path (phoneme encoder, fusion, lip-reading heads, duration search) stays in float32,
so the lip features are the one bfloat16 result a phone boundary depends on. README ("Fast
sampling") has the speed and the quality of each on the demo systems, and how many boundaries
moved; bench/README.md the timings of both precisions per machine.
"""

import contextlib
import functools
import platform
from typing import ContextManager, FrozenSet

PRECISIONS = ("float32", "bfloat16", "auto")  # torch is imported where it is used: the CLIs list these cheaply

# CPU flags (Linux's names) of bfloat16 arithmetic, per architecture; an architecture not listed gets none
NATIVE_BF16_FLAGS = {"x86_64": frozenset({"avx512_bf16", "amx_bf16"})}
_ARCH_ALIASES = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64"}


def cpu_arch() -> str:
    """This machine's CPU architecture: "x86_64", "aarch64" or what platform.machine() says."""
    machine = platform.machine().lower()
    return _ARCH_ALIASES.get(machine, machine)


@functools.lru_cache(maxsize=None)  # read once per process: resolve_precision runs at every inference
def cpu_flags(path: str = "/proc/cpuinfo") -> FrozenSet[str]:
    """The CPU's feature flags as the kernel lists them (x86 "flags", ARM "Features" line of the
    first processor in ``path``); empty where they cannot be read."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                key, sep, value = line.partition(":")
                if sep and key.strip().lower() in ("flags", "features"):
                    return frozenset(value.split())
    except OSError:
        pass
    return frozenset()


def native_bfloat16(device) -> bool:
    """Whether ``device`` (torch.device or its name) computes bfloat16 convolutions and matrix
    products in hardware, as ``auto`` needs it (the module docstring says what is asked where)."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        wanted = NATIVE_BF16_FLAGS.get(cpu_arch(), frozenset())
        return bool(wanted & cpu_flags()) and torch.backends.mkldnn.is_available()
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
