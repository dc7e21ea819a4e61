"""Generate song-level demo performances and their truth (espnet2_ext/data/demo_songs.py).

    python -m espnet2_ext.bin.make_demo_songs --out downloads/demo_songs \
        [--singers "singerE singerF singerG"] [--songs_per_singer 2] [--min_seconds 20 --max_seconds 60] \
        [--truth downloads/demo_songs/.truth] [--vocals] [--seed 0] [--nj 2]

    <out>/<singer>/<song>.mp4   the performance: video + the sung track (AAC)
    <out>/<singer>/<song>.txt   its lyrics, one sung line per text line
    <out>/<singer>/<song>.wav   (--vocals) the isolated vocals
    <truth>/<singer>/<song>.json, .TextGrid   line spans, phones with times and MIDI, syllable notes

``<out>`` is the input of ``python -m espnet2_ext.bin.annotate_performances --performances <out>``;
bench/bench_annotate.py scores its output against ``<truth>``.
"""

import argparse
import logging

from espnet2_ext.data.demo_songs import HELD_OUT_SINGERS, make_demo_songs


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="performances directory to write")
    p.add_argument("--truth", default=None, help="truth directory (default: <out>/.truth)")
    p.add_argument("--singers", default=" ".join(HELD_OUT_SINGERS), help="space-separated demo singers")
    p.add_argument("--songs_per_singer", type=int, default=2)
    p.add_argument("--min_seconds", type=float, default=20.0, help="a song sings whole lines until it reaches a "
                   "duration drawn between --min_seconds and --max_seconds")
    p.add_argument("--max_seconds", type=float, default=60.0)
    p.add_argument("--max_lines", type=int, default=None, help="at most this many lines per song")
    p.add_argument("--lyrics", default="demo", choices=["demo", "new"])
    p.add_argument("--fs", type=int, default=22050)
    p.add_argument("--video_size", type=int, default=192)
    p.add_argument("--video_difficulty", default="hard", choices=["hard", "easy"])
    p.add_argument("--vocals", action="store_true", help="also write <song>.wav, the isolated vocals")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--nj", type=int, default=1)
    p.add_argument("--overwrite", action="store_true")
    return p


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    a = get_parser().parse_args(argv)
    make_demo_songs(a.out, a.truth, a.singers.split(), a.songs_per_singer, a.seed, a.fs, a.video_size,
                    (a.min_seconds, a.max_seconds), a.lyrics, a.video_difficulty, a.max_lines, a.vocals, a.nj,
                    a.overwrite)


if __name__ == "__main__":
    main()
