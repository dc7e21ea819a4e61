"""Lip encoder cost by width and input size (the demo's ``input_size: 44`` against 88).

    .venv/bin/python bench/bench_lip_encoder.py [--threads 1] [--frames 100] [--repeats 3]

Prints a markdown table: parameters, forward time of a frozen encoder (stage two, decoding) by
the module path (Conv3d, BatchNorm, contiguous maps) and by the folded path the encoder takes
without gradients (2D front end over 5-frame windows, BatchNorm folded, channels-last), and
forward + backward time of a trained one (lip pretraining) for B=4 clips of --frames frames.
"""

import argparse
import time

import torch

from espnet2_ext.svs.lip_encoder import LipEncoder

SIZES = {"demo (16 ch, 128-d)": dict(output_dim=128, frontend_channels=16, trunk_channels=16),
         "paper (64 ch, 512-d)": dict(output_dim=512, frontend_channels=64, trunk_channels=64)}


def best_of(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def module_path(enc: LipEncoder, lip: torch.Tensor, lens: torch.Tensor) -> torch.Tensor:
    """The encoder's training-time modules on the same input (its forward minus the folding)."""
    valid = torch.arange(lip.shape[1])[None] < lens[:, None]
    x = lip * valid[:, :, None, None]
    if enc.input_size is not None:
        x = torch.nn.functional.interpolate(x, size=(enc.input_size,) * 2, mode="area")
    y = enc.trunk(enc.frontend3D(x.unsqueeze(1)).transpose(1, 2)[valid])
    return enc.proj(y) if enc.proj is not None else y


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--frames", type=int, default=100, help="video frames per clip (25 fps: 100 = 4 s)")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    lip = torch.randn(a.batch, a.frames, 88, 88)
    lens = torch.full((a.batch,), a.frames)
    print(f"B={a.batch}, T_v={a.frames}, {a.threads} thread(s)\n")
    print("| encoder | input_size | params | frozen forward, modules (s) | frozen forward, folded (s) | "
          "speed-up | forward + backward (s) |")
    print("|---|---|---|---|---|---|---|")
    for name, conf in SIZES.items():
        for size in (None, 44):
            enc = LipEncoder(dict(conf, input_size=size))
            n = sum(q.numel() for q in enc.parameters())
            enc.eval()
            with torch.inference_mode():
                mod = best_of(lambda enc=enc: module_path(enc, lip, lens), a.repeats)
                fwd = best_of(lambda enc=enc: enc(lip, lens), a.repeats)
            enc.train()

            def step(enc=enc):
                enc.zero_grad()
                enc(lip, lens).sum().backward()

            fb = best_of(step, a.repeats)
            print(f"| {name} | {size or 88} | {n / 1e6:.2f} M | {mod:.2f} | {fwd:.2f} | {mod / fwd:.2f}x | {fb:.2f} |")


if __name__ == "__main__":
    main()
