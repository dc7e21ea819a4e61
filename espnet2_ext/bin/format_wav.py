"""Stage 2: format the wavs of one scp as mono PCM_16 at --fs.

    python -m espnet2_ext.bin.format_wav --in_scp data/train/wav.scp --out_dir dump/raw/train/wav \
        --out_scp dump/raw/train/wav.scp --fs 22050
"""

import argparse
import logging
import sys
from pathlib import Path

from tqdm import tqdm

from espnet2_ext.features.format_wav import format_wav
from espnet2_ext.utils.fileio import atomic_write_text, read_scp


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--in_scp", required=True)
    p.add_argument("--out_dir", required=True)
    p.add_argument("--out_scp", required=True)
    p.add_argument("--fs", type=int, required=True)
    a = p.parse_args(argv)
    out_dir = Path(a.out_dir).absolute()
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    try:
        for utt, src in tqdm(read_scp(a.in_scp), desc="format_wav"):
            dst = out_dir / f"{utt}.wav"
            format_wav(src, dst, a.fs, utt)
            lines.append(f"{utt} {dst}\n")
    except ValueError as e:
        logging.error("%s", e)
        sys.exit(1)
    atomic_write_text(a.out_scp, "".join(lines))
    logging.info("wrote %d wavs to %s", len(lines), out_dir)


if __name__ == "__main__":
    main()
