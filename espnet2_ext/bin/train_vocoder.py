#!/usr/bin/env python3
"""Train a HiFi-GAN on the recipe's mel pipeline (see espnet2_ext.vocoder.train).

Usage:
    python -m espnet2_ext.bin.train_vocoder --wav_scp dump/raw/train/wav.scp \
        --fbank_conf conf/fbank.yaml|"{fs: 22050, n_fft: 1024, ...}" --out_dir exp/vocoder \
        --max_steps N [--init pretrained|none] [--resume] [--batch_size 4] [--segment_frames 32] [--ngpu 1]
Outputs <out_dir>/generator.pth (for --vocoder hifigan --vocoder_checkpoint) and checkpoint.pth.
"""

import argparse
import logging


def main(cmd=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wav_scp", required=True)
    parser.add_argument("--fbank_conf", required=True, help="YAML/JSON file or inline mapping")
    parser.add_argument("--out_dir", required=True)
    parser.add_argument("--max_steps", type=int, required=True)
    parser.add_argument("--init", choices=["pretrained", "none"], default="pretrained")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--batch_size", type=int, default=None)
    parser.add_argument("--segment_frames", type=int, default=None)
    parser.add_argument("--save_interval", type=int, default=None)
    parser.add_argument("--num_threads", type=int, default=1)
    parser.add_argument("--ngpu", type=int, default=0, help="0: CPU; 1: train on the GPU")
    args = parser.parse_args(cmd)
    from espnet2_ext.utils.device import device_for

    device = device_for(args.ngpu, "HiFi-GAN training")  # before any work
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s: %(message)s")
    import torch

    torch.set_num_threads(args.num_threads)
    from espnet2_ext.vocoder.train import train

    conf = {k: v for k, v in (("batch_size", args.batch_size), ("segment_frames", args.segment_frames),
                              ("save_interval", args.save_interval)) if v is not None}
    train(args.wav_scp, args.fbank_conf, args.out_dir, args.max_steps, init=args.init, resume=args.resume,
          train_conf=conf, device=str(device))


if __name__ == "__main__":
    main()
