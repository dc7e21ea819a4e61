"""Stage 2: GE2E d-vector (256,) float32 of every wav of one scp -> kaldi ark (resemblyzer, CPU).

    python -m espnet2_ext.bin.extract_dvector --wav_scp dump/raw/train/wav.scp \
        --out_ark dump/raw/train/spembs.ark --out_scp dump/raw/train/spembs.scp
"""

import argparse
import logging
import sys

import soundfile as sf
from tqdm import tqdm

from espnet2_ext.utils.fileio import atomic_ark_scp, read_scp


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--wav_scp", required=True)
    p.add_argument("--out_ark", required=True)
    p.add_argument("--out_scp", required=True)
    a = p.parse_args(argv)
    from espnet2_ext.features.dvector import dvector

    try:
        rows = read_scp(a.wav_scp)
        with atomic_ark_scp(a.out_ark, a.out_scp) as w:
            for utt, path in tqdm(rows, desc="extract_dvector"):
                try:
                    wav, fs = sf.read(path, dtype="float32", always_2d=True)
                except Exception as e:  # noqa: BLE001
                    raise ValueError(f"{path}: unreadable or corrupt audio ({e})") from e
                w(utt, dvector(wav.mean(axis=1), fs, utt))
    except ValueError as e:
        logging.error("%s", e)
        sys.exit(1)
    logging.info("wrote d-vectors of %d utterances to %s", len(rows), a.out_scp)


if __name__ == "__main__":
    main()
