#!/usr/bin/env python3
"""Stage 8: score a decode directory against the reference dump.

    <decode_dir>/{wav.scp, durations, feats.scp, f0.scp, attn/}  +  <ref_dir>/{wav.scp, label,
    score.scp, spembs.scp, video.scp, face_track.scp, ref_utt}
      -> <decode_dir>/scores.json           mcd (c0 included), mcd_no_c0, ffe, cos, lse_c, lse_d,
                                            dur_mae_frames, boundary_hit_40ms (inner boundaries),
                                            boundary_hit_40ms_all (inner + final) (float or null +
                                            "<key>_reason"), num_utts, timing (the decode's
                                            duration source, from <decode_dir>/timing)
      -> <decode_dir>/scores_per_utt.jsonl  one JSON object per utterance
      -> <decode_dir>/plots/<utt>.png       the first --plots utterances

Reference sets (``ref_utt`` naming another utterance: another voice than the ground truth; setting
1 names the utterance itself) get null MCD / FFE,
and Cos against the reference voice. ``--gt`` scores the reference wavs against themselves
(sanity row: MCD 0, FFE 0); to score the vocoded GT, point --decode_dir at exp/gt/decode_*/<set>.

``--decode_dir`` / ``--ref_dir`` may be repeated in pairs: one process then scores several decode
dirs with one scorer (its models load once), each into its own files; ``--log_file logs/score.log``
also writes each dir's lines to ``<decode_dir>/logs/score.log``.

Usage:
    python -m espnet2_ext.bin.score_svs --decode_dir exp/svs_x/decode_y/test --ref_dir dump/raw/test \
        --fs 22050 --hop_length 256 [--syncnet_weights P] [--wavlm_dir P] [--plots 4] [--gt] \
        [--out scores.json] [--log_file logs/score.log]
"""

import argparse
import json
import logging
import os
import time
from pathlib import Path

import numpy as np


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _find_wav_of(utt: str, ref_dir: Path):
    """Path of ``utt``'s wav in any sibling dump dir (the reference utterance of test_ref<k>)."""
    from espnet2_ext.eval.io import read_scp

    for scp in sorted(ref_dir.parent.glob("*/wav.scp")):
        table = read_scp(scp)
        if utt in table:
            return table[utt]
    return None


