"""Fit PerformSinger's lip-reading heads on the frozen lip encoder (before stage two).

    python -m espnet2_ext.bin.fit_lip_reader --train_config conf/train_performsinger.yaml \\
        --lip_encoder exp/lip_pretrain/lip_encoder.pth --token_list dump/token_list/phn/tokens.txt \\
        --train_lip_scp dump/raw/train/lip.scp --train_label dump/raw/train/label \\
        --valid_lip_scp dump/raw/dev/lip.scp --valid_label dump/raw/dev/label \\
        --config conf/lip_reader_fit.yaml --out_dir exp/svs_performsinger/lip_reader [--seed K]

The encoder and head sizes and the number of heads come from the SVS config
(svs_conf.lip_encoder_conf, svs_conf.lip_reader_conf.hidden / heads), so the heads fit the model
that loads them with ``lip_reader_conf: {pretrained: <out_dir>/lip_reader.pth}``. Head j of K is
fitted with seed K * seed + j. Writes <out_dir>/lip_reader.pth (each head's best valid epoch),
<out_dir>/lip_reader.log.json, <out_dir>/fit.log. See espnet2_ext/lipread/head_fit.py.

``--cache_dir DIR`` keeps every finished fit under ``DIR/<key>/``, the key a SHA-256 of all the fit
reads: the encoder's weights and options, the heads' size and number, the token list, the fit
options (seed included), the device kind, and the label files, lip.scp files and every crop they
list. A fit whose key is there is copied instead of run (two systems of the same lip side and seed,
e.g. +SMA and VCFM-T, share their heads).
"""

import argparse
import hashlib
import json
import logging
import os
import shutil
import sys
from typing import Dict, List

