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
import os
from pathlib import Path

import numpy as np


def _midi_to_hz(m):
    return 440.0 * 2 ** ((np.asarray(m, dtype=float) - 69) / 12)


def plot_utt(out_png: Path, utt: str, fs: int, hop: int, gen_mel=None, gt_mel=None, f0=None, notes=None,
             attn=None, pred_dur=None, true_dur=None, lip=None) -> None:
    """Write one PNG (panels drawn only for the inputs given)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [p for p in ("gt_mel", "gen_mel", "f0", "attn", "bounds")
              if {"gt_mel": gt_mel, "gen_mel": gen_mel, "f0": f0, "attn": attn,
                  "bounds": pred_dur}[p] is not None]
    if not panels:
        return
    fig, axes = plt.subplots(len(panels), 1, figsize=(12, 2.4 * len(panels)), squeeze=False)
    sec = hop / fs
    for ax, p in zip(axes[:, 0], panels):
        if p in ("gt_mel", "gen_mel"):
            m = gt_mel if p == "gt_mel" else gen_mel
            ax.imshow(m.T, origin="lower", aspect="auto", extent=[0, len(m) * sec, 0, m.shape[1]])
            ax.set_ylabel("mel bin")
            ax.set_title(("ground truth" if p == "gt_mel" else "generated") + " mel")
        elif p == "f0":
            t = np.arange(len(f0)) * sec
            ax.plot(t, np.where(f0 > 0, f0, np.nan), "b", lw=1, label="F0 (generated)")
            for st, et, midi in notes or []:
                if midi > 0:
                    ax.hlines(_midi_to_hz(midi), st, et, colors="orange", lw=3, alpha=0.6)
            ax.set_ylabel("Hz")
            ax.set_title("F0 vs note pitches (orange)")
        elif p == "attn":
            ax.imshow(attn, origin="lower", aspect="auto", interpolation="nearest")
            ax.set_xlabel("video frame")
            ax.set_ylabel("phone")
            ax.set_title("fusion attention")
        else:
            if lip is not None and len(lip):
                n = min(len(lip), 40)
                idx = np.linspace(0, len(lip) - 1, n).astype(int)
                strip = np.concatenate([lip[i] for i in idx], axis=1)
                ax.imshow(strip, cmap="gray", aspect="auto", extent=[0, len(lip) / 25.0, 0, 1])
            for b in np.cumsum(pred_dur) * sec:
                ax.axvline(b, color="red", lw=1)
            if true_dur is not None:
                for b in np.cumsum(true_dur) * sec:
                    ax.axvline(b, color="lime", lw=1, ls="--")
            ax.set_yticks([])
            ax.set_title("phone boundaries: predicted (red) vs ground truth (green) over lip frames")
        ax.set_xlabel(ax.get_xlabel() or "seconds")
    fig.suptitle(utt)
    fig.tight_layout()
    tmp = out_png.with_name(out_png.stem + ".tmp.png")
    fig.savefig(tmp, dpi=80)
    plt.close(fig)
    os.replace(tmp, out_png)


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
