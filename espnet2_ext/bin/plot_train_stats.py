"""Plot a finished espnet training's per-epoch statistics once, from its checkpoint.

    python -m espnet2_ext.bin.plot_train_stats --exp_dir exp/svs_performsinger

espnet's trainer redraws every curve after every epoch (``use_matplotlib``), which costs ~5 s
per epoch on a CPU; the demo configs turn that off and the recipe calls this tool after training
instead. It reads the reporter state kept in ``<exp_dir>/checkpoint.pth`` and writes the same
``<exp_dir>/images/<stat>.png`` files the trainer would have written.
"""

import argparse
import logging
import os
import sys
from pathlib import Path


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exp_dir", required=True, help="espnet output_dir holding checkpoint.pth")
    p.add_argument("--out_dir", default=None, help="default: <exp_dir>/images")
    return p


def plot_train_stats(exp_dir: str, out_dir: str = None) -> int:
    """Writes one PNG per statistic; returns how many."""
    from espnet2.train.reporter import Reporter

    from espnet2_ext.utils.checkpoint_io import ESPNET_TRAINER_CHECKPOINT, load_checkpoint

    ckpt = os.path.join(exp_dir, "checkpoint.pth")
    if not os.path.isfile(ckpt):
        raise FileNotFoundError(f"{ckpt} not found: pass the output_dir of a training run (--exp_dir)")
    state = load_checkpoint(ckpt, allow=ESPNET_TRAINER_CHECKPOINT, what="espnet trainer checkpoint")
    if "reporter" not in state:
        raise ValueError(f"{ckpt} holds no 'reporter' state (keys: {sorted(state)}): not an espnet trainer checkpoint")
    reporter = Reporter()
    reporter.load_state_dict(state["reporter"])
    out = Path(out_dir or os.path.join(exp_dir, "images"))
    reporter.matplotlib_plot(out)
    return len(list(out.glob("*.png")))


def main(argv=None) -> None:
    args = get_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    n = plot_train_stats(args.exp_dir, args.out_dir)
    logging.info(f"{n} training curves -> {args.out_dir or os.path.join(args.exp_dir, 'images')}")


if __name__ == "__main__":
    main()