def score_dir(dec: Path, ref: Path, scorer, args: argparse.Namespace) -> dict:
    """Score one decode dir against its reference dump dir; write scores.json (+ per-utt) and plots."""
    import soundfile as sf

    from espnet2_ext.eval.io import OptionalScp, read_scp, read_table, resolve
    from espnet2_ext.eval.scoring import METRICS, aggregate
    from espnet2_ext.metrics.duration import label_to_frames

    gen_scp = ref / "wav.scp" if args.gt else dec / "wav.scp"
    for f in (gen_scp, ref / "wav.scp"):
        if not f.is_file():
            raise FileNotFoundError(f"{f}: missing")
    gen_wavs = read_scp(gen_scp)
    ref_wavs = read_scp(ref / "wav.scp")
    labels = read_table(ref / "label", 4) if (ref / "label").is_file() else {}
    # another voice than the utterance's own (settings 2-4); setting 1 lists each utterance as its own
    ref_utt = read_table(ref / "ref_utt") if (ref / "ref_utt").is_file() else {}
    ref_utt = {u: v for u, v in ref_utt.items() if v[0] != u}
    if args.gt:
        durs = {u: label_to_frames(v, args.fs, args.hop_length) for u, v in labels.items()}
    elif (dec / "durations").is_file():
        durs = {u: np.array([float(x) for x in v]) for u, v in read_table(dec / "durations", 1).items()}
    else:
        durs = {}
    spembs = OptionalScp(ref / "spembs.scp")
    # SyncNet sees the face track of stage 3 (face crops), never the mouth crops of lip.scp
    tracks = read_scp(ref / "face_track.scp") if (ref / "face_track.scp").is_file() else {}
    videos = read_scp(ref / "video.scp") if (ref / "video.scp").is_file() else {}

    def load(path: str, what: str):
        wav, sr = sf.read(resolve(path, gen_scp.parent if what == "generated" else ref), dtype="float32",
                          always_2d=True)
        if sr != args.fs:
            raise ValueError(f"{path}: {what} wav at {sr} Hz, expected --fs {args.fs}")
        return wav.mean(1)

    per_utt = []
    t_start = time.perf_counter()
    runtime_before = dict(scorer.runtime)
    for utt in sorted(gen_wavs):
        gen = load(gen_wavs[utt], "generated")
        ref_wav, reason, target = None, "", None
        if utt in ref_utt:
            reason = "reference set: no ground-truth audio of the target timbre (ref_utt names another utterance)"
            if scorer.wavlm is not None:
                p = _find_wav_of(ref_utt[utt][0], ref)
                target = load(p, "reference") if p else None
        elif utt in ref_wavs:
            ref_wav = target = load(ref_wavs[utt], "reference")
        else:
            reason = f"{utt} not in {ref / 'wav.scp'}"
        true_dur = label_to_frames(labels[utt], args.fs, args.hop_length) if utt in labels else None
        lip = None
        if scorer.syncnet is not None and utt in tracks and utt in videos:
            from espnet2_ext.metrics.lse import face_crops

            lip = face_crops(resolve(videos[utt], ref), np.load(resolve(tracks[utt], ref)))
        row = {"utt": utt, "ref_voice": ref_utt[utt][0] if utt in ref_utt else utt}
        row.update(scorer.score(gen, ref_wav, reason, spembs.get(utt), target, lip, durs.get(utt), true_dur))
        per_utt.append(row)
        logging.info("%s: %s", utt, {k: (round(row[k], 4) if row.get(k) is not None else None) for k in METRICS})
    if not per_utt:
        raise ValueError(f"{gen_scp}: no utterances")
    scores = aggregate(per_utt)
    scores.update({"decode_dir": str(dec), "ref_dir": str(ref), "gt_mode": bool(args.gt),
                   "cos_kind": scorer.cos_kind,
                   "runtime_sec": {k: round(v - runtime_before.get(k, 0.0), 2) for k, v in scorer.runtime.items()},
                   "total_sec": round(time.perf_counter() - t_start, 2)})
    if (dec / "timing").is_file():  # where the decode's durations came from (visual_svs_inference)
        sources = [v[0] for v in read_table(dec / "timing").values()]
        scores["timing"] = max(set(sources), key=sources.count) if sources else None
    if scores.get("ffe") is not None and ref_utt:
        scores["ffe_note"] = "F0 of the ground-truth singer"

    out = Path(args.out)
    if out.parent == Path("."):
        out = dec / out
    out.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(out.with_name(out.stem + "_per_utt.jsonl"),
                  "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in per_utt))
    _atomic_write(out, json.dumps(scores, indent=1, ensure_ascii=False) + "\n")
    logging.info("wrote %s: %s", out, {k: scores[k] for k in METRICS})

    if args.plots > 0:
        from espnet2_ext.bin.plot_decode import plot_decode_dir

        plot_decode_dir(dec, ref, args.fs, args.hop_length, n=args.plots, gt=args.gt)
    return scores


def main(cmd=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decode_dir", required=True, action="append", help="repeatable, paired with --ref_dir")
    parser.add_argument("--ref_dir", required=True, action="append", help="the reference dump dir of each --decode_dir")
    parser.add_argument("--fs", type=int, required=True)
    parser.add_argument("--hop_length", type=int, required=True)
    parser.add_argument("--syncnet_weights", default=None)
    parser.add_argument("--wavlm_dir", default=None)
    parser.add_argument("--plots", type=int, default=0, help="PNG plots for the first N utterances")
    parser.add_argument("--cache_dir", default=None,
                        help="keep the reference mel-cepstra / F0 here, shared by the runs that score the same references")
    parser.add_argument("--gt", action="store_true", help="score the reference wavs against themselves")
    parser.add_argument("--out", default="scores.json",
                        help="file name (inside --decode_dir unless it contains a directory)")
    parser.add_argument("--log_file", default=None,
                        help="also log each decode dir's scoring to <decode_dir>/<LOG_FILE> (e.g. logs/score.log)")
    args = parser.parse_args(cmd)
    if len(args.decode_dir) != len(args.ref_dir):
        parser.error(f"--decode_dir given {len(args.decode_dir)} times, --ref_dir {len(args.ref_dir)}: "
                     "give one --ref_dir per --decode_dir, in the same order")
    if len(args.decode_dir) > 1 and Path(args.out).parent != Path("."):
        parser.error(f"--out {args.out}: with several --decode_dir, --out is a file name inside each of them")
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s: %(message)s")
    logging.getLogger().setLevel(logging.INFO)  # also when the caller configured logging first
    import torch

    torch.set_num_threads(1)
    from espnet2_ext.eval.scoring import Scorer

    scorer = Scorer(args.fs, args.hop_length, args.syncnet_weights, args.wavlm_dir, cache_dir=args.cache_dir)
    for dec, ref in zip(args.decode_dir, args.ref_dir):
        handler = None
        if args.log_file:
            log_path = Path(dec) / args.log_file
            log_path.parent.mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(log_path, mode="w", encoding="utf-8")
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s: %(message)s"))
            logging.getLogger().addHandler(handler)
        try:
            logging.info("scoring %s against %s", dec, ref)
            score_dir(Path(dec), Path(ref), scorer, args)
        finally:
            if handler is not None:
                logging.getLogger().removeHandler(handler)
                handler.close()


if __name__ == "__main__":
    main()
