"""Parameter counts and CPU sampling time of the diffusion decoder / F0 predictor.

    .venv/bin/python bench/bench_diffusion.py [--frames 300] [--odim 80] [--cond_dim 256]
        [--samplers ddpm:100 ddim:10 dpm_solver:10 euler:2] [--sizes tiny paper] [--threads 1]

Builds untrained modules (random weights: timing and size only; objective reflow for the flow
samplers euler / rk2 / rk4), runs each sampler once on a single (1, frames) utterance and
prints one line per (module, size, sampler).
"""

import argparse
import time

import torch

from espnet2_ext.svs.diffusion.f0_predictor import F0DiffusionPredictor
from espnet2_ext.svs.diffusion.flow_samplers import FLOW_SAMPLERS
from espnet2_ext.svs.diffusion.mel_decoder import MelDiffusionDecoder

SIZES = {
    "tiny": dict(residual_layers=4, residual_channels=32),
    "paper": dict(residual_layers=20, residual_channels=256),
}
F0_SIZES = {
    "tiny": dict(residual_layers=4, residual_channels=32, uv_channels=32, uv_layers=1),
    "paper": dict(residual_layers=10, residual_channels=192),
}


def count_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--odim", type=int, default=80)
    ap.add_argument("--cond_dim", type=int, default=256)
    ap.add_argument("--samplers", nargs="+", default=["ddpm:100", "ddim:10", "dpm_solver:10"],
                    help="name:steps (steps ignored by ddpm, which always runs every step)")
    ap.add_argument("--sizes", nargs="+", default=["tiny", "paper"], choices=sorted(SIZES))
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cond = torch.randn(1, args.frames, args.cond_dim)
    mask = torch.ones(1, args.frames, dtype=torch.bool)
    midi = torch.full((1, args.frames), 60.0)
    for size in args.sizes:
        for kind in ("mel", "f0"):
            for spec in args.samplers:
                name, _, steps = spec.partition(":")
                obj = dict(objective="reflow" if name in FLOW_SAMPLERS else "ddpm")
                mod = (MelDiffusionDecoder(args.odim, args.cond_dim, {**SIZES[size], **obj}) if kind == "mel"
                       else F0DiffusionPredictor(args.cond_dim, {**F0_SIZES[size], **obj})).eval()
                steps = int(steps or 10)
                g = torch.Generator().manual_seed(0)
                start = time.perf_counter()
                if kind == "mel":
                    mod.inference(cond, mask, sampler=name, steps=steps, generator=g)
                else:
                    mod.inference(cond, mask, midi, sampler=name, steps=steps, generator=g)
                sec = time.perf_counter() - start
                print(f"{kind:4s} {size:5s} params={count_params(mod):>10,d} sampler={name}:"
                      f"{'all' if name == 'ddpm' else steps} frames={args.frames} threads={args.threads} "
                      f"time={sec:.3f}s", flush=True)


if __name__ == "__main__":
    main()
