#!/usr/bin/env python3
"""Stage 9: pack a trained system into one zip that loads anywhere (espnet2_ext/api/pack.py).

    python -m espnet2_ext.bin.pack_model --exp_dir exp/svs_performsinger \
        --out exp/svs_performsinger/packed/performsinger.zip [--model_file auto] \
        [--vocoder griffin_lim] [--vocoder_checkpoint exp/vocoder/generator.pth] \
        --lip_report dump/raw/train/lip_report.json [--decode_config conf/decode_fast.yaml]

The pack's meta.yaml records the vocoder, stage 3's explicit lip front end (the ``roi_conf`` of
the training set's lip_report.json, or --roi_conf), stage 2's F0 extractor and d-vector encoder
and the decoding options; ``perform`` / ``Performer.from_pretrained`` rebuild each of them.
"""

import argparse
import json
import logging
import sys
import zipfile
from pathlib import Path

import yaml

from espnet2_ext.api.pack import PACKED_DECODE_KEYS, PackError, write_pack


def _roi_conf(lip_report, roi_conf) -> dict:
    """The explicit lip front end of --lip_report (its roi_conf) or of --roi_conf; PackError naming the file."""
    if (lip_report is None) == (roi_conf is None):
        raise PackError("give one of --lip_report (stage 3's lip_report.json of the training set) and --roi_conf")
    if roi_conf is not None:
        try:
            return json.loads(roi_conf)
        except json.JSONDecodeError as e:
            raise PackError(f"--roi_conf: not JSON ({e.msg})") from e
    try:
        rep = json.loads(Path(lip_report).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise PackError(f"{lip_report}: cannot read the lip report ({e})") from e
    if not isinstance(rep, dict) or not rep.get("roi_conf"):
        raise PackError(f"{lip_report}: records no roi_conf (written before stage 3 recorded its front end): "
                        "run stage 3 again (delete the set's .lip.done)")
    return rep["roi_conf"]


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exp_dir", required=True)
    p.add_argument("--out", required=True, help="the zip to write")
    p.add_argument("--model_file", default="auto", help="auto: the checkpoint stage 7 decodes")
    p.add_argument("--vocoder", default="griffin_lim", help="the vocoder perform uses by default")
    p.add_argument("--vocoder_checkpoint", default=None, help="a HiFi-GAN generator to ship in the pack")
    p.add_argument("--lip_report", default=None,
                   help="stage 3's lip_report.json of the training set: its roi_conf is packed")
    p.add_argument("--roi_conf", default=None,
                   help="JSON of an explicit lip front end instead of --lip_report (front_end mediapipe or haar)")
    p.add_argument("--decode_config", default=None,
                   help="stage 7's decode YAML: its sampler / steps / seed / F0 sampler and steps / precision")
    a = p.parse_args(argv)
    try:
        decode = None
        if a.decode_config:
            with open(a.decode_config, encoding="utf-8") as f:
                decode = {k: v for k, v in (yaml.safe_load(f) or {}).items() if k in PACKED_DECODE_KEYS}
        out = write_pack(a.exp_dir, a.out, a.model_file, a.vocoder, a.vocoder_checkpoint,
                         _roi_conf(a.lip_report, a.roi_conf), decode)
    except (PackError, OSError, ValueError) as e:
        logging.error("%s", e)
        sys.exit(1)
    with zipfile.ZipFile(out) as zf:
        size = sum(i.file_size for i in zf.infolist())
        logging.info("%s: %d members, %.1f MB: %s", out, len(zf.infolist()), size / 1e6,
                     ", ".join(zf.namelist()))


if __name__ == "__main__":
    main()
