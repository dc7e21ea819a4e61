#!/usr/bin/env python3
"""Train an SVS model with the lip stream (espnet's trainer; see ``--help``)."""

import espnet2_ext  # noqa: F401  (must come first: registers classes, silences nltk)
from espnet2_ext.tasks.visual_svs import VisualSVSTask


def get_parser():
    return VisualSVSTask.get_parser()


def main(cmd=None):
    """Run ``VisualSVSTask`` training.

    Example:
        % python -m espnet2_ext.bin.visual_svs_train --print_config --svs performsinger
        % python -m espnet2_ext.bin.visual_svs_train --config conf/train_performsinger.yaml ...
    """
    VisualSVSTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
