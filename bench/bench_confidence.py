#!/usr/bin/env python3
"""Does the lip-reading confidence tell lips the model can read from lips it cannot?

    python3 bench/bench_confidence.py --pack egs2/visualsinger/svs1/exp/svs_performsinger/packed/performsinger.zip \
        --data_dirs egs2/visualsinger/svs1/dump/raw/dev [more data dirs] --out exp/confidence [--max_utts 20]

For every utterance of each data dir, ``Performer(..., timing_only=True)`` from the pack (the path
``perform`` takes: the pack's front end, decode and threshold) reads the timing off

    demo      the utterance's own video (lines the model can read)
    shuffle   the same frames in a random order (no timing left in them)
    cover     the same video with a grey box over the mouth, jaw and chin (positions from the face mesh)
    real      a real face: skimage's astronaut photo, its own lips (the demo faces are drawn from this
              photo with a painted mouth), with a slow head motion and a mouth that opens and closes
              at random, as long as the utterance

and records the line confidence (svs/performsinger/confidence.py) and the mean error of the inner
phone boundaries against the data dir's ``label`` (ms). Writes <out>/confidence.tsv (data dir, utt,
condition, confidence, boundary error) and <out>/summary.json: per data dir and condition the
min / 5th percentile / median / max of both, and, on the first data dir (dev: where the threshold is
chosen), the interval between the lowest demo line and the highest control line and its midpoint.
"""

import argparse
import json
import logging
import tempfile
from pathlib import Path

import cv2
import numpy as np

from espnet2_ext.utils.fileio import read_scp_dict

CONDITIONS = ("demo", "shuffle", "cover", "real")


def read_frames(path: Path):
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    cap.release()
    return frames, fps


def write_frames(frames, fps: float, path: Path) -> None:
    """BGR frames -> an H.264 mp4 at ``fps`` (ffmpeg from imageio-ffmpeg, nearly lossless)."""
    from espnet2_ext.utils.media import run_ffmpeg

    h, w = frames[0].shape[:2]
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "frames.raw"
        raw.write_bytes(b"".join(np.ascontiguousarray(f).tobytes() for f in frames))
        run_ffmpeg(["-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w}x{h}", "-r", f"{fps:g}", "-i", str(raw),
                    "-c:v", "libx264", "-qp", "4", "-pix_fmt", "yuv420p", "-y", str(path)], "encode")


def shuffled(frames, rng):
    return [frames[i] for i in rng.permutation(len(frames))]


def covered(frames, path: Path):
    """A grey box over the mouth, the jaw and the chin in every frame (the demo faces move the jaw
    with the phones, so a box over the lips alone leaves the timing visible below it; mouth centre
    and face width from the face mesh)."""
    from espnet2_ext.lip.front_end import build_extractor

    track = build_extractor({"front_end": "mediapipe"})(str(path))
    out = []
    for f, (cx, cy, fw) in zip(frames, track.smoothed):
        g = f.copy()
        cv2.rectangle(g, (int(cx - 0.35 * fw), int(cy - 0.2 * fw)), (int(cx + 0.35 * fw), int(cy + 0.5 * fw)),
                      (128, 128, 128), -1)
        out.append(g)
    return out


