#!/usr/bin/env python3
"""What the automatic annotation is for: VCFM-T trained on it against VCFM-T trained on the true one.

Starts from a recipe dir whose ``./run.sh --stage 1 --stop_stage 8`` is done (the systems trained on
the true annotation in ``exp/``) and, in ``--work`` (default ``<recipe>_auto``):

1. writes the training and dev utterances as performances, ``songs/<singer>/<utt>.{mp4,wav}``
   (links) and ``<utt>.txt``: the lyric line read off the TextGrid's ``words`` tier (characters;
   SP / AP left out), so the annotator sees what a user has: video, vocals and lyrics;
2. annotates them all at once (``espnet2_ext.bin.annotate_performances``);
3. copies the recipe's scripts and configs into ``--work``, makes ``data/train`` and ``data/dev`` from
   the automatic corpus (``prepare_visualsinger --set_name``, utterances assigned to the set their
   source utterance was in) and links the test sets (data and dumps) of the recipe: the systems are
   scored against the true annotation on the same utterances;
4. runs ``./run.sh --stage 2 --stop_stage 8`` there with ``make demo``'s options (stages 2-6 unchanged);
5. prints both rows per test set (mean ± sd over ``--seeds``: seed k > 0 of VCFM-T on the automatic
   annotation trains through ``local/run_ablations.sh``, as the recipe's own seeds do), the ratios the
   issue's targets are about (duration MAE within 15 %, MCD within 0.3 dB) and where the duration
   error lies (rests against sung phones), and writes ``<work>/comparison.json``.

Every step keeps its output and is skipped when done (``.done`` markers), so a re-run resumes.

    python bench/bench_auto_annotation.py --recipe egs2/visualsinger/svs1 [--work DIR] [--nj 2] [--run_opts "..."]
        [--seeds 0 1 2]
"""

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from praatio import textgrid

from espnet2_ext.utils.fileio import read_scp_dict

REPO = Path(__file__).resolve().parent.parent
RESTS = {"SP", "AP", ""}
TEST_SETS = ("test", "test_ood", "test_newlyrics", "test_newlyrics_ood")
DEMO_ARGS = ["--ref_settings", "", "--lip_controls", "", "--extra_inference_configs", "", "--timing_control", "false"]
SYSTEMS = {"svs_stylesinger": "baseline, no video", "svs_performsinger": "VCFM-T"}
METRICS = ("mcd", "ffe", "cos", "dur_mae_frames", "boundary_hit_40ms")


def lyric_line(tg_path: Path) -> str:
    """The sung characters of the ``words`` tier, in order (rests left out)."""
    tg = textgrid.openTextgrid(str(tg_path), includeEmptyIntervals=False)
    return "".join(e.label.strip() for e in tg.getTier("words").entries if e.label.strip() not in RESTS)


def write_songs(recipe: Path, songs: Path, sets=("train", "dev")) -> dict:
    """songs/<singer>/<utt>.{mp4,wav,txt} of the sets' utterances -> {utt: set}."""
    origin = {}
    for name in sets:
        d = recipe / "data" / name
        wavs, videos, spk = (read_scp_dict(d / f) for f in ("wav.scp", "video.scp", "utt2spk"))
        for utt, wav in wavs.items():
            wav = Path(wav)
            out = songs / spk[utt]
            out.mkdir(parents=True, exist_ok=True)
            for src, ext in ((wav, ".wav"), (Path(videos[utt]), ".mp4")):
                link = out / f"{utt}{ext}"
                if not link.exists():
                    link.symlink_to(src.resolve())
            (out / f"{utt}.txt").write_text(lyric_line(wav.with_suffix(".TextGrid")) + "\n", encoding="utf-8")
            origin[utt] = name
    return origin


def split_corpus(corpus: Path, origin: dict, out: Path) -> None:
    """<out>/<set>/<singer>/<utt>.* links of the automatic corpus, by the set of the source utterance."""
    for line in (corpus / "segments.tsv").read_text().splitlines():
        utt, song = line.split("\t")[:2]
        singer, src = song.split("/", 1)
        dest = out / origin[src] / singer
        dest.mkdir(parents=True, exist_ok=True)
        for f in (corpus / singer).glob(f"{utt}.*"):
            if not (dest / f.name).exists():
                (dest / f.name).symlink_to(f.resolve())


