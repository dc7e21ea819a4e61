#!/usr/bin/env python3
"""The paper's GT row: ground-truth singing through the recipe's mel pipeline and vocoder.

    wav.scp -> espnet LogMelFbank (the training mel configuration) -> vocoder -> wav
    label   -> ground-truth phone durations in mel frames

Writes a decode directory in the same layout as ``visual_svs_inference`` (wav.scp, wav/,
feats.scp, durations, video/), so stage 8 scores it exactly like a system.
"""

import argparse
import logging
from pathlib import Path

import espnet2_ext  # noqa: F401
import kaldiio
import numpy as np
import soundfile as sf
import torch
from espnet2.fileio.read_text import read_2columns_text
from tqdm import tqdm

from espnet2_ext.utils.fileio import atomic_path, read_table
from espnet2_ext.utils.media import mux_video


def _label_fields(fields):
    """The ``st et ph`` triples of a label line (``read_table`` adds the file and line to the error)."""
    if not fields or len(fields) % 3:
        raise ValueError("expected '<utt> st et ph ...'")
    return fields


def label_durations(fields, fs: int, hop: int) -> np.ndarray:
    """``st et ph st et ph ...`` (seconds) -> phone durations in mel frames (rounded boundaries)."""
    times = np.array([float(x) for i, x in enumerate(fields) if i % 3 != 2]).reshape(-1, 2)
    bounds = np.rint(np.concatenate([times[:1, 0], times[:, 1]]) * fs / hop).astype(np.int64)
    return np.diff(bounds)


def main(cmd=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wav_scp", required=True)
    parser.add_argument("--label", required=True)
    parser.add_argument("--fbank_conf", required=True, help="YAML/JSON dict of the fbank parameters")
    parser.add_argument("--out_dir", required=True)
    parser.add_argument("--video_scp", default=None)
    parser.add_argument("--vocoder", default="auto")
    parser.add_argument("--vocoder_checkpoint", default=None)
    args = parser.parse_args(cmd)
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s: %(message)s")
    torch.set_num_threads(1)

    from espnet2.tts.feats_extract.log_mel_fbank import LogMelFbank
    from espnet2_ext.vocoder.build import build_vocoder
    from espnet2_ext.vocoder.mel_conf import load_fbank_conf

    conf = load_fbank_conf(args.fbank_conf)
    fs, hop = int(conf["fs"]), int(conf["hop_length"])
    fbank = LogMelFbank(**conf)
    vocoder = build_vocoder(args.vocoder, conf, checkpoint=args.vocoder_checkpoint)
    wavs = read_2columns_text(args.wav_scp)
    labels = read_table(args.label, 1, parse=_label_fields)
    videos = read_2columns_text(args.video_scp) if args.video_scp else {}

    out = Path(args.out_dir)
    (out / "wav").mkdir(parents=True, exist_ok=True)
    (out / "video").mkdir(exist_ok=True)
    with kaldiio.WriteHelper(f"ark,scp:{out}/feats.ark,{out}/feats.scp") as feats_w, \
            open(out / "wav.scp", "w") as wav_w, open(out / "durations", "w") as dur_w:
        for utt in tqdm(sorted(wavs), desc="vocoding GT", unit="utt"):
            audio, sr = sf.read(wavs[utt], dtype="float32")
            if sr != fs:
                raise ValueError(f"{wavs[utt]}: sample rate {sr} != {fs} (format the wavs in stage 2)")
            with torch.no_grad():
                mel, _ = fbank(torch.from_numpy(audio)[None])
            mel = mel[0].numpy()
            wav = np.asarray(vocoder(mel), dtype=np.float32)
            feats_w(utt, mel)
            path = out / "wav" / f"{utt}.wav"
            with atomic_path(path, ".wav") as tmp:
                sf.write(tmp, np.clip(wav, -1, 1), fs, subtype="PCM_16")
            wav_w.write(f"{utt} {path.resolve()}\n")
            if utt in labels:
                dur_w.write(f"{utt} {' '.join(map(str, label_durations(labels[utt], fs, hop)))}\n")
            if utt in videos:
                mux_video(videos[utt], str(path), out / "video" / f"{utt}.mp4")


if __name__ == "__main__":
    main()
