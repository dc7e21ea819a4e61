"""Cost of the duration-prior Viterbi on long lines, with and without a span bound.

    .venv/bin/python bench/bench_duration_prior.py [--seconds 10] [--phones 60] [--frame_rate 187.5]

Prints a markdown table: time and the size of the per-phone score array for ``max_span_s`` None
(every span up to T - N + 1) and a few bounds, on random posteriors (the cost does not depend on
their values).
"""

import argparse
import time

import numpy as np

from espnet2_ext.svs.performsinger.duration_prior import durations_with_prior


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--phones", type=int, default=60)
    p.add_argument("--frame_rate", type=float, default=187.5, help="mel frames/s (48 kHz, hop 256: 187.5)")
    p.add_argument("--fps", type=float, default=25.0)
    a = p.parse_args()
    rng = np.random.default_rng(0)
    t_v = int(a.seconds * a.fps)
    n_mel = int(round(a.seconds * a.frame_rate))
    logp = np.log(rng.dirichlet(np.ones(a.phones), size=t_v).T)  # (N, T_v)
    mu = np.log1p(np.full(a.phones, n_mel / a.phones))
    print(f"{a.seconds:g} s line, {a.phones} phones, {n_mel} mel frames\n")
    print("| max_span_s | span bound (frames) | score array per phone (MB) | time (s) |")
    print("|---|---|---|---|")
    for span in (None, 2.0, 1.0):
        d_max = n_mel - a.phones + 1 if span is None else max(int(np.ceil(span * a.frame_rate)), -(-n_mel // a.phones))
        t0 = time.perf_counter()
        d = durations_with_prior(logp, mu, n_mel, a.frame_rate, a.fps, weight=3.0, sigma=0.5, max_span_s=span)
        dt = time.perf_counter() - t0
        assert d.sum() == n_mel
        print(f"| {span} | {d_max} | {d_max * (n_mel + 1) * 8 / 1e6:.1f} | {dt:.2f} |")


if __name__ == "__main__":
    main()