def make_work_recipe(recipe: Path, work: Path, corpora: Path, py: str) -> None:
    work.mkdir(parents=True, exist_ok=True)
    for name in ("conf", "local", "utils"):
        if not (work / name).exists():
            shutil.copytree(recipe / name, work / name, symlinks=True)
    for f in recipe.glob("*.sh"):
        shutil.copy2(f, work / f.name)
    for sub in ("data", "dump/raw"):
        (work / sub).mkdir(parents=True, exist_ok=True)
        for name in TEST_SETS:
            if not (work / sub / name).exists():
                (work / sub / name).symlink_to((recipe / sub / name).resolve())
    for name in ("train", "dev"):
        subprocess.run([py, "-m", "espnet2_ext.bin.prepare_visualsinger", "--corpus", str(corpora / name), "--out",
                        str(work / "data"), "--set_name", name, "--overwrite", "true"], check=True)
    (work / "data" / ".done").touch()


def scores(exp: Path, system: str, dset: str):
    f = exp / system / "decode_fast_griffin_lim" / dset / "scores.json"
    return json.loads(f.read_text()) if f.is_file() else None


def seed_dir(system: str, seed: int) -> str:
    """run_ablations.sh's name of a system's exp dir for a seed."""
    return system if seed == 0 else f"{system}_seed{seed}"


def mean_sd(values) -> tuple:
    v = np.asarray(values, np.float64)
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0


def _cell(stat: tuple, fmt: str, n: int) -> str:
    return f"{stat[0]:{fmt}}" + (f" ± {stat[1]:{fmt}}" if n > 1 else "")


