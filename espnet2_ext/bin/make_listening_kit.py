#!/usr/bin/env python3
"""Anonymised listening-test kit from several decode directories.

    decode dirs d1..dK (wav.scp, video/<utt>.mp4) --per set (dir name): --n utterances common to
    all dirs of that set (seeded)-->
    every (utt, system) sample copied as <out>/samples/<id>.wav (+ <id>.mp4), ids shuffled
    -> answer_key.csv   id, decode_dir, system, set, utt
    -> rating_sheet.csv id, MOS-Q, MOS-N, MOS-S, MOS-M (blank, 1-5) + README.txt with the scales

Usage:
    python -m espnet2_ext.bin.make_listening_kit --decode_dirs d1 d2 ... --out exp/listening_kit \
        [--n 10] [--seed 0]
"""

import argparse
import csv
import logging
import random
import shutil
from pathlib import Path

from espnet2_ext.utils.fileio import atomic_dir, read_scp_dict

INSTRUCTIONS = """Listening test: rate every sample on a 1-5 scale (5 = best) in rating_sheet.csv.
MOS-Q  quality: clarity and naturalness of the singing audio.
MOS-N  naturalness of the singing (pitch, rhythm, expression).
MOS-S  speaker similarity: how close the voice is to the reference singer.
MOS-M  multimodal sync: for the video samples, how well the singing matches the lip movements.
Samples are shuffled; do not try to guess the system.
"""


def main(cmd=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decode_dirs", nargs="+", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--overwrite", action="store_true", help="replace an existing kit")
    args = parser.parse_args(cmd)
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s: %(message)s")

    dirs = [Path(d) for d in args.decode_dirs]
    tables = {}
    for d in dirs:
        if not (d / "wav.scp").is_file():
            raise FileNotFoundError(f"{d / 'wav.scp'}: missing (not a decode dir)")
        tables[d] = read_scp_dict(d / "wav.scp")
    # per set (decode dir name): --n utterances that every system decoded, the same for all systems
    rng = random.Random(args.seed)
    by_set = {}
    for d in dirs:
        by_set.setdefault(d.name, []).append(d)
    items = []
    for dset in sorted(by_set):
        common = sorted(set.intersection(*[set(tables[d]) for d in by_set[dset]]))
        if not common:
            logging.warning("set %s: the decode dirs share no utterance; skipped", dset)
            continue
        utts = sorted(rng.sample(common, min(args.n, len(common))))
        items += [(d, u) for d in by_set[dset] for u in utts]
    if not items:
        raise ValueError("no utterance shared by the decode dirs of any set: " + ", ".join(map(str, dirs)))
    rng.shuffle(items)

    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise FileExistsError(f"{out}: exists (pass --overwrite to replace it)")
    with atomic_dir(out) as tmp:
        _write_kit(tmp, items, tables)
    logging.info("listening kit: %d samples from %d decode dirs -> %s", len(items), len(dirs), out)


def _write_kit(tmp: Path, items, tables) -> None:
    """samples/s<i>.{wav,mp4}, answer_key.csv, rating_sheet.csv and README.txt of the kit, into ``tmp``."""
    from espnet2_ext.eval.io import resolve

    (tmp / "samples").mkdir(parents=True)
    width = len(str(len(items)))
    key_rows = []
    for i, (d, utt) in enumerate(items, 1):
        sid = f"s{i:0{width}d}"
        shutil.copyfile(resolve(tables[d][utt], d), tmp / "samples" / f"{sid}.wav")
        video = d / "video" / f"{utt}.mp4"
        has_video = video.is_file()
        if has_video:
            shutil.copyfile(video, tmp / "samples" / f"{sid}.mp4")
        system = d.parts[-3] if len(d.parts) >= 3 else str(d)
        key_rows.append({"id": sid, "decode_dir": str(d), "system": system, "set": d.name, "utt": utt,
                         "video": int(has_video)})
    with open(tmp / "answer_key.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(key_rows[0]))
        w.writeheader()
        w.writerows(key_rows)
    with open(tmp / "rating_sheet.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "MOS-Q", "MOS-N", "MOS-S", "MOS-M", "comment"])
        for r in key_rows:
            w.writerow([r["id"], "", "", "", "" if r["video"] else "n/a", ""])
    (tmp / "README.txt").write_text(INSTRUCTIONS, encoding="utf-8")


if __name__ == "__main__":
    main()
