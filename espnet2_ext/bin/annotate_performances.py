"""Build the VisualSinger corpus from performance videos and their lyrics, with no hand annotation.

    python -m espnet2_ext.bin.annotate_performances --performances DIR --out CORPUS \
        [--lips auto|on|off] [--separator "my_separator --in {input} --out {output}"] [--nj 2]

    DIR/<singer>/<song>.mp4   a video with the sung track
    DIR/<singer>/<song>.wav   optional: the isolated vocals, used instead of the video's audio
    DIR/<singer>/<song>.txt   the lyrics: one sung line per text line, Chinese characters or pinyin
      -> CORPUS/<singer>/<utt>.{wav,mp4,TextGrid,notes}   (read by stage 1, local/data.sh --corpus)
         CORPUS/segments.tsv   <utt> <singer>/<song> <start_s> <end_s>   (tab-separated)
         CORPUS/review.tsv     utterances ranked by alignment confidence, worst first
         CORPUS/problems.txt   one line per song, lyric line or utterance that was left out, and why

Mark an utterance reviewed by touching CORPUS/<singer>/<utt>.reviewed, or just save a corrected
TextGrid from Praat: a re-run never writes over either (docs/annotate.md). Exit status: 0 when a
corpus was written (problems listed), 1 when no song could be annotated or, with --strict, when
any problem occurred.
"""

import argparse
import json
import logging
import sys

from espnet2_ext.annotate.aligner import AlignerConfig
from espnet2_ext.annotate.audio import AudioError
from espnet2_ext.annotate.pipeline import LIP_WEIGHT, AnnotateError, Options, annotate


def str2bool(v: str) -> bool:
    if v.lower() in ("true", "1", "yes"):
        return True
    if v.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {v!r}")


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--performances", required=True, help="DIR/<singer>/<song>.{mp4,txt[,wav]}")
    p.add_argument("--out", required=True, help="corpus directory to write (VisualSinger layout)")
    p.add_argument("--lips", default="auto", choices=["auto", "on", "off"],
                   help="align with the lips as well as the audio (auto: when every song's video gives mouth crops)")
    p.add_argument("--lip_weight", type=float, default=LIP_WEIGHT, help="weight of the lips' phone scores")
    p.add_argument("--lip_front_end", default="auto", choices=["auto", "mediapipe", "haar"])
    p.add_argument("--separator", default=None,
                   help="command that writes the vocals of a song without <song>.wav: {input} (the video's "
                        "track as a wav) and {output} (the vocals wav to write) are replaced by paths; a command "
                        "naming neither gets the two paths as its last arguments. MDX / VR weights do not ship: "
                        "bring your own separator")
    p.add_argument("--vad", type=str2bool, default=True, help="compute silero-vad (a signal of the no-singing check)")
    p.add_argument("--min_rest", type=float, default=Options.min_rest, help="s: rests between lines this long cut")
    p.add_argument("--min_seconds", type=float, default=Options.min_seconds)
    p.add_argument("--max_seconds", type=float, default=Options.max_seconds)
    p.add_argument("--pad", type=float, default=Options.pad, help="s of rest kept around an utterance's singing")
    p.add_argument("--rest_onset_shift", type=float, default=Options.rest_onset_shift,
                   help="s later for a phone that starts after a silence (the 25 ms analysis window hears it early)")
    p.add_argument("--rest_offset_shift", type=float, default=Options.rest_offset_shift,
                   help="s earlier for a phone that ends before a silence")
    p.add_argument("--fs", type=int, default=0, help="rate of the utterance wavs (0: the song's own)")
    p.add_argument("--stage1_iterations", type=int, default=AlignerConfig.stage1_iterations)
    p.add_argument("--stage2_iterations", type=int, default=AlignerConfig.stage2_iterations)
    p.add_argument("--nj", type=int, default=1, help="processes / threads")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--validate", type=str2bool, default=True, help="read every utterance back with stage 1's reader")
    p.add_argument("--strict", action="store_true", help="exit 1 when any problem occurred")
    p.add_argument("--summary", default=None, help="write the run's summary (JSON) here")
    return p


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    a = get_parser().parse_args(argv)
    cfg = AlignerConfig(stage1_iterations=a.stage1_iterations, stage2_iterations=a.stage2_iterations)
    opts = Options(min_rest=a.min_rest, min_seconds=a.min_seconds, max_seconds=a.max_seconds, pad=a.pad, lips=a.lips,
                   rest_onset_shift=a.rest_onset_shift, rest_offset_shift=a.rest_offset_shift,
                   lip_weight=a.lip_weight, lip_front_end=a.lip_front_end, separator=a.separator, vad=a.vad, fs=a.fs,
                   nj=a.nj, seed=a.seed, validate=a.validate, aligner=cfg)
    try:
        summary = annotate(a.performances, a.out, opts)
    except (AnnotateError, AudioError) as e:
        logging.error("%s", e)
        sys.exit(1)
    if a.summary:
        with open(a.summary, "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=1)
    if a.strict and summary["problems"]:
        logging.error("--strict: %d problems (%s/problems.txt)", summary["problems"], a.out)
        sys.exit(1)


if __name__ == "__main__":
    main()
