"""Speed of ``perform``: model load time, then per-step time and real-time factor of one clip.

    .venv/bin/python bench/bench_perform.py [--model egs2/visualsinger/svs1/exp/svs_performsinger/packed/performsinger.zip]
        [--video clip.mp4 --reference voice.wav --lyrics ... --notes ...] [--threads 2] [--repeats 3]

Without --video, a demo-corpus utterance of about 5 s is generated (data/demo_corpus.py) and sung
with its own lyrics, notes and voice. Target (the perform command's): loading under 10 s, and
everything after it faster than real time (RTF < 1) on 2 cores. Prints a markdown table.
"""

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = ROOT / "egs2/visualsinger/svs1/exp/svs_performsinger/packed/performsinger.zip"


def demo_clip(out: Path, min_seconds: float = 4.6):
    """The first demo utterance of singer A lasting >= min_seconds: (video, wav, lyrics, notes)."""
    from espnet2_ext.data.demo_corpus import SINGERS, plan_utterance, write_utterance

    voice, look = SINGERS[0]
    for i in range(200):
        rng = np.random.default_rng(np.random.SeedSequence([0, 0, i]))
        utt = plan_utterance(f"{voice.name}_{i:04d}", voice, rng)
        if utt.duration >= min_seconds:
            break
    write_utterance(out, utt, voice, look, 22050, rng)
    words = [w for _, _, w in utt.words][1:-1]
    notes = {k: m for _, _, _, m, k in utt.phones if k >= 0}
    base = out / utt.utt
    return base.with_suffix(".mp4"), base.with_suffix(".wav"), " ".join(words), [notes[k] for k in sorted(notes)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(DEFAULT_MODEL), help="pack or exp dir")
    p.add_argument("--video")
    p.add_argument("--reference")
    p.add_argument("--lyrics")
    p.add_argument("--notes")
    p.add_argument("--vocoder", default=None)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not Path(a.model).exists():
        sys.exit(f"{a.model} not found: run the recipe through stage 9 (make demo) or pass --model")
    torch.set_num_threads(a.threads)
    from espnet2_ext.api import Performer

    with tempfile.TemporaryDirectory() as tmp:
        if a.video:
            video, ref, lyrics, notes = a.video, a.reference, a.lyrics, a.notes
        else:
            video, ref, lyrics, notes = demo_clip(Path(tmp))
        t0 = time.perf_counter()
        performer = Performer.from_pretrained(a.model, vocoder=a.vocoder)
        load = time.perf_counter() - t0
        print(f"model {a.model}, vocoder {performer.vocoder_name}, {a.threads} threads: load {load:.2f} s\n")
        print("| run | clip (s) | features | ROI | model | vocoder | total after load (s) | RTF |")
        print("|---|---|---|---|---|---|---|---|")
        for r in range(1, a.repeats + 1):
            t0 = time.perf_counter()
            perf = performer(video, lyrics, notes, ref)
            total = time.perf_counter() - t0
            sec = len(perf.wav) / perf.fs
            t = perf.timings
            print(f"| {r} | {sec:.2f} | {t['features']:.2f} | {t['roi']:.2f} | {t['model']:.2f} | {t['vocoder']:.2f} "
                  f"| {total:.2f} | {total / sec:.3f} |")


if __name__ == "__main__":
    main()
