#!/usr/bin/env python3
"""Per-utterance diagnostic plots of a decode directory (stage 8).

    feats.scp (generated mel) + GT wav -> LogMel   -> panel 1-2: GT mel | generated mel
    f0.scp (or parselmouth F0 of the wav) + score.scp notes -> panel 3: F0 vs note pitches
    attn/<utt>.npy (N, T_v)                                -> panel 4: fusion attention
    durations vs label + lip.scp crops                     -> panel 5: predicted (red) and true (green)
                                                              phone boundaries over a lip-frame strip
    -> <decode_dir>/plots/<utt>.png

Usage:
    python -m espnet2_ext.bin.plot_decode --decode_dir exp/svs_x/decode_y/test --ref_dir dump/raw/test \
        --fs 22050 --hop_length 256 [--n 4]
"""

import argparse
import logging
from pathlib import Path

import numpy as np

from espnet2_ext.eval.decode_plot import plot_utt


def plot_decode_dir(dec: Path, ref: Path, fs: int, hop: int, n: int = 4, gt: bool = False) -> int:
    """Plots for the first ``n`` utterances of a decode dir; returns how many were written."""
    import soundfile as sf
    import torch

    from espnet2_ext.eval.io import OptionalScp, read_notes, read_scp, read_table, resolve
    from espnet2_ext.features.f0 import extract_f0
    from espnet2_ext.metrics.duration import label_to_frames

    dec, ref = Path(dec), Path(ref)
    gen_scp = ref / "wav.scp" if gt else dec / "wav.scp"
    utts = sorted(read_scp(gen_scp))[:n]
    feats = OptionalScp(dec / "feats.scp")
    f0s = OptionalScp(dec / "f0.scp")
    ref_wavs = read_scp(ref / "wav.scp") if (ref / "wav.scp").is_file() else {}
    gen_wavs = read_scp(gen_scp)
    labels = read_table(ref / "label", 4) if (ref / "label").is_file() else {}
    scores = read_scp(ref / "score.scp") if (ref / "score.scp").is_file() else {}
    lips = read_scp(ref / "lip.scp") if (ref / "lip.scp").is_file() else {}
    ref_utt = read_table(ref / "ref_utt") if (ref / "ref_utt").is_file() else {}
    ref_utt = {u: v for u, v in ref_utt.items() if v[0] != u}  # setting 1 names the utterance itself
    durs = read_table(dec / "durations", 1) if (dec / "durations").is_file() and not gt else {}
    fbank = None
    out_dir = dec / "plots"
    out_dir.mkdir(parents=True, exist_ok=True)
    for utt in utts:
        gen_mel = feats.get(utt)
        gt_mel = None
        if utt in ref_wavs and utt not in ref_utt:
            from espnet2.tts.feats_extract.log_mel_fbank import LogMelFbank

            if fbank is None:
                n_mels = gen_mel.shape[1] if gen_mel is not None else 80
                fbank = LogMelFbank(fs=fs, n_fft=1024, hop_length=hop, win_length=1024, n_mels=n_mels,
                                    fmin=0, fmax=8000 if fs <= 24000 else fs // 2)
            w, _ = sf.read(resolve(ref_wavs[utt], ref), dtype="float32")
            with torch.no_grad():
                gt_mel = fbank(torch.from_numpy(w)[None])[0][0].numpy()
        f0 = f0s.get(utt)
        if f0 is None:
            w, _ = sf.read(resolve(gen_wavs[utt], gen_scp.parent), dtype="float32")
            f0 = extract_f0(w, fs, hop)
        f0 = np.asarray(f0).reshape(-1)
        attn_path = dec / "attn" / f"{utt}.npy"
        attn = np.load(attn_path) if attn_path.is_file() else None
        true = label_to_frames(labels[utt], fs, hop) if utt in labels else None
        pred = np.array([float(x) for x in durs[utt]]) if utt in durs else true if gt else None
        lip = np.load(resolve(lips[utt], ref)) if utt in lips else None
        notes = read_notes(resolve(scores[utt], ref)) if utt in scores else None
        plot_utt(out_dir / f"{utt}.png", utt, fs, hop, gen_mel, gt_mel, f0, notes, attn, pred, true, lip)
    logging.info("wrote %d plots to %s", len(utts), out_dir)
    return len(utts)


def main(cmd=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decode_dir", required=True)
    parser.add_argument("--ref_dir", required=True)
    parser.add_argument("--fs", type=int, required=True)
    parser.add_argument("--hop_length", type=int, required=True)
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--gt", action="store_true")
    args = parser.parse_args(cmd)
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s: %(message)s")
    plot_decode_dir(Path(args.decode_dir), Path(args.ref_dir), args.fs, args.hop_length, args.n, args.gt)


if __name__ == "__main__":
    main()
