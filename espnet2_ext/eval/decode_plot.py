"""One diagnostic PNG per decoded utterance (stage 8's plot_decode, the perform command).

    gt mel | generated mel (T, n_mels)   F0 (T,) Hz over the note pitches   attention (N, T_v)
    predicted (red) and true (green) phone boundaries over a strip of lip frames (T_v, H, W)
      -> <out>.png (written through a temporary file and a rename)
"""

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
