"""The corpus builder (annotate_performances) against the truth of demo songs, audio alone and with the lips.

    make_demo_songs: --songs_per_singer songs of every demo singer (20-60 s by default, whole lyric
      lines, rests between lines; seed --seed, not the one the aligner's settings were chosen on)
    --annotate_performances' steps, once (prepare, the aligner trained on all the songs, the lip
      classifier)--> two corpora: the audio alignment alone, and audio + lips
    --annotate/evaluate.py against the truth, for the held-out singers (singerE, singerF, singerG:
      in no training set of the project) and for the seen ones-->
      lines whole in one utterance, cuts within 100 ms of the true line edges, phone boundaries
      within 20 / 40 ms, syllables with the exact MIDI note; and, for reference, the lines that
      cutting at silero-vad's silences of >= 300 ms (the paper's slicer, no lyrics) would break
    timing: minutes of computing per hour of singing with --nj processes
    --long_seconds S: also one song of S seconds by a held-out singer (singerF), annotated alone (the
      length of a real performance: stage 1 trains on windows of it, the alignment runs in a band)

    python bench/bench_annotate.py [--out_dir /tmp/bench_annotate] [--songs_per_singer 2] [--seed 2026]
        [--min_seconds 20 --max_seconds 60] [--nj 2] [--long_seconds 240]

Prints markdown tables and writes <out_dir>/results.json.
"""

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np

from espnet2_ext.annotate.evaluate import evaluate_corpus
from espnet2_ext.annotate.pipeline import Options, align_songs, prepare_all, scan_performances, write_corpus
from espnet2_ext.data.demo_corpus import SINGERS
from espnet2_ext.data.demo_songs import HELD_OUT_SINGERS, cached_demo_songs, read_song_truth

TARGETS = {"lines_whole": 1.0, "cuts_within_100ms": 1.0, "boundaries_within_40ms": 0.9,
           "boundaries_within_20ms": 0.7, "notes_exact": 0.95}


