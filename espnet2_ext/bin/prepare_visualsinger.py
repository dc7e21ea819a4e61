"""Stage 1: corpus in the VisualSinger layout -> data/{train,dev,test,test_ood} (docs/data_contract.md).

    python -m espnet2_ext.bin.prepare_visualsinger --corpus <dir> --out data \
        [--ood_singers "singerE singerF"] [--seed 0] [--tolerance 0.2] [--overwrite true]
    python -m espnet2_ext.bin.prepare_visualsinger --corpus <dir> --out data --set_name test_newlyrics \
        [--singers "singerA singerB"]         every utterance (of those singers) into data/<set_name>
"""

import argparse
import logging
import sys

from espnet2_ext.data.visualsinger import CorpusError, prepare


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", required=True)
    p.add_argument("--out", default="data")
    p.add_argument("--ood_singers", default=None,
                   help="space-separated held-out singers (default: the two last in sorted order)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tolerance", type=float, default=0.2, help="max audio/video/TextGrid length mismatch (s)")
    p.add_argument("--overwrite", default="false", choices=["true", "false"])
    p.add_argument("--singers", default=None, help="space-separated singers to take (default: all of the corpus)")
    p.add_argument("--set_name", default=None,
                   help="no split: every utterance into data/<set_name> (the other data dirs are left alone)")
    a = p.parse_args(argv)
    ood = a.ood_singers.split() if a.ood_singers and a.ood_singers.strip() else None
    try:
        counts = prepare(a.corpus, a.out, ood, a.seed, a.tolerance, a.overwrite == "true",
                         singers=a.singers.split() if a.singers else None, set_name=a.set_name)
    except (CorpusError, FileExistsError) as e:
        logging.error("%s", e)
        sys.exit(1)
    logging.info("done: %s", counts)


if __name__ == "__main__":
    main()
