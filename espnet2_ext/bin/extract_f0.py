"""Stage 2: F0 (Hz, 0 = unvoiced) of every wav of one scp -> kaldi ark, (1 + N // hop, 1) float32.

    python -m espnet2_ext.bin.extract_f0 --wav_scp dump/raw/train/wav.scp --fs 22050 --hop_length 256 \
        --out_ark dump/raw/train/pitch.ark --out_scp dump/raw/train/pitch.scp [--f0_min 60 --f0_max 1000]
"""

import argparse
import logging
import sys

from tqdm import tqdm

from espnet2_ext.features.f0 import extract_f0
from espnet2_ext.features.format_wav import load_mono
from espnet2_ext.utils.fileio import atomic_ark_scp, read_scp


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--wav_scp", required=True)
    p.add_argument("--fs", type=int, required=True)
    p.add_argument("--hop_length", type=int, default=256)
    p.add_argument("--f0_min", type=float, default=60.0)
    p.add_argument("--f0_max", type=float, default=1000.0)
    p.add_argument("--out_ark", required=True)
    p.add_argument("--out_scp", required=True)
    a = p.parse_args(argv)
    try:
        rows = read_scp(a.wav_scp)
        with atomic_ark_scp(a.out_ark, a.out_scp) as w:
            for utt, path in tqdm(rows, desc="extract_f0"):
                w(utt, extract_f0(load_mono(path, a.fs, utt), a.fs, a.hop_length, a.f0_min, a.f0_max))
    except ValueError as e:
        logging.error("%s", e)
        sys.exit(1)
    logging.info("wrote F0 of %d utterances to %s", len(rows), a.out_scp)


if __name__ == "__main__":
    main()
