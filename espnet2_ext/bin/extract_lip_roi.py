"""Stage 3: grayscale mouth crops of every video of one scp -> <out_dir>/<utt>.npy (T_v, 96, 96) uint8.

    python -m espnet2_ext.bin.extract_lip_roi --video_scp dump/raw/train/video.scp \
        [--mouth_gt_scp dump/raw/train/mouth_gt.scp] --out_dir dump/raw/train/data/lip \
        --out_scp lip.1.scp --report report.1.json [--crop_scale 0.55] [--strict] [--roi_conf '{...}']

Writes <out_dir>/<utt>.npy, the scp `<utt> <abs path .npy>` and a job report (JSON; merge the
jobs' reports with merge_lip_reports). A video with no face in any frame is excluded (warning,
report entry, no scp line). A missing or undecodable video is excluded the same way, or, with
--strict, stops the job with an error naming the file.
"""

import argparse
import json
import logging
import os
import sys
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from espnet2_ext.features.scp import read_scp
from espnet2_ext.lip.report import job_report, utt_stats, write_json_atomic
from espnet2_ext.lip.roi import LipRoiExtractor, NoFaceError
from espnet2_ext.lip.video_io import GrayVideo, VideoReadError


def save_npy_atomic(arr: np.ndarray, path: Path) -> None:
    """np.save through ``<path>.tmp`` and a rename: no partial .npy is ever visible."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            np.save(f, arr)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def load_gt(path: str, utt: str) -> np.ndarray:
    try:
        gt = np.load(path)
    except Exception as e:  # noqa: BLE001 - any unreadable file gets the same message
        raise ValueError(f"{path}: cannot read the mouth ground truth of {utt}: {e}")
    if gt.ndim != 2 or gt.shape[1] != 2:
        raise ValueError(f"{path}: mouth ground truth of {utt} must be (T_v, 2), got {gt.shape}")
    return gt


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--video_scp", required=True, help="<utt> <video path> lines")
    p.add_argument("--mouth_gt_scp", default=None, help="<utt> <(T_v, 2) npy> ground-truth mouth centres")
    p.add_argument("--out_dir", required=True, help="directory of the <utt>.npy crops")
    p.add_argument("--out_scp", required=True)
    p.add_argument("--report", required=True, help="job report JSON")
    p.add_argument("--crop_scale", type=float, default=None, help="crop side / face width (default 0.55)")
    p.add_argument("--roi_conf", default=None, help="JSON dict of LipRoiExtractor options (roi.py)")
    p.add_argument("--strict", action="store_true", help="a missing/corrupt video is fatal instead of excluded")
    a = p.parse_args(argv)
    cv2.setNumThreads(1)

    try:
        rows = read_scp(a.video_scp)
        gt_paths = dict(read_scp(a.mouth_gt_scp)) if a.mouth_gt_scp else {}
        roi_conf = json.loads(a.roi_conf) if a.roi_conf else {}
        if a.crop_scale is not None:
            roi_conf["crop_scale"] = a.crop_scale
        extractor = LipRoiExtractor(roi_conf)
    except (ValueError, OSError) as e:
        logging.error("%s", e)
        sys.exit(1)
    dups = [u for u, c in Counter(u for u, _ in rows).items() if c > 1]
    if dups:
        logging.error("%s: duplicate utterance ids %s", a.video_scp, sorted(dups)[:5])
        sys.exit(1)

    out_dir = Path(a.out_dir).absolute()
    out_dir.mkdir(parents=True, exist_ok=True)
    utts, excluded, lines = {}, [], []
    for utt, path in tqdm(rows, desc="extract_lip_roi", unit="utt"):
        try:
            track = extractor(GrayVideo(path))
        except VideoReadError as e:
            if a.strict:
                logging.error("%s: %s", utt, e)
                sys.exit(1)
            logging.warning("%s: excluded: %s", utt, e)
            excluded.append(dict(utt=utt, reason=f"unreadable video: {e}"))
            continue
        except NoFaceError as e:
            logging.warning("%s: excluded: %s", utt, e)
            excluded.append(dict(utt=utt, reason=f"no face: {e}"))
            continue
        gt = None
        if utt in gt_paths:
            try:
                gt = load_gt(gt_paths[utt], utt)
            except ValueError as e:
                logging.error("%s", e)
                sys.exit(1)
        elif a.mouth_gt_scp:
            logging.warning("%s: not in %s: no centre error for it", utt, a.mouth_gt_scp)
        utts[utt] = utt_stats(track, gt, utt)
        npy = out_dir / f"{utt}.npy"
        if npy.exists():
            logging.warning("%s: replacing existing %s", utt, npy)
        save_npy_atomic(track.crops, npy)
        lines.append(f"{utt} {npy}\n")

    rep = job_report(utts, excluded)
    scp_tmp = Path(a.out_scp + ".tmp")
    scp_tmp.parent.mkdir(parents=True, exist_ok=True)
    scp_tmp.write_text("".join(lines), encoding="utf-8")
    write_json_atomic(rep, a.report, indent=None)
    os.replace(scp_tmp, a.out_scp)
    msg = {k: rep[k] for k in ("num_utts", "num_excluded", "detection_rate", "face_width_px_median",
                               "center_err_px_median", "center_err_px_p95", "frames_per_second")}
    logging.info("lip crops of %d utterances -> %s; %s", len(lines), a.out_scp, msg)


if __name__ == "__main__":
    main()
