"""Stage 8's scoring of whole decode directories (bin/score_svs.py is its command line).

    <decode_dir>/{wav.scp, durations, timing}  +  <ref_dir>/{wav.scp, label, spembs.scp, video.scp,
    face_track.scp, ref_utt}
      --DecodeTables--> per utterance: generated wav, reference wav (or the reference voice of
                        ref_utt), predicted and true durations (frames), face crops
      --Scorer.score (eval/scoring.py)--> one row per utterance --aggregate--> scores
      -> <decode_dir>/<out> (scores.json), <decode_dir>/<out stem>_per_utt.jsonl,
         <decode_dir>/plots/<utt>.png (the first ``plots`` utterances, eval/decode_plot.py)

Reference sets (``ref_utt`` naming another utterance) get null MCD / FFE and Cos against the
reference voice. ``gt`` scores the reference wavs against themselves (MCD 0, FFE 0).
"""

import json
import logging
import time
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from espnet2_ext.utils.fileio import atomic_write_text, read_scp_dict


def _find_wav_of(utt: str, ref_dir: Path) -> Optional[str]:
    """Path of ``utt``'s wav in any sibling dump dir (the reference utterance of test_ref<k>)."""
    for scp in sorted(ref_dir.parent.glob("*/wav.scp")):
        table = read_scp_dict(scp)
        if utt in table:
            return table[utt]
    return None


class DecodeTables:
    """The tables of one (decode dir, reference dump dir) pair that scoring reads.

    Args:
        dec: the decode dir; ref: its reference dump dir.
        fs, hop_length: the wavs' rate and the mel hop (the frame grid of the durations).
        gt: score the reference wavs against themselves (true durations as the predicted ones).
    """

    def __init__(self, dec: Path, ref: Path, fs: int, hop_length: int, gt: bool = False):
        from espnet2_ext.eval.io import OptionalScp, float_durations, other_voices, read_if_file, read_scp_if_file
        from espnet2_ext.metrics.duration import label_to_frames

        self.dec, self.ref, self.fs, self.hop = dec, ref, fs, hop_length
        self.gen_scp = ref / "wav.scp" if gt else dec / "wav.scp"
        for f in (self.gen_scp, ref / "wav.scp"):
            if not f.is_file():
                raise FileNotFoundError(f"{f}: missing")
        self.gen_wavs = read_scp_dict(self.gen_scp)
        self.ref_wavs = read_scp_dict(ref / "wav.scp")
        self.labels = read_if_file(ref / "label", 4)
        self.ref_utt = other_voices(ref)  # another voice than the utterance's own (settings 2-4)
        if gt:
            self.durs = {u: label_to_frames(v, fs, hop_length) for u, v in self.labels.items()}
        else:
            self.durs = read_if_file(dec / "durations", 1, float_durations)
        self.spembs = OptionalScp(ref / "spembs.scp")
        # SyncNet sees the face track of stage 3 (face crops), never the mouth crops of lip.scp
        self.tracks = read_scp_if_file(ref / "face_track.scp")
        self.videos = read_scp_if_file(ref / "video.scp")

    def load(self, path: str, what: str) -> np.ndarray:
        """A mono wav (``what``: generated or reference); ValueError naming it when not at ``fs``."""
        import soundfile as sf

        from espnet2_ext.eval.io import resolve

        wav, sr = sf.read(resolve(path, self.gen_scp.parent if what == "generated" else self.ref),
                          dtype="float32", always_2d=True)
        if sr != self.fs:
            raise ValueError(f"{path}: {what} wav at {sr} Hz, expected --fs {self.fs}")
        return wav.mean(1)

    def true_durations(self, utt: str) -> Optional[np.ndarray]:
        from espnet2_ext.metrics.duration import label_to_frames

        return label_to_frames(self.labels[utt], self.fs, self.hop) if utt in self.labels else None

    def face_crops(self, utt: str) -> Optional[np.ndarray]:
        from espnet2_ext.eval.io import resolve
        from espnet2_ext.metrics.lse import face_crops

        if utt not in self.tracks or utt not in self.videos:
            return None
        return face_crops(resolve(self.videos[utt], self.ref), np.load(resolve(self.tracks[utt], self.ref)))


