"""The reference recordings of decode sets (ref_utt, ref_wav.scp; data/reference_sets.py).

    python -m espnet2_ext.bin.make_reference_sets --dump_dir dump/raw/test --setting 1
    python -m espnet2_ext.bin.make_reference_sets --dump_dir dump/raw/test --out_dir dump/raw/test_ref2 \
        --setting 2 --seed 0 [--pool_dir dump/raw/test_ood] [--overwrite true]
setting 1: each utterance's own recording, written into --dump_dir itself; 2: same singer, another
utterance; 3: a different seen singer; 4: an unseen singer (--pool_dir); 2-4 into --out_dir
(a copy of --dump_dir with spembs.scp of the references).
"""

import argparse
import logging
import sys

from espnet2_ext.data.reference_sets import make_reference_set, write_own_references


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dump_dir", required=True)
    p.add_argument("--out_dir", default=None,
                   help="settings 2-4: the new decode set (setting 1 writes into --dump_dir)")
    p.add_argument("--setting", type=int, required=True, choices=[1, 2, 3, 4])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--pool_dir", default=None, help="where references come from (default: --dump_dir)")
    p.add_argument("--overwrite", default="false", choices=["true", "false"])
    a = p.parse_args(argv)
    if (a.setting == 1) != (a.out_dir is None):
        p.error("--setting 1 writes into --dump_dir (no --out_dir); settings 2-4 need --out_dir")
    try:
        if a.setting == 1:
            refs = write_own_references(a.dump_dir)
            logging.info("setting 1: %d utterances, their own recordings -> %s/ref_wav.scp", len(refs), a.dump_dir)
            return
        refs = make_reference_set(a.dump_dir, a.out_dir, a.setting, a.seed, a.pool_dir, a.overwrite == "true")
    except (ValueError, FileExistsError) as e:
        logging.error("%s", e)
        sys.exit(1)
    logging.info("setting %d: %d utterances -> %s", a.setting, len(refs), a.out_dir)


if __name__ == "__main__":
    main()
