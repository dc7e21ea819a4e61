"""Lip ROI quality reports: per utterance, per job, and merged over jobs.

    LipTrack + optional ground truth (T_v, 2) --utt_stats--> per-utterance entry
      (frame counts, face widths, per-frame centre errors in px and in face widths)
    entries + excluded --job_report--> report.JOB.json (keeps the per-frame arrays)
    report.*.json --merge_reports--> lip_report.json (totals over all frames, per-utterance
      summaries, excluded list, the jobs' common explicit front end ``roi_conf``), then the
      excluded-fraction check

Error = Euclidean distance between the smoothed mouth centre and the ground-truth centre, per
frame; ``center_err_frac`` divides it by the front end's own face width of the same frame. A
ground truth with the columns of ``GT_COLUMNS`` (the demo corpus's ``<utt>.mouth.npy``) also gives
errors as fractions of the true inter-ocular distance (``_iod``) and face width (``_fw``), mouth
corner errors, roll errors (landmark front end) and the detection rate outside the occluded frames.
"""

import json
import logging
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from espnet2_ext.data.synth_video import GT_COLUMNS
from espnet2_ext.lip.roi import LipTrack
from espnet2_ext.utils.fileio import atomic_write_text

PER_FRAME_KEYS = ("face_width_px", "center_err_px", "center_err_frac", "center_err_iod", "center_err_fw",
                  "corner_err_fw", "roll_err_deg", "detected_unoccluded")
# GT_COLUMNS: columns of a full ground truth (T_v, 10); a (T_v, 2) one holds the mouth centre only


def _gt_stats(track: LipTrack, gt: np.ndarray, n: int, err: np.ndarray) -> dict:
    """Errors against a full (T_v, len(GT_COLUMNS)) ground truth, first ``n`` frames."""
    col = {k: gt[:n, i] for i, k in enumerate(GT_COLUMNS)}
    out = dict(center_err_iod=np.round(err / col["interocular_px"], 5).tolist(),
               center_err_fw=np.round(err / col["face_width_px"], 5).tolist())
    if track.corners is not None:
        c = track.corners[:n]
        e = (np.hypot(c[:, 0] - col["corner_r_x"], c[:, 1] - col["corner_r_y"])
             + np.hypot(c[:, 2] - col["corner_l_x"], c[:, 3] - col["corner_l_y"])) / 2
        out["corner_err_fw"] = np.round(e / col["face_width_px"], 5).tolist()
    if track.roll is not None:
        out["roll_err_deg"] = np.round(np.abs(track.roll[:n] - col["roll_deg"]), 3).tolist()
    free = col["occluded"] < 0.5
    out["detected_unoccluded"] = track.detected[:n][free].astype(float).tolist()
    return out


def utt_stats(track: LipTrack, gt: Optional[np.ndarray] = None, utt: str = "") -> dict:
    """One utterance -> dict with counts, per-frame arrays and (if ``gt`` (T_v, 2)) errors."""
    T = track.num_frames
    entry = dict(
        frames=T,
        detected_frames=int(track.detected.sum()),
        interpolated_frames=int(T - track.accepted.sum()),
        rejected_frames=int(track.detected.sum() - track.accepted.sum()),
        seconds=round(track.seconds, 3),
        front_end=track.front_end,
        video=track.info,
        face_width_px=np.round(track.smoothed[:, 2], 2).tolist(),
    )
    if gt is not None:
        gt = np.asarray(gt, np.float64)
        if gt.ndim != 2 or gt.shape[1] not in (2, len(GT_COLUMNS)):
            raise ValueError(f"{utt}: mouth ground truth must be (T_v, 2) or (T_v, {len(GT_COLUMNS)}), got {gt.shape}")
        n = min(len(gt), T)
        if len(gt) != T:
            logging.warning("%s: %d ground-truth mouth centres for %d video frames: comparing the first %d",
                            utt, len(gt), T, n)
        err = np.hypot(*(track.smoothed[:n, :2] - gt[:n, :2]).T)  # (n,)
        entry["center_err_px"] = np.round(err, 3).tolist()
        entry["center_err_frac"] = np.round(err / track.smoothed[:n, 2], 5).tolist()
        if gt.shape[1] == len(GT_COLUMNS):
            entry.update(_gt_stats(track, gt, n, err))
    return entry


