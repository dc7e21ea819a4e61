"""Score a lip encoder and its fitted lip-reading heads on one set, without the SVS model.

    python -m espnet2_ext.bin.eval_lip_reader --lip_scp dump/raw/test/lip.scp --label dump/raw/test/label \\
        --lip_encoder exp/lip_pretrain/lip_encoder.pth --lip_reader exp/svs_performsinger/lip_reader \\
        [--fs 22050 --hop_length 256 --video_fps 25] [--out exp/lip_eval/test.json]

Prints (and with --out writes as JSON, with per-utterance scores) the frame accuracy of the heads'
mean posterior, the phone-duration MAE in mel and video frames, and the fraction of inner phone
boundaries within 40 ms of the heads' forced alignment with the duration prior off (see
espnet2_ext/lipread/evaluate.py). --lip_reader is lip_reader.pth or the directory holding it; the
encoder's options are the ones saved with its weights (this project's layout), or --encoder_conf.
"""

import argparse
import json
import logging
import os
import sys

import yaml

from espnet2_ext.utils.fileio import atomic_json


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lip_scp", required=True, help="<utt> <crops.npy> (T_v, 96, 96) uint8, 25 fps")
    p.add_argument("--label", required=True, help="<utt> st et ph ... (seconds), the ground-truth phones")
    p.add_argument("--lip_encoder", required=True, help="lip encoder weights (e.g. exp/lip_pretrain/lip_encoder.pth)")
    p.add_argument("--lip_reader", required=True, help="lip_reader.pth of fit_lip_reader, or its directory")
    p.add_argument("--encoder_conf", default=None,
                   help="YAML mapping of lip_encoder_conf (default: the options saved with --lip_encoder)")
    p.add_argument("--fs", type=int, default=22050)
    p.add_argument("--hop_length", type=int, default=256, help="mel hop: durations are scored in mel frames")
    p.add_argument("--video_fps", type=float, default=25.0)
    p.add_argument("--batch_size", type=int, default=16)
    p.add_argument("--num_threads", type=int, default=1)
    p.add_argument("--out", default=None, help="JSON of the summary and the per-utterance scores")
    return p


def load_models(lip_encoder: str, lip_reader: str, encoder_conf=None):
    """-> (frozen LipEncoder, LipReadingHeads, class names) from the two checkpoints."""
    from espnet2_ext.svs.lip_checkpoint import read_lip_state
    from espnet2_ext.svs.lip_encoder import LipEncoder
    from espnet2_ext.svs.lip_reading_head import LipReadingHeads, load_lip_reader, read_lip_reader

    if os.path.isdir(lip_reader):
        lip_reader = os.path.join(lip_reader, "lip_reader.pth")
    conf = dict(encoder_conf) if encoder_conf is not None else read_lip_state(lip_encoder)[2]
    if not conf and encoder_conf is None:
        sys.exit(f"{lip_encoder} saves no encoder options (public LRW layout): pass --encoder_conf")
    encoder = LipEncoder({**conf, "pretrained": lip_encoder, "freeze": True})
    obj = read_lip_reader(lip_reader)
    heads = LipReadingHeads(obj["visual_dim"], len(obj["classes"]), obj["hidden"], len(obj["state_dicts"]))
    classes = load_lip_reader(heads, lip_reader)
    if obj["visual_dim"] != encoder.output_dim:
        sys.exit(f"{lip_reader}: heads read {obj['visual_dim']}-dim features, {lip_encoder} gives {encoder.output_dim}")
    return encoder, heads, classes


def main(argv=None) -> None:
    args = get_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    import torch

    from espnet2_ext.lipread.evaluate import evaluate_lip_reader

    torch.set_num_threads(args.num_threads)
    enc_conf = yaml.safe_load(args.encoder_conf) if args.encoder_conf else None
    encoder, heads, classes = load_models(args.lip_encoder, args.lip_reader, enc_conf)
    res = evaluate_lip_reader(encoder, heads, classes, args.lip_scp, args.label, args.fs, args.hop_length,
                              args.video_fps, args.batch_size)
    res["inputs"] = dict(lip_scp=args.lip_scp, label=args.label, lip_encoder=args.lip_encoder,
                         lip_reader=args.lip_reader)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        atomic_json(res, args.out)
    print(json.dumps(res["summary"]))


if __name__ == "__main__":
    main()
