#!/usr/bin/env python3
"""Training step time and peak memory of the paper-size configs at batch 1, and what they imply.

    python bench/bench_paper_training.py [--config conf/tuning/train_performsinger_paper.yaml]
                                         [--secs 1 2 3] [--threads 2]

One config per run (the peak RSS of a process only grows), utterance lengths in ascending order (``--secs``), batch 1: CPU seconds of
one optimiser step (forward + backward + Adam; ``time.process_time``, summed over threads, so
that a machine shared with other jobs does not inflate them; on an idle machine the wall-clock
step is this over the threads at best) and the growth of the process's peak RSS over the
memory held after building the model and optimiser (``ru_maxrss``; lengths ascend, so each new peak
is that length's activations). A straight line through those points gives seconds per mel frame;
for memory, the allocator's reuse of freed blocks makes the points noisy, so the batch size uses
the steepest slope between two consecutive lengths (the fit's slope is printed beside it).
Extrapolated to

* the paper's data: 3.07 h in 967 training utterances (11.4 s each on average) at 48 kHz, hop
  256 (187.5 frames/s): the projected time of one epoch at batch 1 on this CPU;
* a 40 GB GPU: the mel frames per batch that fit beside the weights, gradients and Adam moments
  (4 x the float32 parameters), with 30% of the card kept free for the allocator, cuDNN workspaces
  and longer-than-average batches. That is the ``batch_bins`` of the paper configs
  (``batch_type: numel`` over ``singing_shape`` = samples, so bins = frames x 256).

Activations are float32 tensors of the same shapes on a GPU, but no GPU ran this: the GPU numbers
are a projection from CPU memory, not a measurement.
"""

import argparse
import resource
import time

import numpy as np
import torch

from bench_models import RECIPE, batch, build

PAPER_HOURS, PAPER_UTTS = 3.07, 967
GPU_BYTES, GPU_KEEP_FREE = 40e9, 0.30


def peak_rss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024.0  # KiB on Linux


def measure(name: str, secs, repeats: int):
    model, conf = build(RECIPE / name)
    fb = conf["feats_extract_conf"]
    fps = fb["fs"] / fb["hop_length"]
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    model.train()
    n_params = sum(p.numel() for p in model.parameters())
    n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)
    rows, base = [], None
    for sec in secs:
        data = batch(conf, 1, sec)
        times = []
        for _ in range(repeats):
            if base is None:
                base = peak_rss()  # weights and optimiser built, no activations yet
            t0 = time.process_time()
            loss = model(**data)[0]
            opt.zero_grad()
            loss.backward()
            opt.step()
            times.append(time.process_time() - t0)
        rows.append((sec, int(sec * fps) + 1, min(times), peak_rss() - base))
    return dict(name=name, params=n_params, trainable=n_train, fps=fps, hop=fb["hop_length"], rows=rows)


def report(m) -> None:
    frames = np.array([r[1] for r in m["rows"]], dtype=float)
    mem = np.array([r[3] for r in m["rows"]], dtype=float)
    step_s, act_fit = np.polyfit(frames, [r[2] for r in m["rows"]], 1), np.polyfit(frames, mem, 1)
    act_b = [max(np.diff(mem) / np.diff(frames))] if len(frames) > 1 else act_fit
    mean_frames = PAPER_HOURS * 3600 / PAPER_UTTS * m["fps"]
    epoch_h = PAPER_UTTS * np.polyval(step_s, mean_frames) / 3600
    static = 4 * 4 * m["params"]  # weights + grads + 2 Adam moments, float32
    budget_frames = (GPU_BYTES * (1 - GPU_KEEP_FREE) - static) / max(act_b[0], 1.0)
    print(f"\n### {m['name']}: {m['params'] / 1e6:.2f} M parameters ({m['trainable'] / 1e6:.2f} M trained)\n")
    print("| utterance (s) | mel frames | step (CPU s) | peak RSS growth (MB) |")
    print("|---|---|---|---|")
    for sec, n, t, b in m["rows"]:
        print(f"| {sec:g} | {n} | {t:.2f} | {b / 1e6:.0f} |")
    print(f"\nper mel frame: {step_s[0] * 1e3:.2f} CPU ms and {act_b[0] / 1e6:.2f} MB of activations (fit: "
          f"{act_fit[0] / 1e6:.2f} MB); "
          f"paper epoch ({PAPER_UTTS} utterances of {mean_frames:.0f} frames) at batch 1 on this CPU: "
          f"{epoch_h:.1f} CPU hours; 40 GB GPU: about {budget_frames:.0f} mel frames per batch "
          f"({budget_frames / mean_frames:.1f} average utterances, batch_bins {int(budget_frames) * m['hop']})")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="conf/tuning/train_performsinger_paper.yaml")
    p.add_argument("--secs", nargs="+", type=float, default=[1.0, 2.0, 3.0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    report(measure(args.config, sorted(args.secs), args.repeats))


if __name__ == "__main__":
    main()
