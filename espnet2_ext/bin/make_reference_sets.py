"""Decoding dump dirs for reference settings 2-4 (spembs.scp from another utterance).

    python -m espnet2_ext.bin.make_reference_sets --dump_dir dump/raw/test --out_dir dump/raw/test_ref2 \
        --setting 2 --seed 0 [--pool_dir dump/raw/test_ood] [--overwrite true]
setting 2: same singer, another utterance; 3: a different seen singer; 4: an unseen singer (--pool_dir).
"""

import argparse
import logging
import sys

from espnet2_ext.data.reference_sets import make_reference_set


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dump_dir", required=True)
    p.add_argument("--out_dir", required=True)
    p.add_argument("--setting", type=int, required=True, choices=[2, 3, 4])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--pool_dir", default=None, help="where references come from (default: --dump_dir)")
    p.add_argument("--overwrite", default="false", choices=["true", "false"])
    a = p.parse_args(argv)
    try:
        refs = make_reference_set(a.dump_dir, a.out_dir, a.setting, a.seed, a.pool_dir, a.overwrite == "true")
    except (ValueError, FileExistsError) as e:
        logging.error("%s", e)
        sys.exit(1)
    logging.info("setting %d: %d utterances -> %s", a.setting, len(refs), a.out_dir)


if __name__ == "__main__":
    main()
