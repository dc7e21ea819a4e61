"""The device of a job from its ``--ngpu``, checked before any work.

    --ngpu 0 -> cpu;  --ngpu N >= 1 -> cuda (N visible CUDA devices required, else a clear error)

Every entry point that trains or decodes calls ``check_ngpu`` first, so ``--ngpu 1`` on a machine
without CUDA fails at start-up with what to pass instead, not as a CUDA error mid-stage. The recipe
runs the same check before stage 5 (``python -m espnet2_ext.utils.device --ngpu N``) when its jobs
run on this machine.
"""

import argparse
import sys

import torch


def cuda_device_count() -> int:
    """Visible CUDA devices (0 without a usable CUDA build or driver)."""
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def check_ngpu(ngpu: int, what: str = "this job") -> None:
    """Raise ``RuntimeError`` unless ``ngpu`` GPUs are visible (``ngpu`` 0 always passes)."""
    if ngpu < 0:
        raise ValueError(f"--ngpu must be >= 0, got {ngpu}")
    if ngpu == 0:
        return
    have = cuda_device_count()
    if have < ngpu:
        why = "CUDA is not available (no GPU, driver or CUDA build of torch)" if have == 0 else f"only {have} CUDA device(s) are visible"
        raise RuntimeError(f"--ngpu {ngpu} for {what}, but {why}: pass --ngpu 0 to run on the CPU, or run where {ngpu} GPU(s) are visible")


def device_for(ngpu: int, what: str = "this job") -> torch.device:
    """``cuda`` for ``ngpu`` >= 1 (after ``check_ngpu``), else ``cpu``."""
    check_ngpu(ngpu, what)
    return torch.device("cuda" if ngpu > 0 else "cpu")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description="Exit 1 with a message unless --ngpu GPUs are visible.")
    p.add_argument("--ngpu", type=int, required=True)
    p.add_argument("--what", default="this job", help="what the GPUs are for (in the message)")
    args = p.parse_args(argv)
    try:
        check_ngpu(args.ngpu, args.what)
    except (RuntimeError, ValueError) as e:
        print(f"Error: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
