"""Which checkpoint of an exp dir is decoded: stage 7 of svs.sh and local/score_durations.py.

    "auto" -> <exp>/<phase>.<criterion>.ave.pth   espnet's trainer's average of the keep_nbest_models
                                                   best checkpoints by the first best_model_criterion
                                                   of <exp>/config.yaml (PerformSinger: valid.loss_synth)
           -> <exp>/<phase>.<criterion>.best.pth  when no average was written
    other  -> <exp>/<other>

    python -m espnet2_ext.utils.model_file <exp dir> [auto | <file>]   prints the path

Only yaml is imported, so the recipe's call costs no espnet start-up.
"""

import os
import sys

import yaml


def criterion(exp_dir: str) -> str:
    """``<phase>.<key>`` of the exp's first best_model_criterion (``valid.loss`` when its config.yaml
    names none or cannot be read, espnet's default)."""
    try:
        with open(os.path.join(exp_dir, "config.yaml"), encoding="utf-8") as f:
            conf = yaml.safe_load(f) or {}
        phase, key = (conf.get("best_model_criterion") or [["valid", "loss", "min"]])[0][:2]
    except (OSError, yaml.YAMLError, TypeError, ValueError, IndexError, AttributeError):
        phase, key = "valid", "loss"
    return f"{phase}.{key}"


def resolve_model_file(exp_dir: str, model_file: str = "auto") -> str:
    """The path of the checkpoint to decode (it need not exist: the caller reports a missing one)."""
    if model_file != "auto":
        return os.path.join(exp_dir, model_file)
    crit = criterion(exp_dir)
    ave = os.path.join(exp_dir, f"{crit}.ave.pth")
    return ave if os.path.isfile(ave) else os.path.join(exp_dir, f"{crit}.best.pth")


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: python -m espnet2_ext.utils.model_file <exp dir> [auto | <file>]")
    print(resolve_model_file(*sys.argv[1:]))
