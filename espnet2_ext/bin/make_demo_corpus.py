"""Generate the embedded demo corpus (VisualSinger layout, see docs/data_contract.md).

    python -m espnet2_ext.bin.make_demo_corpus --out downloads/demo_corpus --seed 0 --fs 22050 \
        [--num_singers 6 --num_ood 2 --utts_per_singer 30 --ood_utts_per_singer 8 --scale 1.0]
    python -m espnet2_ext.bin.make_demo_corpus --out downloads/demo_corpus_newlyrics --lyrics new \
        --singers "singerA singerB singerC singerD singerG" --num_ood 1 --utts_per_singer 3 --ood_utts_per_singer 6
    python -m espnet2_ext.bin.make_demo_corpus --out downloads/demo_corpus_easy --video_difficulty easy
    python -m espnet2_ext.bin.make_demo_corpus --out downloads/demo_opencpop --audio_only_layout opencpop \
        [--singers singerH] [--utts_per_singer 30] [--fs 44100]
    python -m espnet2_ext.bin.make_demo_corpus --out downloads/demo_m4singer --audio_only_layout m4singer \
        [--singers "singerI singerJ"]
                     audio-only songs of extra singers in the Opencpop / M4Singer layout, for
                     ./run.sh --stage_one_corpora "opencpop:downloads/demo_opencpop m4singer:downloads/demo_m4singer"
                     (docs/corpora.md; --fs defaults to the real corpus's rate, 44.1 / 48 kHz)
"""

import argparse
import logging

from espnet2_ext.data.demo_corpus import AUDIO_ONLY_LAYOUTS, make_audio_only_corpus, make_demo_corpus


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="output corpus directory")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fs", type=int, default=None,
                   help="sampling rate (default 22050; with --audio_only_layout the real corpus's: 44100 / 48000)")
    p.add_argument("--num_singers", type=int, default=6)
    p.add_argument("--num_ood", type=int, default=2, help="last singers generated with --ood_utts_per_singer")
    p.add_argument("--utts_per_singer", type=int, default=30)
    p.add_argument("--ood_utts_per_singer", type=int, default=8)
    p.add_argument("--scale", type=float, default=1.0, help="multiplies the utterance counts")
    p.add_argument("--singers", default=None,
                   help="space-separated singer names to generate (default: the first --num_singers)")
    p.add_argument("--lyrics", default="demo", choices=["demo", "new"],
                   help="demo: the lines of every split; new: lines that no other set sings (demo_lyrics.py)")
    p.add_argument("--video_size", type=int, default=192)
    p.add_argument("--video_difficulty", default="hard", choices=["hard", "easy"],
                   help="hard: head roll / scale / squeeze, blur, noise, occlusions; easy: the same corpus without them")
    p.add_argument("--nj", type=int, default=1, help="parallel processes (the corpus does not depend on it)")
    p.add_argument("--overwrite", action="store_true", help="allow writing into a non-empty directory")
    p.add_argument("--reuse", action="store_true",
                   help="keep a finished corpus in --out generated with the same options; fail if its options differ")
    p.add_argument("--audio_only_layout", default=None, choices=AUDIO_ONLY_LAYOUTS,
                   help="audio-only songs of the extra singers (singerH, singerI, singerJ) in this corpus layout "
                        "instead of the audio-visual corpus (--singers, --utts_per_singer, --scale, --lyrics, --seed, "
                        "--fs, --nj apply)")
    return p


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    a = get_parser().parse_args(argv)
    if a.audio_only_layout:
        stats = make_audio_only_corpus(a.out, a.audio_only_layout, a.singers.split() if a.singers else None, a.seed,
                                       a.fs, a.utts_per_singer, a.scale, a.lyrics, a.nj, a.overwrite, a.reuse)
        logging.info("audio-only corpus (%s layout) in %s: %d utterances, %.1f min, generated in %.1f s",
                     a.audio_only_layout, a.out, stats["utterances"], stats["seconds"] / 60, stats["elapsed"])
        return
    a.fs = a.fs or 22050
    stats = make_demo_corpus(a.out, a.seed, a.fs, a.num_singers, a.num_ood, a.utts_per_singer,
                             a.ood_utts_per_singer, a.scale, a.video_size, a.overwrite, a.nj,
                             a.singers.split() if a.singers else None, a.lyrics, a.video_difficulty, a.reuse)
    logging.info("demo corpus in %s: %d utterances, %.1f min, generated in %.1f s", a.out,
                 stats["utterances"], stats["seconds"] / 60, stats["elapsed"])


if __name__ == "__main__":
    main()