def summarize(utts: Dict[str, dict], excluded: Sequence[dict]) -> dict:
    """Per-utterance entries (with per-frame arrays) -> report totals (no per-frame arrays)."""
    frames = sum(u["frames"] for u in utts.values())
    det = sum(u["detected_frames"] for u in utts.values())
    cat = {k: np.concatenate([np.asarray(u[k], np.float64) for u in utts.values() if k in u] or [np.zeros(0)])
           for k in PER_FRAME_KEYS}
    n_total = len(utts) + len(excluded)
    rep = dict(
        front_end=sorted({u.get("front_end", "haar_cascade") for u in utts.values()}),
        num_utts=n_total,
        num_included=len(utts),
        num_excluded=len(excluded),
        excluded_fraction=(len(excluded) / n_total) if n_total else 0.0,
        frames=frames,
        detection_rate=(det / frames) if frames else None,
        interpolated_frames=sum(u["interpolated_frames"] for u in utts.values()),
        rejected_frames=sum(u["rejected_frames"] for u in utts.values()),
        face_width_px_median=float(np.median(cat["face_width_px"])) if len(cat["face_width_px"]) else None,
        frames_per_second=(frames / s) if (s := sum(u["seconds"] for u in utts.values())) > 0 else None,
    )
    if len(cat["center_err_px"]):
        rep.update(
            gt_frames=int(len(cat["center_err_px"])),
            center_err_px_median=float(np.median(cat["center_err_px"])),
            center_err_px_p95=float(np.percentile(cat["center_err_px"], 95)),
            center_err_frac_median=float(np.median(cat["center_err_frac"])),
            center_err_frac_p95=float(np.percentile(cat["center_err_frac"], 95)),
        )
    else:
        rep.update(center_err_px_median=None, center_err_px_p95=None,
                   center_err_frac_median=None, center_err_frac_p95=None)
    for k in ("center_err_iod", "center_err_fw", "corner_err_fw", "roll_err_deg"):
        if len(cat[k]):
            rep[f"{k}_median"] = float(np.median(cat[k]))
            rep[f"{k}_p95"] = float(np.percentile(cat[k], 95))
    if len(cat["detected_unoccluded"]):
        rep["detection_rate_unoccluded"] = float(cat["detected_unoccluded"].mean())
    rep["excluded"] = list(excluded)
    return rep


def job_report(utts: Dict[str, dict], excluded: Sequence[dict]) -> dict:
    """Report of one job: totals plus the full per-utterance entries (merged later)."""
    rep = summarize(utts, excluded)
    rep["utts"] = utts
    return rep


def _per_utt_summary(u: dict) -> dict:
    out = {k: v for k, v in u.items() if k not in PER_FRAME_KEYS}
    out["detection_rate"] = u["detected_frames"] / u["frames"] if u["frames"] else None
    if u.get("face_width_px"):
        out["face_width_px_median"] = float(np.median(u["face_width_px"]))
    if u.get("center_err_px"):
        out["center_err_px_median"] = float(np.median(u["center_err_px"]))
        out["center_err_px_p95"] = float(np.percentile(u["center_err_px"], 95))
        out["center_err_frac_median"] = float(np.median(u["center_err_frac"]))
    return out


def load_report(path) -> dict:
    """Read one job report; ValueError naming the file when it is not one."""
    path = Path(path)
    try:
        rep = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: lip report not found (did the extraction job fail? see its log)") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}:{e.lineno}: not valid JSON: {e.msg}") from e
    if not isinstance(rep, dict) or "utts" not in rep or "excluded" not in rep:
        raise ValueError(f"{path}: not a job report of extract_lip_roi (needs 'utts' and 'excluded')")
    return rep


def merge_reports(reports: List[dict], names: Sequence[str] = ()) -> dict:
    """Job reports -> merged report; ValueError when an utterance occurs in two of them."""
    utts, excluded, seen = {}, [], {}
    for i, rep in enumerate(reports):
        name = names[i] if i < len(names) else f"report {i}"
        keys = list(rep["utts"]) + [e["utt"] for e in rep["excluded"]]
        for k in keys:
            if k in seen:
                raise ValueError(f"utterance {k} is in both {seen[k]} and {name}")
            seen[k] = name
        utts.update(rep["utts"])
        excluded.extend(rep["excluded"])
    merged = summarize(utts, excluded)
    confs = [(names[i] if i < len(names) else f"report {i}", rep["roi_conf"]) for i, rep in enumerate(reports)
             if rep.get("roi_conf") is not None]
    for name, conf in confs[1:]:
        if conf != confs[0][1]:
            raise ValueError(f"{name} and {confs[0][0]} were cut with different lip front ends or options "
                             "(roi_conf): run stage 3 of the set again")
    if confs:
        merged["roi_conf"] = confs[0][1]  # the explicit front end of every job (lip/front_end.py)
    merged["utts"] = {k: _per_utt_summary(v) for k, v in sorted(utts.items())}
    return merged


def write_json_atomic(obj, path, indent: Optional[int] = 1) -> None:
    """Write ``obj`` as JSON to ``path`` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(obj, indent=indent) + "\n")
