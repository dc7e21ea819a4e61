"""Print the data arguments of a statistics collection or a training, from the dump streams.

    python -m espnet2_ext.bin.data_args --use train --config conf/train_performsinger.yaml \\
        --train_dir dump/raw/train --valid_dir dump/raw/dev \\
        --train_shape_file exp/svs_stats_raw_phn/train/singing_shape \\
        --valid_shape_file exp/svs_stats_raw_phn/valid/singing_shape
    -> --train_data_path_and_name_and_type dump/raw/train/text,text,text ... --train_shape_file ...
       --valid_data_path_and_name_and_type ... --valid_shape_file ...

The streams are those of espnet2_ext/tasks/dump_streams.py for the use (stats or train); lip.scp
joins a training when the system of ``--config`` reads lips (SystemNeeds.reads_lips). One line,
words separated by spaces, for the shell to pass on.
"""

import argparse
import sys
from typing import List, Optional

from espnet2_ext.tasks.dump_streams import triples
from espnet2_ext.tasks.registry import needs_of_config
from espnet2_ext.utils.config import ConfigError


def data_args(use: str, dirs: dict, shape_files: dict, lip: bool) -> List[str]:
    """``--<key>_data_path_and_name_and_type`` of every stream, then ``--<key>_shape_file``, per key."""
    words: List[str] = []
    for key in ("train", "valid"):
        for path, name, kind in triples(dirs[key], use, lip=lip):
            words += [f"--{key}_data_path_and_name_and_type", f"{path},{name},{kind}"]
        words += [f"--{key}_shape_file", shape_files[key]]
    return words


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--use", choices=("stats", "train"), required=True)
    p.add_argument("--config", default=None, help="with --use train: the training config (lip.scp if it reads lips)")
    for key in ("train", "valid"):
        p.add_argument(f"--{key}_dir", required=True, help=f"the {key} set's dump dir")
        p.add_argument(f"--{key}_shape_file", required=True)
    a = p.parse_args(argv)
    if a.use == "train" and a.config is None:
        p.error("--use train needs --config (whether the system reads lips)")
    try:
        lip = a.use == "train" and needs_of_config(a.config).reads_lips
    except ConfigError as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1
    words = data_args(a.use, {"train": a.train_dir, "valid": a.valid_dir},
                      {"train": a.train_shape_file, "valid": a.valid_shape_file}, lip)
    print(" ".join(words))
    return 0


if __name__ == "__main__":
    sys.exit(main())
