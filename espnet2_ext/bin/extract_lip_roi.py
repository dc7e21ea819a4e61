"""Stage 3: grayscale mouth crops of every video of one scp -> <out_dir>/<utt>.npy (T_v, 96, 96) uint8.

    python -m espnet2_ext.bin.extract_lip_roi --video_scp dump/raw/train/video.scp \
        [--mouth_gt_scp dump/raw/train/mouth_gt.scp] --out_dir dump/raw/train/data/lip \
        --out_scp lip.1.scp --report report.1.json [--front_end auto|mediapipe|haar] \
        [--face_track_dir dump/raw/train/data/face_track --face_track_scp face_track.1.scp] \
        [--crop_scale 0.55] [--strict] [--roi_conf '{...}']

Writes <out_dir>/<utt>.npy, the scp `<utt> <abs path .npy>` and a job report (JSON, naming the
front end that ran and holding its explicit options, ``roi_conf`` (lip/front_end.py), which stage 9
packs; merge the jobs' reports with merge_lip_reports). With the landmark front end
the crops are aligned to the mean face (lip/align.py) and, with --face_track_dir, the SyncNet face
track of each video (T_v, 3: box centre x, y, half size, in video pixels) is kept for LSE. A video with no face in any frame is excluded (warning,
report entry, no scp line). A missing or undecodable video is excluded the same way, or, with
--strict, stops the job with an error naming the file.
"""

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Optional

import cv2
import numpy as np
from tqdm import tqdm

from espnet2_ext.lip.report import GT_COLUMNS, job_report, utt_stats, write_json_atomic
from espnet2_ext.lip.front_end import build_extractor
from espnet2_ext.lip.roi import NoFaceError
from espnet2_ext.lip.video_io import GrayVideo, VideoReadError
from espnet2_ext.utils.fileio import atomic_path, atomic_write_text, read_scp_dict


def save_npy_atomic(arr: np.ndarray, path: Path) -> None:
    """np.save through a temporary file and a rename: no partial .npy is ever visible."""
    with atomic_path(path, ".npy") as tmp:
        np.save(tmp, arr)


def load_gt(path: str, utt: str) -> np.ndarray:
    try:
        gt = np.load(path)
    except Exception as e:  # noqa: BLE001 - any unreadable file gets the same message
        raise ValueError(f"{path}: cannot read the mouth ground truth of {utt}: {e}") from e
    if gt.ndim != 2 or gt.shape[1] not in (2, len(GT_COLUMNS)):
        raise ValueError(f"{path}: mouth ground truth of {utt} must be (T_v, 2) or (T_v, {len(GT_COLUMNS)}) "
                         f"(columns {', '.join(GT_COLUMNS)}), got {gt.shape}")
    return gt


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--video_scp", required=True, help="<utt> <video path> lines")
    p.add_argument("--mouth_gt_scp", default=None, help="<utt> <(T_v, 2) npy> ground-truth mouth centres")
    p.add_argument("--out_dir", required=True, help="directory of the <utt>.npy crops")
    p.add_argument("--out_scp", required=True)
    p.add_argument("--report", required=True, help="job report JSON")
    p.add_argument("--crop_scale", type=float, default=None, help="crop side / face width (default 0.55)")
    p.add_argument("--roi_conf", default=None, help="JSON dict of extractor options (roi.py, landmark_roi.py)")
    p.add_argument("--front_end", default=None, choices=["auto", "mediapipe", "haar"],
                   help="face front end (default auto: the MediaPipe face mesh when installed, else Haar)")
    p.add_argument("--face_track_dir", default=None,
                   help="directory of <utt>.npy SyncNet face tracks (T_v, 3) (landmark front end only)")
    p.add_argument("--face_track_scp", default=None, help="scp of the face tracks (with --face_track_dir)")
    p.add_argument("--strict", action="store_true", help="a missing/corrupt video is fatal instead of excluded")
    return p


