"""Resynthesis check of the vocoders on real wavs.

    wav -> LogMelFbank (recipe conf) -> mel -> vocoder -> wav' -> LogMelFbank -> mel'
    report per vocoder: mean |mel - mel'| (log10 units, frames of both) and MCD-DTW (dB), runtime

Usage:
    .venv/bin/python bench/bench_vocoders.py --wav_scp dump/raw/test/wav.scp \
        --fbank_conf "{fs: 22050, ...}" [--vocoders griffin_lim hifigan_pretrained] [--n 3]
"""

import argparse
import json
import logging
import time

import numpy as np
import soundfile as sf
import torch


def main(cmd=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wav_scp", required=True)
    parser.add_argument("--fbank_conf", required=True)
    parser.add_argument("--vocoders", nargs="+", default=["griffin_lim", "hifigan_pretrained"])
    parser.add_argument("--checkpoint", default=None, help="for the 'hifigan' kind")
    parser.add_argument("--n", type=int, default=3)
    args = parser.parse_args(cmd)
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s: %(message)s")
    torch.set_num_threads(1)

    from espnet2.tts.feats_extract.log_mel_fbank import LogMelFbank

    from espnet2_ext.metrics.mcd import mcd_dtw
    from espnet2_ext.vocoder.build import build_vocoder
    from espnet2_ext.vocoder.mel_conf import load_fbank_conf

    conf = load_fbank_conf(args.fbank_conf)
    fbank = LogMelFbank(**conf)
    wavs = [line.split(maxsplit=1) for line in open(args.wav_scp, encoding="utf-8") if line.strip()][: args.n]
    result = {}
    for kind in args.vocoders:
        voc = build_vocoder(kind, conf, checkpoint=args.checkpoint)
        dists, mcds, secs, dur = [], [], 0.0, 0.0
        for _utt, path in wavs:
            audio, sr = sf.read(path.strip(), dtype="float32")
            with torch.no_grad():
                mel = fbank(torch.from_numpy(audio)[None])[0][0].numpy()
            t0 = time.perf_counter()
            out = voc(mel)
            secs += time.perf_counter() - t0
            dur += len(audio) / sr
            with torch.no_grad():
                mel2 = fbank(torch.from_numpy(out)[None])[0][0].numpy()
            t = min(len(mel), len(mel2))
            dists.append(float(np.abs(mel[:t] - mel2[:t]).mean()))
            mcds.append(mcd_dtw(out, audio, sr))
        result[kind] = {"mel_l1_log10": float(np.mean(dists)), "mcd_db": float(np.mean(mcds)),
                        "real_time_factor": secs / dur, "num_utts": len(wavs)}
        logging.info(f"{kind}: {result[kind]}")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
