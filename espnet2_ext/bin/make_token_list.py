"""The phone token list of a training set (stage 4 of the recipe).

    python -m espnet2_ext.bin.make_token_list --text dump/raw/train/text --out dump/token_list/phn/tokens.txt

    <text>: <utt> phone phone ...  ->  <blank>, <unk>, every phone once (sorted by code point),
                                       <sos/eos>; one per line, written atomically.
"""

import argparse
import os
from typing import List, Optional

from espnet2_ext.utils.fileio import atomic_write_text


def token_list(text_path: str) -> List[str]:
    phones = set()
    with open(text_path, encoding="utf-8") as f:
        for line in f:
            phones.update(t for t in line.rstrip("\n").split(" ")[1:] if t)
    return ["<blank>", "<unk>", *sorted(phones), "<sos/eos>"]


def main(argv: Optional[List[str]] = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--text", required=True, help="the training set's text (<utt> phones...)")
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    atomic_write_text(a.out, "".join(f"{t}\n" for t in token_list(a.text)))


if __name__ == "__main__":
    main()
