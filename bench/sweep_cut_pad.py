"""Choose the annotator's cut pad (--pad) and rest-edge shifts (--rest_onset_shift, --rest_offset_shift) on
the development songs.

    make_demo_songs --seed 1 (the development songs the aligner's settings were chosen on; the songs
      the results are reported on use seed 2026, bench_annotate.py)
    --annotate_performances' steps once (prepare, aligner, lips; no shifts); kept in
      <out_dir>/aligned.pkl for the next sweep-->
    per --shifts (onset,offset in ms: align.shift_rest_edges) and --pad: the corpus's TextGrids, notes
      and segments.tsv of the audio + lips alignment (no media: the scores read only those)
      --annotate/evaluate.py on all the songs-->
      phone boundaries within 20 / 40 ms and their mean error, the signed mean error of the onsets
      after a rest and of the offsets before one, cuts within 100 ms of the true line edges (and the
      worst), lines whole, the rest kept before and after the lines

    python bench/sweep_cut_pad.py [--out_dir /tmp/sweep_cut_pad] [--pads 0.0 0.01 0.02 0.03 0.04]
        [--shifts 0,0 5,5 10,10]
Prints a markdown table and writes <out_dir>/results.json.
"""

import argparse
import copy
import json
import logging
import pickle
import time
from pathlib import Path
from unittest import mock

import numpy as np

from espnet2_ext.annotate import pipeline as P
from espnet2_ext.annotate.align import shift_rest_edges
from espnet2_ext.annotate.evaluate import evaluate_corpus
from espnet2_ext.data.demo_corpus import SINGERS
from espnet2_ext.data.demo_songs import cached_demo_songs
from espnet2_ext.data.textgrid_io import read_textgrid
from espnet2_ext.data.visualsinger import REST_WORDS


def edge_rests(corpus: Path) -> tuple:
    """Mean seconds of rest before the first and after the last sung phone of each utterance."""
    before, after = [], []
    for tg in corpus.glob("*/*.TextGrid"):
        ph = read_textgrid(tg)["phones"]
        sung = [iv for iv in ph if iv.text.lower() not in REST_WORDS]
        if sung:
            before.append(sung[0].xmin - ph[0].xmin)
            after.append(ph[-1].xmax - sung[-1].xmax)
    return float(np.mean(before)), float(np.mean(after))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out_dir", default="/tmp/sweep_cut_pad")
    p.add_argument("--seed", type=int, default=1, help="the development songs' seed")
    p.add_argument("--songs_per_singer", type=int, default=2)
    p.add_argument("--min_seconds", type=float, default=25.0)
    p.add_argument("--max_seconds", type=float, default=45.0)
    p.add_argument("--pads", type=float, nargs="+", default=[0.0, 0.01, 0.02, 0.03, 0.04], help="--pad values (s)")
    p.add_argument("--shifts", nargs="+", default=["0,0"],
                   help="rest-edge shifts to try, onset,offset in ms (align.shift_rest_edges)")
    p.add_argument("--nj", type=int, default=2)
    a = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    out = Path(a.out_dir)
    songs_dir = out / "songs"
    stamp = out / "songs.json"
    gen = dict(songs_per_singer=a.songs_per_singer, seed=a.seed, seconds=[a.min_seconds, a.max_seconds])
    cached_demo_songs(songs_dir, stamp, singers=[v.name for v, _ in SINGERS], nj=a.nj, **gen)
    opts = P.Options(lips="on", nj=a.nj, seed=0, validate=False, rest_onset_shift=0.0, rest_offset_shift=0.0)
    cache = out / "aligned.pkl"
    if cache.is_file() and cache.stat().st_mtime > stamp.stat().st_mtime:
        data = pickle.loads(cache.read_bytes())
    else:
        t0 = time.time()
        songs, _ = P.scan_performances(songs_dir)
        data, _ = P.prepare_all(songs, opts, out / "work")
        P.align_songs(data, opts)
        cache.write_bytes(pickle.dumps(data))
        logging.info("prepared and aligned %d songs in %.0f s", len(data), time.time() - t0)
    aligned = [d.units for d in data]
    rows = []
    for shift in a.shifts:
        onset, offset = (float(v) / 1e3 for v in shift.split(","))
        for d, units in zip(data, aligned):
            d.units = d.audio_units = shift_rest_edges(copy.deepcopy(units), onset, offset)
        for pad in a.pads:
            corpus = out / f"corpus_shift{shift.replace(',', '_')}_pad{pad:g}"
            with mock.patch.object(P, "write_media", lambda *args, **kw: None):
                P.write_corpus(data, corpus, P.Options(**{**opts.__dict__, "pad": pad}), [])
            r = evaluate_corpus(corpus, songs_dir / ".truth")
            before, after = edge_rests(corpus)
            rows.append(dict(onset_shift=onset, offset_shift=offset, pad=pad, rest_before_s=before,
                             rest_after_s=after, **r))
    (out / "results.json").write_text(json.dumps(dict(generation=gen, rows=rows), indent=1))
    print(f"\n{len(data)} development songs (seed {a.seed}), audio + lips\n")
    print("| shifts onset / offset (ms) | pad (ms) | boundaries within 20 / 40 ms | mean boundary error (ms) | "
          "onsets after / offsets before a rest (signed ms) | cuts within 100 ms | worst cut (ms) | lines whole | "
          "rest kept before / after a line (ms) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['onset_shift'] * 1e3:.0f} / {r['offset_shift'] * 1e3:.0f} | {r['pad'] * 1e3:.0f} | "
              f"{100 * r['boundaries_within_20ms']:.1f} / {100 * r['boundaries_within_40ms']:.1f} % | "
              f"{r['boundary_err_ms_mean']:.2f} | {r['rest_onset_err_ms_mean']:+.1f} / {r['rest_offset_err_ms_mean']:+.1f} | "
              f"{100 * r['cuts_within_100ms']:.1f} % ({r['cuts']}) | {r['cut_err_ms_max']:.0f} | {100 * r['lines_whole']:.1f} % | "
              f"{r['rest_before_s'] * 1e3:.0f} / {r['rest_after_s'] * 1e3:.0f} |")


if __name__ == "__main__":
    main()
