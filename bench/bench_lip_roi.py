"""Stage 3 on the harder demo videos: accuracy and speed of each face front end.

    make_demo_corpus (warped lips, per-singer faces, roll / scale / squeeze, blur, noise,
      occlusions; ground truth <utt>.mouth.npy) --each front end (face mesh, Haar)-->
      per set (seen singers, held-out singers): detection rate outside the occlusions,
      mouth-centre error median / p95 (% of face width and of inter-ocular distance), corner
      error, roll error, frames per CPU-second (decode + landmarks + alignment + crop)

    python bench/bench_lip_roi.py [--utts_per_singer 3] [--seed 0] [--out_dir /tmp/bench_lip_roi]
        [--raw_landmarks]   # also: per-frame (unsmoothed) landmark accuracy of the face mesh and,
                            # when importable, dlib's HOG detector + 68-point predictor

Prints markdown tables; also times the generation per video.
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from espnet2_ext.data.demo_corpus import SINGERS, make_demo_corpus
from espnet2_ext.lip.report import summarize, utt_stats
from espnet2_ext.lip.front_end import build_extractor



def _row(name: str, fe: str, rep: dict, cpu: float, frames: int) -> str:
    pct = lambda k: f"{100 * rep[k]:.2f}" if rep.get(k) is not None else "-"  # noqa: E731
    roll = lambda k: f"{rep[k]:.2f}" if rep.get(k) is not None else "-"  # noqa: E731
    return (f"| {name} | {fe} | {frames} | {100 * rep['detection_rate_unoccluded']:.1f} | {pct('center_err_fw_median')} | "
            f"{pct('center_err_fw_p95')} | {pct('center_err_iod_median')} | {pct('center_err_iod_p95')} | "
            f"{pct('corner_err_fw_median')} | {roll('roll_err_deg_median')} | {roll('roll_err_deg_p95')} | "
            f"{frames / cpu:.0f} |")


def _dlib_points():
    """-> callable (H, W) uint8 -> (mouth centre (2,), roll degrees) or None, or None if no dlib."""
    try:
        import dlib
        import face_recognition_models
    except ImportError:
        return None
    det = dlib.get_frontal_face_detector()
    pred = dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())

    def run(gray):
        boxes = det(gray, 1)
        if not boxes:
            return None
        p = np.array([(q.x, q.y) for q in pred(gray, max(boxes, key=lambda b: b.area())).parts()], np.float64)
        mouth = p[[48, 54, 51, 57]].mean(0)  # corners, outer lip midpoints (as the face mesh's)
        d = p[42:48].mean(0) - p[36:42].mean(0)
        return mouth, float(np.degrees(np.arctan2(d[1], d[0])))

    return run


def raw_landmark_table(videos) -> None:
    """Per-frame landmark accuracy before any smoothing: face mesh against dlib 68 points."""
    from espnet2_ext.lip import align
    from espnet2_ext.lip.landmarks import FaceMeshLandmarker
    from espnet2_ext.lip.video_io import GrayVideo

    dl = _dlib_points()
    res = {"mediapipe face mesh": ([], [], [0.0, 0]), "dlib HOG + 68 points": ([], [], [0.0, 0])}
    mesh = FaceMeshLandmarker()
    for v in videos:
        gt = np.load(str(v).replace(".mp4", ".mouth.npy"))
        frames = list(GrayVideo(v))
        c = time.process_time()
        lm = mesh(frames)
        res["mediapipe face mesh"][2][0] += time.process_time() - c
        res["mediapipe face mesh"][2][1] += len(frames)
        for t in range(len(frames)):
            if np.isfinite(lm[t]).all():
                res["mediapipe face mesh"][0].append(np.hypot(*(align.mouth_centre(lm[t]) - gt[t, :2])) / gt[t, 8])
                res["mediapipe face mesh"][1].append(abs(float(align.roll_degrees(lm[t])) - gt[t, 6]))
        if dl is None:
            continue
        c = time.process_time()
        outs = [dl(f) for f in frames]
        res["dlib HOG + 68 points"][2][0] += time.process_time() - c
        res["dlib HOG + 68 points"][2][1] += len(frames)
        for t, o in enumerate(outs):
            if o is not None:
                res["dlib HOG + 68 points"][0].append(np.hypot(*(o[0] - gt[t, :2])) / gt[t, 8])
                res["dlib HOG + 68 points"][1].append(abs(o[1] - gt[t, 6]))
    print("\n| landmarks (per frame, unsmoothed) | found % | centre err median % fw | p95 % fw | "
          "roll err median deg | p95 deg | frames / CPU-s |")
    print("|---|---|---|---|---|---|---|")
    for name, (err, roll, (cpu, n)) in res.items():
        if n == 0:
            print(f"| {name} | not installed | | | | | |")
            continue
        print(f"| {name} | {100 * len(err) / n:.1f} | {100 * np.median(err):.2f} | {100 * np.percentile(err, 95):.2f} | "
              f"{np.median(roll):.2f} | {np.percentile(roll, 95):.2f} | {n / cpu:.0f} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--utts_per_singer", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out_dir", default=None, help="corpus directory (default: a temporary one)")
    p.add_argument("--front_ends", nargs="+", default=["mediapipe", "haar"])
    p.add_argument("--raw_landmarks", action="store_true", help="also the per-frame landmark table (+ dlib)")
    p.add_argument("--reuse", action="store_true", help="use the videos already in --out_dir")
    a = p.parse_args()
    import cv2

    cv2.setNumThreads(1)
    root = Path(a.out_dir or tempfile.mkdtemp(prefix="bench_lip_roi_"))
    if not a.reuse:
        t0, c0 = time.perf_counter(), time.process_time()
        stats = make_demo_corpus(root, seed=a.seed, utts_per_singer=a.utts_per_singer,
                                 ood_utts_per_singer=a.utts_per_singer, overwrite=True)
        gen_cpu = time.process_time() - c0
        print(f"generation: {stats['utterances']} videos, {stats['seconds']} s, {time.perf_counter() - t0:.1f} s "
              f"wall, {gen_cpu / stats['utterances']:.2f} CPU-s per video in the generating process "
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
    if a.raw_landmarks:
        raw_landmark_table(videos)


if __name__ == "__main__":
    main()