def compare(recipe: Path, work: Path, seeds=(0,)) -> dict:
    """Both annotations' scores per system and test set: mean (and sd) over the seeds each arm has."""
    rows = {}
    print("| system | annotation | set | seeds | MCD | FFE | Cos | dur MAE | inner 40 ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    for system, label in SYSTEMS.items():
        for dset in TEST_SETS:
            for ann, root in (("true", recipe), ("automatic", work)):
                found = {k: scores(root / "exp", seed_dir(system, k), dset) for k in seeds}
                found = {k: v for k, v in found.items() if v is not None}
                if not found:
                    continue
                stats = {m: mean_sd([v[m] for v in found.values()]) for m in METRICS}
                rows.setdefault(system, {}).setdefault(dset, {})[ann] = dict(
                    seeds=sorted(found), **{m: stats[m][0] for m in METRICS}, sd={m: stats[m][1] for m in METRICS})

                cells = [_cell(stats[m], fmt, len(found)) for m, fmt in zip(METRICS, (".2f", ".3f", ".3f", ".2f", ".3f"))]
                print(f"| {label} | {ann} | {dset} | {len(found)} | " + " | ".join(cells) + " |")
    for dset, r in rows.get("svs_performsinger", {}).items():
        if "true" in r and "automatic" in r:
            t, a = r["true"], r["automatic"]
            ok_d = a["dur_mae_frames"] <= 1.15 * t["dur_mae_frames"]
            ok_m = a["mcd"] <= t["mcd"] + 0.3
            print(f"{dset}: VCFM-T duration MAE {a['dur_mae_frames'] / t['dur_mae_frames']:.2f}x the true "
                  f"annotation's ({'within' if ok_d else 'beyond'} 15 %), MCD {a['mcd'] - t['mcd']:+.2f} dB "
                  f"({'within' if ok_m else 'beyond'} 0.3 dB); seeds {a['seeds']} vs {t['seeds']}")
    return rows


def duration_errors(root: Path, system: str, dset: str):
    """Signed phone-duration errors (predicted - true, mel frames) of one decode in ``root``'s exp/, split
    into rests (SP / AP) and sung phones: {"rest": [...], "sung": [...]}; None when it was not scored."""
    import yaml

    from espnet2_ext.metrics.duration import label_to_frames

    sc = scores(root / "exp", system, dset)
    if sc is None:
        return None
    conf = yaml.safe_load((root / "exp" / system / "config.yaml").read_text())["feats_extract_conf"]
    labels = read_scp_dict(root / sc["ref_dir"] / "label")
    out = {"rest": [], "sung": []}
    for utt, dur in read_scp_dict(root / "exp" / system / "decode_fast_griffin_lim" / dset / "durations").items():
        fields = labels[utt].split()
        err = np.asarray(dur.split(), np.float64) - label_to_frames(fields, conf["fs"], conf["hop_length"])
        for ph, e in zip(fields[2::3], err):
            out["rest" if ph in RESTS else "sung"].append(float(e))
    return out


def duration_breakdown(recipe: Path, work: Path, seeds=(0,), system: str = "svs_performsinger") -> dict:
    """Where VCFM-T's duration gap lies: mean |error| and mean signed error of rests and of sung phones,
    per test set and annotation, pooled over the seeds."""
    rows = {}
    print("\n| set | annotation | rests: mean abs / signed error (frames) | sung phones: mean abs / signed |")
    print("|---|---|---|---|")
    for dset in TEST_SETS:
        for ann, root in (("true", recipe), ("automatic", work)):
            errs = {"rest": [], "sung": []}
            for k in seeds:
                for key, v in (duration_errors(root, seed_dir(system, k), dset) or {}).items():
                    errs[key] += v
            if not errs["sung"]:
                continue
            r = {key: dict(abs=float(np.mean(np.abs(v))), signed=float(np.mean(v)), n=len(v))
                 for key, v in errs.items() if v}
            rows.setdefault(dset, {})[ann] = r
            print(f"| {dset} | {ann} | {r['rest']['abs']:.2f} / {r['rest']['signed']:+.2f} | "
                  f"{r['sung']['abs']:.2f} / {r['sung']['signed']:+.2f} |")
    return rows


def step(work: Path, name: str, fn) -> None:
    marker = work / f".{name}.done"
    if marker.is_file():
        logging.info("%s exists: skipping %s", marker, name)
        return
    t0 = time.time()
    fn()
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(f"{time.time() - t0:.0f} s\n")
    logging.info("%s done in %.0f s", name, time.time() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", type=Path, required=True, help="recipe dir with ./run.sh stages 1-8 done")
    p.add_argument("--work", type=Path, default=None, help="default: <recipe>_auto")
    p.add_argument("--nj", type=int, default=2)
    p.add_argument("--annotate_opts", default="", help="more options of annotate_performances")
    p.add_argument("--run_opts", default="", help="more options of ./run.sh (e.g. --train_nthreads 1)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0],
                   help="training seeds of VCFM-T on the automatic annotation (seed k > 0 through "
                        "local/run_ablations.sh, as the recipe's own seeds); both arms are averaged over them")
    a = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    recipe = a.recipe.resolve()
    work = (a.work or Path(f"{recipe}_auto")).resolve()
    for name in ("train", "dev") + TEST_SETS:
        if not (recipe / "data" / name / "wav.scp").is_file():
            sys.exit(f"{recipe}/data/{name}/wav.scp not found: run ./run.sh --stage 1 --stop_stage 8 there first")
    py = sys.executable
    songs, corpus, corpora = work / "songs", work / "annotated_corpus", work / "annotated_sets"
    origin_file = work / "origin.json"

    def _songs():
        origin_file.parent.mkdir(parents=True, exist_ok=True)
        origin_file.write_text(json.dumps(write_songs(recipe, songs)))

    step(work, "songs", _songs)
    step(work, "annotate", lambda: subprocess.run(
        [py, "-m", "espnet2_ext.bin.annotate_performances", "--performances", str(songs), "--out", str(corpus),
         "--nj", str(a.nj)] + a.annotate_opts.split(), check=True))
    step(work, "split", lambda: split_corpus(corpus, json.loads(origin_file.read_text()), corpora))
    step(work, "recipe", lambda: make_work_recipe(recipe, work, corpora, py))
    env = dict(os.environ, ESPNET2_EXT_ROOT=str(REPO),
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    step(work, "run", lambda: subprocess.run(["./run.sh", "--stage", "2", "--stop_stage", "8", "--nj", str(a.nj)]
                                             + DEMO_ARGS + a.run_opts.split(), cwd=work, env=env, check=True))
    more = [k for k in a.seeds if k != 0]
    if more:
        step(work, "seeds_" + "_".join(map(str, more)), lambda: subprocess.run(
            ["local/run_ablations.sh", "--systems", "performsinger", "--seeds", " ".join(map(str, more)),
             "--run_opts", a.run_opts], cwd=work, env=env, check=True))
    rows = compare(recipe, work, a.seeds)
    rows["duration_breakdown"] = duration_breakdown(recipe, work, a.seeds)
    (work / "comparison.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
