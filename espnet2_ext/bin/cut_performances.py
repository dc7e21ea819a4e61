"""Cut song-level performance videos into the utterance-level VisualSinger layout.

    python -m espnet2_ext.bin.cut_performances --raw <raw_dir> --out <corpus_dir> [--fs 0]
"""

import argparse
import logging
import sys

from espnet2_ext.data.cut_performances import cut_performances


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--raw", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--fs", type=int, default=0, help="audio rate of the cut wavs (0 = keep the song's)")
    a = p.parse_args(argv)
    try:
        n = cut_performances(a.raw, a.out, a.fs)
    except (ValueError, RuntimeError) as e:
        logging.error("%s", e)
        sys.exit(1)
    logging.info("cut %d utterances into %s", n, a.out)


if __name__ == "__main__":
    main()