def score_utt(t: DecodeTables, utt: str, scorer) -> dict:
    """One utterance's row: ``utt``, ``ref_voice`` and every metric of ``scorer.score``."""
    gen = t.load(t.gen_wavs[utt], "generated")
    ref_wav, reason, target = None, "", None
    if utt in t.ref_utt:
        reason = "reference set: no ground-truth audio of the target timbre (ref_utt names another utterance)"
        if scorer.wavlm is not None:
            p = _find_wav_of(t.ref_utt[utt], t.ref)
            target = t.load(p, "reference") if p else None
    elif utt in t.ref_wavs:
        ref_wav = target = t.load(t.ref_wavs[utt], "reference")
    else:
        reason = f"{utt} not in {t.ref / 'wav.scp'}"
    lip = t.face_crops(utt) if scorer.syncnet is not None else None
    row = {"utt": utt, "ref_voice": t.ref_utt.get(utt, utt)}
    row.update(scorer.score(gen, ref_wav, reason, t.spembs.get(utt), target, lip, t.durs.get(utt),
                            t.true_durations(utt)))
    return row


def score_dir(dec: Path, ref: Path, scorer, fs: int, hop_length: int, gt: bool = False,
              out: str = "scores.json", plots: int = 0) -> dict:
    """Score one decode dir against its reference dump dir; write scores.json (+ per-utt) and plots."""
    from espnet2_ext.eval.io import read_if_file
    from espnet2_ext.eval.scoring import METRICS, aggregate

    t = DecodeTables(dec, ref, fs, hop_length, gt)
    per_utt = []
    t_start = time.perf_counter()
    runtime_before = dict(scorer.runtime)
    for utt in sorted(t.gen_wavs):
        row = score_utt(t, utt, scorer)
        per_utt.append(row)
        logging.info("%s: %s", utt, {k: (round(row[k], 4) if row.get(k) is not None else None) for k in METRICS})
    if not per_utt:
        raise ValueError(f"{t.gen_scp}: no utterances")
    scores = aggregate(per_utt)
    scores.update({"decode_dir": str(dec), "ref_dir": str(ref), "gt_mode": bool(gt),
                   "cos_kind": scorer.cos_kind,
                   "runtime_sec": {k: round(v - runtime_before.get(k, 0.0), 2) for k, v in scorer.runtime.items()},
                   "total_sec": round(time.perf_counter() - t_start, 2)})
    timing = read_if_file(dec / "timing")  # where the decode's durations came from (visual_svs_inference)
    if timing:
        sources = [v[0] for v in timing.values()]
        scores["timing"] = max(set(sources), key=sources.count)
    elif (dec / "timing").is_file():
        scores["timing"] = None
    if scores.get("ffe") is not None and t.ref_utt:
        scores["ffe_note"] = "F0 of the ground-truth singer"

    out_path = Path(out)
    if out_path.parent == Path("."):
        out_path = dec / out_path
    out_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_path.with_name(out_path.stem + "_per_utt.jsonl"),
                      "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in per_utt))
    atomic_write_text(out_path, json.dumps(scores, indent=1, ensure_ascii=False) + "\n")
    logging.info("wrote %s: %s", out_path, {k: scores[k] for k in METRICS})
    if plots > 0:
        from espnet2_ext.eval.decode_plot import plot_decode_dir

        plot_decode_dir(dec, ref, fs, hop_length, n=plots, gt=gt)
    return scores


def score_dirs(pairs: Sequence[Tuple[str, str]], scorer, fs: int, hop_length: int, gt: bool = False,
               out: str = "scores.json", plots: int = 0, log_file: Optional[str] = None) -> Dict[str, dict]:
    """``score_dir`` of every (decode dir, reference dir) pair with one scorer; {decode dir: scores}.

    ``log_file`` (e.g. logs/score.log) also writes each dir's log lines to ``<decode_dir>/<log_file>``.
    """
    results = {}
    for dec, ref in pairs:
        handler = None
        if log_file:
            log_path = Path(dec) / log_file
            log_path.parent.mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(log_path, mode="w", encoding="utf-8")
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s: %(message)s"))
            logging.getLogger().addHandler(handler)
        try:
            logging.info("scoring %s against %s", dec, ref)
            results[str(dec)] = score_dir(Path(dec), Path(ref), scorer, fs, hop_length, gt, out, plots)
        finally:
            if handler is not None:
                logging.getLogger().removeHandler(handler)
                handler.close()
    return results
