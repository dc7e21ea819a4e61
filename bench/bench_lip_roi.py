"""Stage 3 on the harder demo videos: accuracy and speed of each face front end.

    make_demo_corpus (warped lips, per-singer faces, roll / scale / squeeze, blur, noise,
      occlusions; ground truth <utt>.mouth.npy) --each front end (face mesh, Haar)-->
      per set (seen singers, held-out singers): detection rate outside the occlusions,
      mouth-centre error median / p95 (% of face width and of inter-ocular distance), corner
      error, roll error, frames per CPU-second (decode + landmarks + alignment + crop)

    python bench/bench_lip_roi.py [--utts_per_singer 3] [--seed 0] [--out_dir /tmp/bench_lip_roi]

Prints markdown tables; also times the generation per video.
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from espnet2_ext.data.demo_corpus import SINGERS, make_demo_corpus
from espnet2_ext.lip.report import summarize, utt_stats
from espnet2_ext.lip.roi import build_extractor



def _row(name: str, fe: str, rep: dict, cpu: float, frames: int) -> str:
    pct = lambda k: f"{100 * rep[k]:.2f}" if rep.get(k) is not None else "-"  # noqa: E731
    roll = lambda k: f"{rep[k]:.2f}" if rep.get(k) is not None else "-"  # noqa: E731
    return (f"| {name} | {fe} | {frames} | {100 * rep['detection_rate_unoccluded']:.1f} | {pct('center_err_fw_median')} | "
            f"{pct('center_err_fw_p95')} | {pct('center_err_iod_median')} | {pct('center_err_iod_p95')} | "
            f"{pct('corner_err_fw_median')} | {roll('roll_err_deg_median')} | {roll('roll_err_deg_p95')} | "
            f"{frames / cpu:.0f} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--utts_per_singer", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out_dir", default=None, help="corpus directory (default: a temporary one)")
    p.add_argument("--front_ends", nargs="+", default=["mediapipe", "haar"])
    a = p.parse_args()
    import cv2

    cv2.setNumThreads(1)
    root = Path(a.out_dir or tempfile.mkdtemp(prefix="bench_lip_roi_"))
    t0, c0 = time.perf_counter(), time.process_time()
    stats = make_demo_corpus(root, seed=a.seed, utts_per_singer=a.utts_per_singer,
                             ood_utts_per_singer=a.utts_per_singer, overwrite=True)
    gen_cpu = time.process_time() - c0
    print(f"generation: {stats['utterances']} videos, {stats['seconds']} s, {time.perf_counter() - t0:.1f} s wall, "
          f"{gen_cpu / stats['utterances']:.2f} CPU-s per video in the generating process "
          f"({1000 * gen_cpu / (25 * stats['seconds']):.1f} ms per frame, audio included, x264 excluded)\n")
    held_out = {v.name for v, _ in SINGERS[-2:]}
    print("| set | front end | frames | detected % (unoccluded) | centre err median % fw | p95 % fw | "
          "median % IOD | p95 % IOD | corner err median % fw | roll err median deg | p95 deg | frames / CPU-s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    videos = sorted(root.glob("*/*.mp4"))
    for fe in a.front_ends:
        ex = build_extractor({"front_end": fe})
        per_set = {k: ({}, [0.0]) for k in ("seen", "held out")}
        for v in videos:
            key = "held out" if v.parent.name in held_out else "seen"
            c = time.process_time()
            tr = ex(v)
            per_set[key][1][0] += time.process_time() - c
            per_set[key][0][v.stem] = utt_stats(tr, np.load(str(v).replace(".mp4", ".mouth.npy")), v.stem)
        for key, (utts, cpu) in per_set.items():
            frames = sum(u["frames"] for u in utts.values())
            print(_row(key, ex.front_end, summarize(utts, []), cpu[0], frames))


if __name__ == "__main__":
    main()
