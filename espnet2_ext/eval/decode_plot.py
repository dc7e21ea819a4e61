"""One diagnostic PNG per decoded utterance (stage 8's plot_decode, the perform command).

    gt mel | generated mel (T, n_mels)   F0 (T,) Hz over the note pitches   attention (N, T_v)
    predicted (red) and true (green) phone boundaries over a strip of lip frames (T_v, H, W)
      -> <out>.png (written through a temporary file and a rename)

plot_decode_dir draws them for the first utterances of a decode dir:

    feats.scp (generated mel) + GT wav -> LogMel   -> panel 1-2: GT mel | generated mel
    f0.scp (or parselmouth F0 of the wav) + score.scp notes -> panel 3: F0 vs note pitches
    attn/<utt>.npy (N, T_v)                                -> panel 4: fusion attention
    durations vs label + lip.scp crops                     -> panel 5: boundaries over a lip strip
    -> <decode_dir>/plots/<utt>.png
"""

import logging
from pathlib import Path

import numpy as np

from espnet2_ext.utils.fileio import atomic_path


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
    try:
        with atomic_path(out_png, ".png") as tmp:
            fig.savefig(tmp, dpi=80)
    finally:
        plt.close(fig)


class _GtMel:
    """The ground-truth log-mel of a reference wav, with the fbank built once (n_mels of the decode)."""

    def __init__(self, fs: int, hop: int):
        self.fs, self.hop, self.fbank = fs, hop, None

    def __call__(self, wav_path: str, n_mels: int) -> np.ndarray:
        import soundfile as sf
        import torch
        from espnet2.tts.feats_extract.log_mel_fbank import LogMelFbank

        if self.fbank is None:
            self.fbank = LogMelFbank(fs=self.fs, n_fft=1024, hop_length=self.hop, win_length=1024, n_mels=n_mels,
                                     fmin=0, fmax=8000 if self.fs <= 24000 else self.fs // 2)
        w, _ = sf.read(wav_path, dtype="float32")
        with torch.no_grad():
            return self.fbank(torch.from_numpy(w)[None])[0][0].numpy()


def plot_decode_dir(dec: Path, ref: Path, fs: int, hop: int, n: int = 4, gt: bool = False) -> int:
    """Plots for the first ``n`` utterances of a decode dir; returns how many were written."""
    import soundfile as sf

    from espnet2_ext.eval.io import (OptionalScp, float_durations, other_voices, read_if_file, read_notes,
                                     read_scp_if_file, resolve)
    from espnet2_ext.features.f0 import extract_f0
    from espnet2_ext.metrics.duration import label_to_frames
    from espnet2_ext.utils.fileio import read_scp_dict

    dec, ref = Path(dec), Path(ref)
    gen_scp = ref / "wav.scp" if gt else dec / "wav.scp"
    gen_wavs = read_scp_dict(gen_scp)
    utts = sorted(gen_wavs)[:n]
    feats, f0s = OptionalScp(dec / "feats.scp"), OptionalScp(dec / "f0.scp")
    ref_wavs, scores, lips = (read_scp_if_file(ref / name) for name in ("wav.scp", "score.scp", "lip.scp"))
    labels = read_if_file(ref / "label", 4)
    ref_utt = other_voices(ref)
    durs = {} if gt else read_if_file(dec / "durations", 1, float_durations)
    gt_mel_of = _GtMel(fs, hop)
    out_dir = dec / "plots"
    out_dir.mkdir(parents=True, exist_ok=True)
    for utt in utts:
        gen_mel = feats.get(utt)
        gt_mel = None
        if utt in ref_wavs and utt not in ref_utt:
            gt_mel = gt_mel_of(resolve(ref_wavs[utt], ref), gen_mel.shape[1] if gen_mel is not None else 80)
        f0 = f0s.get(utt)
        if f0 is None:
            w, _ = sf.read(resolve(gen_wavs[utt], gen_scp.parent), dtype="float32")
            f0 = extract_f0(w, fs, hop)
        f0 = np.asarray(f0).reshape(-1)
        attn_path = dec / "attn" / f"{utt}.npy"
        attn = np.load(attn_path) if attn_path.is_file() else None
        true = label_to_frames(labels[utt], fs, hop) if utt in labels else None
        pred = durs[utt] if utt in durs else true if gt else None
        lip = np.load(resolve(lips[utt], ref)) if utt in lips else None
        notes = read_notes(resolve(scores[utt], ref)) if utt in scores else None
        plot_utt(out_dir / f"{utt}.png", utt, fs, hop, gen_mel, gt_mel, f0, notes, attn, pred, true, lip)
    logging.info("wrote %d plots to %s", len(utts), out_dir)
    return len(utts)