from espnet2_ext.utils.config import load_config
from espnet2_ext.utils.device import device_for
from espnet2_ext.utils.fileio import read_scp
from espnet2_ext.utils.logfile import log_to


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train_config", required=True, help="the SVS config whose head is fitted")
    p.add_argument("--lip_encoder", default=None,
                   help="lip encoder weights (default: svs_conf.lip_encoder_conf.pretrained of --train_config)")
    p.add_argument("--token_list", required=True, help="the SVS token list (one token per line)")
    p.add_argument("--train_lip_scp", required=True)
    p.add_argument("--train_label", required=True)
    p.add_argument("--valid_lip_scp", required=True)
    p.add_argument("--valid_label", required=True)
    p.add_argument("--config", default=None, help="YAML of fit options (epochs, lr, batch_size, aug_views, seed, ...)")
    p.add_argument("--seed", type=int, default=None, help="overrides the config's seed")
    p.add_argument("--num_threads", type=int, default=None, help="overrides the config's num_threads (CPU threads)")
    p.add_argument("--out_dir", required=True)
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing <out_dir>/lip_reader.pth (and, without --resume, the heads' checkpoints)")
    p.add_argument("--resume", action="store_true",
                   help="continue every head after the last finished epoch of its checkpoint <out_dir>/heads/head<j>.pth")
    p.add_argument("--ngpu", type=int, default=0, help="0: CPU; 1: encoder and heads on the GPU")
    p.add_argument("--cache_dir", default=None,
                   help="reuse a finished fit of the same inputs from here, and keep this one here (module docstring)")
    return p


FIT_OUTPUTS = ("lip_reader.pth", "lip_reader.log.json")


def _sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fit_key(enc_conf: Dict, weights: str, head_conf: Dict, tokens: List[str], fit_conf: Dict, device: str,
            data: Dict[str, str]) -> str:
    """SHA-256 of everything a fit reads (module docstring): equal keys give equal heads."""
    files = {}
    for name, path in sorted(data.items()):
        files[name] = _sha256_file(path)
        if name.endswith("lip_scp"):
            files[name + ".crops"] = [_sha256_file(crop) for _, crop in read_scp(path)]
    record = dict(encoder={k: v for k, v in enc_conf.items() if k != "pretrained"}, weights=_sha256_file(weights),
                  heads=dict(hidden=int(head_conf.get("hidden", 64)), heads=int(head_conf.get("heads", 1))),
                  tokens=tokens, fit=fit_conf, device=device.split(":")[0], data=files)
    return hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()


def reuse_fit(cache: str, out_dir: str) -> bool:
    """Copy a cached fit into out_dir; False when the cache holds none."""
    if not all(os.path.isfile(os.path.join(cache, f)) for f in FIT_OUTPUTS):
        return False
    os.makedirs(out_dir, exist_ok=True)
    for f in FIT_OUTPUTS:
        shutil.copy2(os.path.join(cache, f), os.path.join(out_dir, f))
    return True


def keep_fit(out_dir: str, cache: str) -> None:
    """Copy a finished fit into the cache, whole or not at all (a temporary dir, then a rename)."""
    if os.path.isdir(cache):
        return
    tmp = f"{cache}.tmp{os.getpid()}"
    os.makedirs(tmp, exist_ok=True)
    for f in FIT_OUTPUTS:
        shutil.copy2(os.path.join(out_dir, f), os.path.join(tmp, f))
    try:
        os.rename(tmp, cache)
    except OSError:  # another job kept the same fit meanwhile
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv=None) -> None:
    args = get_parser().parse_args(argv)
    device = device_for(args.ngpu, "the lip-reading head fit")  # before any work
    out = os.path.join(args.out_dir, "lip_reader.pth")
    svs_conf = load_config(args.train_config).get("svs_conf") or {}
    enc_conf = dict(svs_conf.get("lip_encoder_conf") or {})
    head_conf = svs_conf.get("lip_reader_conf")
    if not svs_conf.get("use_visual") or head_conf is None:
        sys.exit(f"{args.train_config}: svs_conf has no lip-reading head (needs use_visual: true and lip_reader_conf)")
    weights = args.lip_encoder or enc_conf.get("pretrained")
    if not weights:
        sys.exit(f"{args.train_config}: no lip encoder weights (lip_encoder_conf.pretrained): pass --lip_encoder")
    if os.path.exists(out) and not args.overwrite:
        sys.exit(f"{out} exists: pass --overwrite to replace it, or use another --out_dir")
    heads_dir = os.path.join(args.out_dir, "heads")
    if not args.resume and not args.overwrite and os.path.isdir(heads_dir) and os.listdir(heads_dir):
        sys.exit(f"{heads_dir} holds the checkpoints of an earlier fit: pass --resume to continue it, "
                 "--overwrite to start over, or use another --out_dir")
    with open(args.token_list, encoding="utf-8") as f:
        tokens = [line.strip() for line in f if line.strip()]
    fit_conf = load_config(args.config) if args.config else {}
    if args.seed is not None:
        fit_conf["seed"] = args.seed
    if args.num_threads is not None:
        fit_conf["num_threads"] = args.num_threads
    os.makedirs(args.out_dir, exist_ok=True)
    log_to(os.path.join(args.out_dir, "fit.log"))  # run.pl may already send stderr there
    data = dict(train_lip_scp=args.train_lip_scp, train_label=args.train_label,
                valid_lip_scp=args.valid_lip_scp, valid_label=args.valid_label)
    cache = None
    if args.cache_dir:
        cache = os.path.join(args.cache_dir, fit_key(enc_conf, weights, head_conf, tokens, fit_conf, str(device), data))
        if reuse_fit(cache, args.out_dir):
            logging.info(f"done in 0 s: reused the fit in {cache} (same encoder, heads, tokens, data and fit options) -> {out}")
            return
    from espnet2_ext.lipread.head_fit import fit_lip_reader
    from espnet2_ext.svs.lip_encoder import LipEncoder

    encoder = LipEncoder({**enc_conf, "pretrained": weights, "freeze": True})
    log = fit_lip_reader(encoder, tokens, int(head_conf.get("hidden", 64)), data, out, fit_conf,
                         heads=int(head_conf.get("heads", 1)), device=str(device), resume=args.resume)
    if cache:
        keep_fit(args.out_dir, cache)
    kept = log["kept"]
    logging.info(f"done in {log['seconds']:.0f} s: {len(log['heads'])} head(s), best epochs "
                 f"{[h['best_epoch'] for h in log['heads']]}, valid loss {kept['valid_loss']:.4f}, "
                 f"valid frame acc {kept['valid_frame_acc']:.4f} -> {out}")


if __name__ == "__main__":
    main()
