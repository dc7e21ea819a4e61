"""Stage 1 of --stage_one_corpora: audio-only corpora -> data/<name>_train (docs/corpora.md).

    python -m espnet2_ext.bin.prepare_stage_one_corpora \
        --corpora "opencpop:/data/Opencpop m4singer:/data/m4singer" --out data --fs 22050 [--nj 2] \
        [--tolerance 0.05] [--overwrite true]
    python -m espnet2_ext.bin.prepare_stage_one_corpora --corpora "..." --print_corpora
                                   the corpora checked and written out in full, nothing else:
                                   "opencpop=opencpop:/data/Opencpop m4singer=m4singer:/data/m4singer"

--corpora: entries "[<name>=]<layout>:<dir>" (layouts opencpop, m4singer), separated by spaces or
commas; <name> (default: the layout) names data/<name>_train and prefixes its speakers. Every bad
line of every corpus is reported (file and line, M4Singer: meta.json and the item's index), and
nothing is written until all of them read cleanly.
"""

import argparse
import logging
import re
import sys

from espnet2_ext.data.audio_corpus import DEFAULT_TOLERANCE, parse_corpora, prepare_corpus, read_corpus
from espnet2_ext.data.visualsinger import CorpusError


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpora", required=True, help='"[<name>=]<layout>:<dir> ..." (layouts: opencpop, m4singer)')
    p.add_argument("--out", default="data")
    p.add_argument("--fs", type=int, default=22050, help="rate of the written wavs (the recipe's fs)")
    p.add_argument("--nj", type=int, default=1, help="processes converting the recordings")
    p.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE,
                   help="max difference (s) between a line's phone durations and its recording")
    p.add_argument("--overwrite", default="false", choices=["true", "false"])
    p.add_argument("--print_corpora", action="store_true",
                   help="print the corpora as <name>=<layout>:<absolute dir> and exit (svs.sh reads them so)")
    a = p.parse_args(argv)
    try:
        corpora = parse_corpora(a.corpora)
    except ValueError as e:
        logging.error("%s", e)
        sys.exit(1)
    if a.print_corpora:
        spaced = [str(root.absolute()) for _, _, root in corpora if re.search(r"[\s,]", str(root.absolute()))]
        if spaced:
            logging.error("--stage_one_corpora: %s: the recipe takes corpus dirs without spaces or commas "
                          "(link them from another path)", spaced[0])
            sys.exit(1)
        print(" ".join(f"{name}={layout}:{root.absolute()}" for name, layout, root in corpora))
        return
    checked, failed = [], []
    for name, layout, root in corpora:  # every corpus checked before any is written
        try:
            checked.append((name, layout, root, read_corpus(name, layout, root, a.tolerance)))
        except CorpusError as e:
            failed.append(str(e))
    for e in failed:
        logging.error("%s", e)
    if failed:
        sys.exit(1)
    try:
        for name, layout, root, records in checked:
            prepare_corpus(name, layout, root, a.out, a.fs, a.tolerance, a.nj, a.overwrite == "true", records)
    except (CorpusError, FileExistsError) as e:
        logging.error("%s", e)
        sys.exit(1)


if __name__ == "__main__":
    main()