def real_face(n: int, size: tuple, rng):
    """``n`` frames of the astronaut photo's face (its own lips) at ``size`` (h, w): the head drifts
    slowly and the mouth region stretches open and closed at random syllable-like rates."""
    import skimage.data

    img = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    face = img[30:230, 124:324]  # the face (x 124-324, y 30-230 of the photo)
    h, w = size
    side = int(0.8 * min(h, w))
    face = cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA)
    mouth_y, mouth_x = int(0.56 * side), int(0.5 * side)  # the lips in the resized crop
    opening = np.clip(np.cumsum(rng.normal(0, 0.25, n)), -1, 1)  # slow random walk of the jaw
    opening = 0.5 + 0.5 * np.sin(np.cumsum(rng.uniform(0.3, 0.9, n))) * (0.6 + 0.4 * np.abs(opening))
    frames = []
    for t in range(n):
        f = face.copy()
        # stretch the band below the upper lip downwards: the lower lip and chin drop
        band = f[mouth_y - side // 40: mouth_y + side // 6, mouth_x - side // 5: mouth_x + side // 5]
        k = 1.0 + 0.35 * opening[t]
        stretched = cv2.resize(band, (band.shape[1], int(band.shape[0] * k)), interpolation=cv2.INTER_LINEAR)
        f[mouth_y - side // 40: mouth_y + side // 6, mouth_x - side // 5: mouth_x + side // 5] = \
            stretched[: band.shape[0]]
        canvas = np.full((h, w, 3), 40, np.uint8)
        dx = int((w - side) / 2 + 6 * np.sin(t / 17.0))
        dy = int((h - side) / 2 + 4 * np.sin(t / 23.0))
        canvas[dy:dy + side, dx:dx + side] = f
        frames.append(canvas)
    return frames


def control_video(cond: str, video: Path, tmp: Path, rng) -> Path:
    if cond == "demo":
        return video
    frames, fps = read_frames(video)
    if cond == "shuffle":
        frames = shuffled(frames, rng)
    elif cond == "cover":
        frames = covered(frames, video)
    else:
        frames = real_face(len(frames), frames[0].shape[:2], rng)
    out = tmp / f"{cond}_{video.stem}.mp4"
    write_frames(frames, fps, out)
    return out


def read_labels(path: Path) -> dict:
    """utt -> (N + 1,) true phone boundaries in seconds, from a data dir's ``label`` (start end phone ...)."""
    out = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            f = line.split()
            if len(f) > 1:
                t = np.asarray(f[1:], object).reshape(-1, 3)
                out[f[0]] = np.concatenate([t[:, 0].astype(float), [float(t[-1, 1])]])
    return out


def boundary_error_ms(perf, truth) -> float:
    """Mean |error| of the inner phone boundaries in ms (nan without a truth of the same phones)."""
    if truth is None or len(truth) != len(perf.boundaries):
        return float("nan")
    return float(np.abs((perf.boundaries - perf.start)[1:-1] - truth[1:-1]).mean() * 1000)


def summarize(values):
    v = np.asarray(values, float)
    return dict(n=len(v), min=float(v.min()), p5=float(np.percentile(v, 5)), median=float(np.median(v)),
                max=float(v.max())) if len(v) else dict(n=0)


def main(argv=None) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pack", required=True)
    p.add_argument("--data_dirs", nargs="+", required=True, help="the first one is where the threshold is chosen")
    p.add_argument("--out", required=True)
    p.add_argument("--conditions", nargs="+", default=list(CONDITIONS), choices=CONDITIONS)
    p.add_argument("--max_utts", type=int, default=0, help="at most this many utterances per data dir (0: all)")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)

    from espnet2_ext.api.data_utt import read_data_utt
    from espnet2_ext.api.performer import Performer

    performer = Performer.from_pretrained(a.pack)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows, rng = [], np.random.default_rng(a.seed)
    with tempfile.TemporaryDirectory(prefix="bench_confidence_") as tmp:
        for data in map(Path, a.data_dirs):
            utts = sorted(read_scp_dict(data / "video.scp"))
            truth = read_labels(data / "label")
            if a.max_utts:
                utts = utts[: a.max_utts]
            for utt in utts:
                u = read_data_utt(data, utt)
                for cond in a.conditions:
                    video = control_video(cond, Path(u.video), Path(tmp), rng)
                    perf = performer(video, u.lyrics, u.notes, u.reference, timing_only=True)
                    err = boundary_error_ms(perf, truth.get(utt))
                    rows.append((str(data), utt, cond, perf.lip_confidence, err))
                    print(f"{data.name}\t{utt}\t{cond}\t{perf.lip_confidence:.4f}\t{err:.1f}", flush=True)
    (out / "confidence.tsv").write_text("data\tutt\tcondition\tconfidence\tboundary_err_ms\n" + "".join(
        f"{d}\t{u}\t{c}\t{v:.4f}\t{e:.1f}\n" for d, u, c, v, e in rows))
    summary = {}
    for data in a.data_dirs:
        summary[data] = {c: dict(confidence=summarize([v for d, _, cc, v, _ in rows if d == str(Path(data)) and cc == c]),
                                 boundary_err_ms=summarize([e for d, _, cc, _, e in rows
                                                            if d == str(Path(data)) and cc == c and np.isfinite(e)]))
                         for c in a.conditions}
    dev = summary[a.data_dirs[0]]
    if "demo" in dev and any(c != "demo" for c in dev):
        lo = dev["demo"]["confidence"]["min"]
        hi = max(dev[c]["confidence"]["max"] for c in dev if c != "demo")
        summary["threshold_on_first"] = dict(lowest_demo=lo, highest_control=hi, separated=lo > hi,
                                             midpoint=(lo + hi) / 2, in_use=performer.min_confidence)
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary.get("threshold_on_first"), indent=1))


if __name__ == "__main__":
    main()
