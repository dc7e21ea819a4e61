#!/usr/bin/env python3
"""Make a control decoding set whose lip video is shuffled in time or taken from another utterance.

Example:
    python -m espnet2_ext.bin.make_lip_control_set --dump_dir dump/raw/test \\
        --out_dir dump/raw/test_lipshuffle --mode shuffle --seed 0
"""

import argparse
import logging

from espnet2_ext.data.lip_control import MODES, make_lip_control_set


def main(cmd=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dump_dir", required=True, help="dump dir with lip.scp (stage 3)")
    parser.add_argument("--out_dir", required=True)
    parser.add_argument("--mode", required=True, choices=MODES)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(cmd)
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s: %(message)s")
    make_lip_control_set(args.dump_dir, args.out_dir, args.mode, args.seed)
    logging.info("%s -> %s (%s)", args.dump_dir, args.out_dir, args.mode)


if __name__ == "__main__":
    main()
