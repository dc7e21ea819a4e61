#!/usr/bin/env python3
"""Stage 9: pack a trained system into one zip that loads anywhere (espnet2_ext/api/pack.py).

    python -m espnet2_ext.bin.pack_model --exp_dir exp/svs_performsinger \
        --out exp/svs_performsinger/packed/performsinger.zip [--model_file auto] \
        [--vocoder griffin_lim] [--vocoder_checkpoint exp/vocoder/generator.pth] \
        [--crop_scale 0.65] [--decode_config conf/decode_fast.yaml]

The pack's meta.yaml records the vocoder, stage 3's crop scale and the decoding options, which
``perform`` / ``Performer.from_pretrained`` use by default.
"""

import argparse
import logging
import sys
import zipfile

import yaml

from espnet2_ext.api.pack import PACKED_DECODE_KEYS, PackError, write_pack


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exp_dir", required=True)
    p.add_argument("--out", required=True, help="the zip to write")
    p.add_argument("--model_file", default="auto", help="auto: the checkpoint stage 7 decodes")
    p.add_argument("--vocoder", default="griffin_lim", help="the vocoder perform uses by default")
    p.add_argument("--vocoder_checkpoint", default=None, help="a HiFi-GAN generator to ship in the pack")
    p.add_argument("--crop_scale", type=float, default=0.65, help="stage 3's crop side / face width")
    p.add_argument("--decode_config", default=None,
                   help="stage 7's decode YAML: its sampler / steps / seed / F0 sampler and steps / precision")
    a = p.parse_args(argv)
    try:
        decode = None
        if a.decode_config:
            with open(a.decode_config, encoding="utf-8") as f:
                decode = {k: v for k, v in (yaml.safe_load(f) or {}).items() if k in PACKED_DECODE_KEYS}
        out = write_pack(a.exp_dir, a.out, a.model_file, a.vocoder, a.vocoder_checkpoint,
                         {"crop_scale": a.crop_scale}, decode)
    except (PackError, OSError) as e:
        logging.error("%s", e)
        sys.exit(1)
    with zipfile.ZipFile(out) as zf:
        size = sum(i.file_size for i in zf.infolist())
        logging.info("%s: %d members, %.1f MB: %s", out, len(zf.infolist()), size / 1e6,
                     ", ".join(zf.namelist()))


if __name__ == "__main__":
    main()
