"""Draws docs/images/pipeline.png, the README's picture of what PerformSinger does.

    .venv/bin/python docs/images/make_pipeline_diagram.py   # -> docs/images/pipeline.png
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

OUT = Path(__file__).with_name("pipeline.png")

INPUT, MODEL, TIMING, OUTPUT = "#dbe9f6", "#eeeeee", "#fde2c4", "#d9f0d3"


def box(ax, x, y, w, h, text, colour, bold=False, size=10):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                facecolor=colour, edgecolor="#444444", linewidth=1.0))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=size,
            fontweight="bold" if bold else "normal", linespacing=1.3)


def arrow(ax, start, end, dashed=False):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=13, linewidth=1.2,
                                 color="#333333", linestyle="--" if dashed else "-",
                                 shrinkA=0, shrinkB=0))


def main() -> None:
    fig, ax = plt.subplots(figsize=(11.0, 4.6), dpi=110)
    ax.set_xlim(0, 11)
    ax.set_ylim(0, 4.6)
    ax.axis("off")

    # inputs (left column); no phone durations among them
    inputs = [
        (3.55, "singing video\n(silent, any fps)"),
        (2.55, "lyrics\n(characters or pinyin)"),
        (1.55, "notes\none per syllable"),
        (0.55, "reference recording\n(the voice to sing with)"),
    ]
    for y, text in inputs:
        box(ax, 0.2, y, 2.2, 0.8, text, INPUT)
    ax.text(1.3, 4.47, "inputs (no phone durations)", ha="center", fontsize=10, style="italic")

    # the timing path
    box(ax, 3.1, 3.45, 2.3, 1.0, "mouth crops\n→ lip encoder\n→ lip-reading heads", MODEL)
    box(ax, 6.1, 3.45, 2.1, 1.0, "phone timing\nread off the lips\n(forced alignment)", TIMING, bold=True)
    arrow(ax, (2.4, 3.95), (3.1, 3.95))
    arrow(ax, (5.4, 3.95), (6.1, 3.95))

    # the acoustic path
    box(ax, 3.1, 1.05, 2.3, 1.9, "phoneme + pitch\nencoder\n\nspeaker d-vector\nand style\nfrom the reference", MODEL)
    for y in (2.95, 1.95, 0.95):
        arrow(ax, (2.4, y), (3.1, min(max(y, 1.2), 2.8)))
    box(ax, 6.1, 1.05, 2.1, 1.9, "VCFM fusion\n(content + lips)\n\nmel decoder, F0\n(rectified flows)\n→ vocoder", MODEL)
    arrow(ax, (5.4, 2.0), (6.1, 2.0))
    arrow(ax, (5.3, 3.45), (6.2, 2.95))  # the lip features also feed the fusion
    ax.text(5.45, 3.2, "lip features", ha="right", va="center", fontsize=8, color="#555555")
    arrow(ax, (7.15, 3.45), (7.15, 2.95))  # durations expand the phones to mel frames
    ax.text(7.25, 3.2, "durations", ha="left", va="center", fontsize=8, color="#555555")

    # outputs
    box(ax, 8.9, 1.35, 1.95, 2.4, "singing\nin sync with\nthe video\n\n.wav, dubbed .mp4,\nTextGrid, .json", OUTPUT,
        bold=False)
    arrow(ax, (8.2, 2.0), (8.9, 2.3))
    arrow(ax, (8.2, 3.95), (8.9, 3.4), dashed=True)
    ax.text(8.75, 4.05, "boundaries", ha="left", va="bottom", fontsize=8, color="#555555")
    ax.text(5.5, 0.25, "The timing comes from the singer's lips; the voice from the reference; "
            "the words and melody from lyrics and notes.", ha="center", fontsize=9.5, color="#333333")
    fig.tight_layout(pad=0.2)
    fig.savefig(OUT)
    print(OUT)


if __name__ == "__main__":
    main()