def vad_broken_lines(data, truth_dir: Path, min_silence: float = 0.3) -> tuple:
    """(lines broken, lines) when each song is cut at every silero-vad silence >= ``min_silence``."""
    broken = total = 0
    for d in data:
        truth = read_song_truth(truth_dir / f"{d.inp.key}.json")
        speech = d.audio.vad >= 0.5
        t = np.arange(len(speech)) * 0.01
        cuts, k = [], 0
        while k < len(speech):  # middles of the silences
            if not speech[k]:
                j = k
                while j < len(speech) and not speech[j]:
                    j += 1
                if (j - k) * 0.01 >= min_silence and k > 0 and j < len(speech):
                    cuts.append(t[(k + j) // 2])
                k = j
            else:
                k += 1
        for line in truth["lines"]:
            total += 1
            broken += any(line["start"] < c < line["end"] for c in cuts)
    return broken, total


def long_song(out: Path, a, results: dict) -> None:
    """One long song of singerF annotated alone (its own corpus): scores and time."""
    songs_dir = out / "long_song"
    cached_demo_songs(songs_dir, out / "long_song.json", singers=["singerF"], songs_per_singer=1, seed=a.seed + 1,
                      seconds=(a.long_seconds, a.long_seconds))
    opts = Options(lips="on", nj=a.nj, lip_weight=a.lip_weight, seed=0)
    t0 = time.time()
    songs, _ = scan_performances(songs_dir)
    data, _ = prepare_all(songs, opts, out / "work_long")
    timing = align_songs(data, opts)
    write_corpus(data, out / "corpus_long", opts, [])
    minutes = sum(d.audio.duration for d in data) / 60
    r = evaluate_corpus(out / "corpus_long", songs_dir / ".truth")
    results["long_song"] = dict(minutes=round(minutes, 2), elapsed=round(time.time() - t0, 1),
                                timing={k: round(v, 1) for k, v in timing.items()}, **r)
    print(f"\nOne {minutes:.1f}-min song of singerF annotated alone (audio + lips): {100 * r['lines_whole']:.1f} % "
          f"of {r['lines']} lines whole, cuts within 100 ms {100 * r['cuts_within_100ms']:.1f} %, boundaries "
          f"within 20 / 40 ms {100 * r['boundaries_within_20ms']:.1f} / {100 * r['boundaries_within_40ms']:.1f} %, "
          f"exact notes {100 * r['notes_exact']:.1f} %; {results['long_song']['elapsed']:.0f} s.")
    (out / "results.json").write_text(json.dumps(results, indent=1))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out_dir", default="/tmp/bench_annotate")
    p.add_argument("--songs_per_singer", type=int, default=2)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--min_seconds", type=float, default=20.0)
    p.add_argument("--max_seconds", type=float, default=60.0)
    p.add_argument("--nj", type=int, default=2)
    p.add_argument("--lip_weight", type=float, default=Options.lip_weight)
    p.add_argument("--long_seconds", type=float, default=0.0, help="also one song this long (0: none)")
    a = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    out = Path(a.out_dir)
    songs_dir = out / "songs"
    gen = dict(songs_per_singer=a.songs_per_singer, seed=a.seed, seconds=[a.min_seconds, a.max_seconds])
    t = time.time()
    if cached_demo_songs(songs_dir, out / "songs.json", singers=[v.name for v, _ in SINGERS], nj=a.nj, **gen):
        logging.info("songs generated in %.0f s", time.time() - t)
    truth = songs_dir / ".truth"

    opts = Options(lips="on", nj=a.nj, lip_weight=a.lip_weight, seed=0)
    t0 = time.time()
    songs, problems = scan_performances(songs_dir)
    data, bad = prepare_all(songs, opts, out / "work")
    t_prepare = time.time() - t0
    timing = align_songs(data, opts)
    hours = sum(d.audio.duration for d in data) / 3600
    results = {"songs": len(data), "problems": [str(x) for x in problems + bad], "singing_minutes": round(hours * 60, 2),
               "generation": gen, "lip_weight": a.lip_weight}
    lip_units = [d.units for d in data]
    for variant in ("audio", "audio+lips"):
        for d, lu in zip(data, lip_units):
            d.units = d.audio_units if variant == "audio" else lu
        corpus = out / f"corpus_{variant.replace('+', '_')}"
        t = time.time()
        probs, n = write_corpus(data, corpus, opts, [])
        t_write = time.time() - t
        results[variant] = {
            "utterances": n, "problems": [str(x) for x in probs],
            "held_out": evaluate_corpus(corpus, truth, HELD_OUT_SINGERS),
            "seen": evaluate_corpus(corpus, truth, [v.name for v, _ in SINGERS if v.name not in HELD_OUT_SINGERS]),
            "write_seconds": round(t_write, 1)}
    broken, total = vad_broken_lines(data, truth)
    results["vad_only_lines_broken"] = [broken, total]
    total_s = t_prepare + sum(timing.values()) + results["audio+lips"]["write_seconds"]
    results["timing"] = dict(prepare=round(t_prepare, 1), **{k: round(v, 1) for k, v in timing.items()},
                             write=results["audio+lips"]["write_seconds"], total=round(total_s, 1),
                             minutes_per_hour=round(total_s / 60 / hours, 1), nj=a.nj)
    (out / "results.json").write_text(json.dumps(results, indent=1))

    print(f"\n{len(data)} songs, {hours * 60:.1f} min of singing (seed {a.seed}); problems: "
          f"{len(results['problems'])}\n")
    print("| set | alignment | lines whole | cuts within 100 ms | boundaries within 20 ms | within 40 ms | "
          "mean boundary error (ms) | exact MIDI notes |")
    print("|---|---|---|---|---|---|---|---|")
    for group in ("held_out", "seen"):
        for variant in ("audio", "audio+lips"):
            r = results[variant][group]
            print(f"| {group.replace('_', '-')} ({r['songs']} songs, {r['lines']} lines, {r['boundaries']} boundaries) | "
                  f"{variant} | {100 * r['lines_whole']:.1f} % | {100 * r['cuts_within_100ms']:.1f} % | "
                  f"{100 * r['boundaries_within_20ms']:.1f} % | {100 * r['boundaries_within_40ms']:.1f} % | "
                  f"{r['boundary_err_ms_mean']:.1f} | {100 * r['notes_exact']:.1f} % |")
    print(f"\nCutting at silero-vad's silences >= 300 ms (no lyrics) would break {broken} of {total} lines.")
    tm = results["timing"]
    print(f"\nTime with --nj {a.nj}: prepare {tm['prepare']} s, audio aligner {tm['train_audio_aligner']} s, lips "
          f"{tm.get('train_lips', 0)} s, writing {tm['write']} s: {tm['total']} s for {hours * 60:.1f} min of "
          f"singing = {tm['minutes_per_hour']} min per hour of singing.")
    if a.long_seconds > 0:
        long_song(out, a, results)
    held = results["audio+lips"]["held_out"]
    missed = [k for k, v in TARGETS.items() if held[k] is None or held[k] < v]
    print("\nTargets on the held-out singers (audio + lips): " + ("all met" if not missed else f"missed {missed}"))


if __name__ == "__main__":
    main()
