#!/usr/bin/env python3
"""Stage 8: score a decode directory against the reference dump (eval/score_decode.py).

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
import logging
from pathlib import Path


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
    from espnet2_ext.eval.score_decode import score_dirs
    from espnet2_ext.eval.scoring import Scorer

    scorer = Scorer(args.fs, args.hop_length, args.syncnet_weights, args.wavlm_dir, cache_dir=args.cache_dir)
    score_dirs(list(zip(args.decode_dir, args.ref_dir)), scorer, args.fs, args.hop_length, gt=args.gt,
               out=args.out, plots=args.plots, log_file=args.log_file)


if __name__ == "__main__":
    main()
