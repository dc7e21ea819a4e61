"""One stage-2 feature job: a function of every wav of an scp -> a kaldi ark and its scp.

    <wav_scp>  <utt> <wav>  --fn(utt, wav path)--> float32 array  --> <out_ark>, <out_scp>
                                                                      (utils/fileio.atomic_ark_scp)

Bad input (a bad scp line, an unreadable wav: a ValueError naming the file) is one error line and
exit status 1, and neither output is written. bin/extract_f0.py and bin/extract_dvector.py are
its two commands.
"""

import argparse
import logging
import sys
from typing import Callable

import numpy as np
from tqdm import tqdm

from espnet2_ext.utils.fileio import atomic_ark_scp, read_scp


def ark_job_parser(description: str) -> argparse.ArgumentParser:
    """The options every job has: --wav_scp, --out_ark, --out_scp (logging set up to INFO)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--wav_scp", required=True)
    p.add_argument("--out_ark", required=True)
    p.add_argument("--out_scp", required=True)
    return p


def run_ark_job(a: argparse.Namespace, fn: Callable[[str, str], np.ndarray], what: str) -> None:
    """``fn(utt, wav path)`` of every line of ``a.wav_scp`` into ``a.out_ark`` / ``a.out_scp``."""
    try:
        rows = read_scp(a.wav_scp)
        with atomic_ark_scp(a.out_ark, a.out_scp) as w:
            for utt, path in tqdm(rows, desc=f"extract {what}"):
                w(utt, fn(utt, path))
    except ValueError as e:
        logging.error("%s", e)
        sys.exit(1)
    logging.info("wrote %s of %d utterances to %s", what, len(rows), a.out_scp)
