#!/usr/bin/env python3
"""Per-utterance diagnostic plots of a decode directory (stage 8).

    feats.scp (generated mel) + GT wav -> LogMel   -> panel 1-2: GT mel | generated mel
    f0.scp (or parselmouth F0 of the wav) + score.scp notes -> panel 3: F0 vs note pitches
    attn/<utt>.npy (N, T_v)                                -> panel 4: fusion attention
    durations vs label + lip.scp crops                     -> panel 5: predicted (red) and true (green)
                                                              phone boundaries over a lip-frame strip
    -> <decode_dir>/plots/<utt>.png

Usage:
    python -m espnet2_ext.bin.plot_decode --decode_dir exp/svs_x/decode_y/test --ref_dir dump/raw/test \
        --fs 22050 --hop_length 256 [--n 4]
"""

import argparse
import logging
from pathlib import Path

from espnet2_ext.eval.decode_plot import plot_decode_dir


def main(cmd=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decode_dir", required=True)
    parser.add_argument("--ref_dir", required=True)
    parser.add_argument("--fs", type=int, required=True)
    parser.add_argument("--hop_length", type=int, required=True)
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--gt", action="store_true")
    args = parser.parse_args(cmd)
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s: %(message)s")
    plot_decode_dir(Path(args.decode_dir), Path(args.ref_dir), args.fs, args.hop_length, args.n, args.gt)


if __name__ == "__main__":
    main()
