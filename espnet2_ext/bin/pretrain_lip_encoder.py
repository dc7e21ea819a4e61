"""Pretrain the lip encoder on frame-level phone classification (no LRW weights needed).

    python -m espnet2_ext.bin.pretrain_lip_encoder \
        --train_lip_scp dump/raw/train/lip.scp --train_label dump/raw/train/label \
        --valid_lip_scp dump/raw/dev/lip.scp --valid_label dump/raw/dev/label \
        --config conf/lip_pretrain.yaml --out_dir exp/lip_pretrain [--resume] [--ngpu 1]

Writes <out_dir>/lip_encoder.pth (load with lip_encoder_conf: {pretrained: <path>}),
<out_dir>/log.json (per-epoch valid frame accuracy), <out_dir>/train.log, <out_dir>/checkpoint.pth.
"""

import argparse
import logging
import os

from espnet2_ext.utils.config import load_config

from espnet2_ext.utils.device import check_ngpu
from espnet2_ext.utils.logfile import log_to


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train_lip_scp", required=True)
    p.add_argument("--train_label", required=True)
    p.add_argument("--valid_lip_scp", required=True)
    p.add_argument("--valid_label", required=True)
    p.add_argument("--config", required=True, help="YAML: encoder_conf, head_hidden, epochs, lr, batch_size, ...")
    p.add_argument("--out_dir", required=True)
    p.add_argument("--resume", action="store_true", help="continue from <out_dir>/checkpoint.pth")
    p.add_argument("--ngpu", type=int, default=0, help="0: CPU; 1: train on the GPU (config use_amp: mixed precision)")
    return p


def main(argv=None) -> None:
    args = get_parser().parse_args(argv)
    check_ngpu(args.ngpu, "lip-reading pretraining")
    os.makedirs(args.out_dir, exist_ok=True)
    log_to(os.path.join(args.out_dir, "train.log"))  # run.pl may already send stderr there
    conf = load_config(args.config)
    from espnet2_ext.lipread.trainer import train

    log = train(args, conf)
    last = log["epochs"][-1] if log["epochs"] else None
    logging.info(f"done: {len(log['epochs'])} epochs, last valid frame acc {last and last['valid_frame_acc']}, chance {log['chance']}")


if __name__ == "__main__":
    main()
