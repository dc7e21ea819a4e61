"""Check that a lip-pretraining config builds the lip encoder an SVS config will load.

    python -m espnet2_ext.bin.check_lip_conf conf/lip_pretrain.yaml conf/train_performsinger.yaml

The recipe runs this before stage 5 starts the pretraining, so that a mismatch (e.g. a paper-size
SVS config with the demo-size pretraining config) fails at once, naming both files and the
differing options, instead of after stage one when stage 6 loads the weights.
Exit status 0 when they fit (or the SVS config has no lip encoder), 1 otherwise.
"""

import sys
from typing import Optional

from espnet2_ext.utils.config import load_config

from espnet2_ext.svs.lip_encoder import DEFAULT_CONF

COMPARED = [k for k in DEFAULT_CONF if k not in ("pretrained", "freeze")]


def lip_conf_mismatch(pretrain_config: str, svs_config: str) -> Optional[str]:
    """None when they fit, else a message naming both files and each differing option."""
    pre = load_config(pretrain_config).get("encoder_conf") or {}
    svs = (load_config(svs_config).get("svs_conf") or {}).get("lip_encoder_conf")
    if svs is None:  # no lip encoder in this system
        return None
    diff = []
    for k in COMPARED:
        a, b = pre.get(k, DEFAULT_CONF[k]), svs.get(k, DEFAULT_CONF[k])
        if a != b:
            diff.append(f"{k}: {a} vs {b}")
    if not diff:
        return None
    return (f"{pretrain_config} encoder_conf does not build the lip encoder of {svs_config} "
            f"(svs_conf.lip_encoder_conf): {'; '.join(diff)}. Pass a matching --lip_pretrain_config "
            f"(paper size: conf/tuning/lip_pretrain_paper.yaml) or set lip_encoder_conf.pretrained.")


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        sys.exit(__doc__)
    msg = lip_conf_mismatch(*argv)
    if msg:
        print(msg, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