def _inputs(a: argparse.Namespace):
    """(videos {utt: path}, mouth ground truth {utt: path}, extractor); exit 1 naming the bad input."""
    try:
        videos = read_scp_dict(a.video_scp)
        gt_paths = read_scp_dict(a.mouth_gt_scp) if a.mouth_gt_scp else {}
        roi_conf = json.loads(a.roi_conf) if a.roi_conf else {}
        if a.crop_scale is not None:
            roi_conf["crop_scale"] = a.crop_scale
        if a.front_end is not None:
            roi_conf["front_end"] = a.front_end
        if (a.face_track_dir is None) != (a.face_track_scp is None):
            raise ValueError("pass --face_track_dir and --face_track_scp together")
        return videos, gt_paths, build_extractor(roi_conf)
    except (ValueError, OSError, ImportError) as e:
        logging.error("%s", e)
        sys.exit(1)


def _track(extractor, utt: str, path: str, strict: bool, excluded: list):
    """The LipTrack of one video, or None (an ``excluded`` entry) when it has no face or cannot be read."""
    try:
        return extractor(GrayVideo(path))
    except VideoReadError as e:
        if strict:
            logging.error("%s: %s", utt, e)
            sys.exit(1)
        logging.warning("%s: excluded: %s", utt, e)
        excluded.append(dict(utt=utt, reason=f"unreadable video: {e}"))
    except NoFaceError as e:
        logging.warning("%s: excluded: %s", utt, e)
        excluded.append(dict(utt=utt, reason=f"no face: {e}"))
    return None


def _ground_truth(utt: str, gt_paths: dict, mouth_gt_scp: Optional[str]) -> Optional[np.ndarray]:
    if utt in gt_paths:
        try:
            return load_gt(gt_paths[utt], utt)
        except ValueError as e:
            logging.error("%s", e)
            sys.exit(1)
    if mouth_gt_scp:
        logging.warning("%s: not in %s: no centre error for it", utt, mouth_gt_scp)
    return None


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    a = get_parser().parse_args(argv)
    cv2.setNumThreads(1)
    videos, gt_paths, extractor = _inputs(a)
    out_dir = Path(a.out_dir).absolute()
    out_dir.mkdir(parents=True, exist_ok=True)
    logging.info("face front end: %s", extractor.front_end)
    face_dir = Path(a.face_track_dir).absolute() if a.face_track_dir else None
    if face_dir is not None:
        face_dir.mkdir(parents=True, exist_ok=True)
    utts, excluded, lines, face_lines = {}, [], [], []
    for utt, path in tqdm(videos.items(), desc="extract_lip_roi", unit="utt"):
        track = _track(extractor, utt, path, a.strict, excluded)
        if track is None:
            continue
        utts[utt] = utt_stats(track, _ground_truth(utt, gt_paths, a.mouth_gt_scp), utt)
        npy = out_dir / f"{utt}.npy"
        if npy.exists():
            logging.warning("%s: replacing existing %s", utt, npy)
        save_npy_atomic(track.crops, npy)
        lines.append(f"{utt} {npy}\n")
        if face_dir is not None and track.face_track is not None:
            face_npy = face_dir / f"{utt}.npy"
            save_npy_atomic(track.face_track.astype(np.float32), face_npy)
            face_lines.append(f"{utt} {face_npy}\n")

    rep = job_report(utts, excluded)
    rep["roi_conf"] = extractor.roi_conf  # the explicit front end and options (lip/front_end.py): packs record it
    write_json_atomic(rep, a.report, indent=None)
    if a.face_track_scp:
        atomic_write_text(a.face_track_scp, "".join(face_lines))
    Path(a.out_scp).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(a.out_scp, "".join(lines))  # last: the scp says the job finished
    msg = {k: rep.get(k) for k in ("front_end", "num_utts", "num_excluded", "detection_rate", "face_width_px_median",
                                   "center_err_px_median", "center_err_px_p95", "frames_per_second",
                                   "center_err_fw_median", "roll_err_deg_median")}
    logging.info("lip crops of %d utterances -> %s; %s", len(lines), a.out_scp, msg)


if __name__ == "__main__":
    main()
