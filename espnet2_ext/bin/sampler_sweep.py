#!/usr/bin/env python3
"""Quality against sampling steps: decode trained systems with every sampler of their objective at
several step counts, score each decode, and write a table and a plot.

    python -m espnet2_ext.bin.sampler_sweep --exp_dir exp/svs_performsinger [--exp_dir ...] \
        --dump_dir dump/raw --sets dev [test test_ood] --fs 22050 --hop_length 256 \
        [--steps 1 2 4 10 20] [--samplers auto] [--inference_config conf/decode_fast.yaml] \
        [--vocoder griffin_lim] [--nthreads 2] [--out_dir exp/sampler_sweep]

    per system (exp dir), sampler, step count:
        python -m espnet2_ext.bin.visual_svs_inference (all --sets in one process, the exp's model
            file by the recipe's rule: utils/model_file.py)
            -> <out_dir>/<system>/<sampler>_<steps>/<set>/{wav.scp, feats.scp, durations, ...}
        eval/score_decode.py (stage 8's scoring, in this process) -> .../<set>/scores.json
    -> <out_dir>/sweep.md    system | set | sampler | steps | NFE | MCD | FFE | duration MAE
       <out_dir>/sweep.json  the same rows
       <out_dir>/sweep.png   MCD and FFE against network evaluations, a line per (system, sampler)

Samplers ("auto"): a decoder_conf objective ddpm system gets ddim and dpm_solver at each step
count and the full ancestral DDPM once (every one of its num_steps); an objective reflow system
gets euler and rk2 (and rk4 with prediction v) at each step count, and euler at num_steps as
its many-step reference. A decode or score whose outputs exist (scores.json) is kept, so an
interrupted sweep resumes.
"""

import argparse
import json
import logging
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

import yaml

from espnet2_ext.utils.fileio import atomic_json, atomic_path, atomic_write_text

EVALS = {"euler": 1, "rk2": 2, "rk4": 4}


def sweep_specs(svs_conf: dict, steps: List[int], samplers: List[str]) -> List[Tuple[str, int]]:
    """(sampler, steps) pairs to decode a system with, from its svs_conf (see the module docstring)."""
    dconf = dict(svs_conf.get("decoder_conf") or {})
    reflow = dconf.get("objective", "ddpm") == "reflow"
    n = int(dconf.get("num_steps", 100))
    auto = samplers == ["auto"]
    if auto:
        samplers = (["euler", "rk2"] + (["rk4"] if dconf.get("prediction", "v") == "v" else [])) if reflow \
            else ["ddim", "dpm_solver", "ddpm"]
    specs = []
    for s in samplers:
        specs += [("ddpm", n)] if s == "ddpm" else [(s, k) for k in steps]
    if auto and reflow:
        specs.append(("euler", n))  # the many-step reference of a flow
    return list(dict.fromkeys(specs))


def nfe(sampler: str, steps: int) -> int:
    """Mel-decoder network evaluations of a (sampler, steps) decode."""
    return steps * EVALS.get(sampler, 1)


def decode_and_score(exp: Path, spec: Tuple[str, int], args: argparse.Namespace) -> List[dict]:
    """Decode every set of one (system, sampler, steps) and score it; rows of the table."""
    from espnet2_ext.eval.score_decode import score_dirs
    from espnet2_ext.eval.scoring import Scorer
    from espnet2_ext.utils.model_file import resolve_model_file

    sampler, steps = spec
    base = Path(args.out_dir) / exp.name / f"{sampler}_{steps}"
    todo = [s for s in args.sets if not (base / s / "scores.json").is_file()]
    if todo:
        cmd = ["--model_file", resolve_model_file(str(exp), args.inference_model),
               "--train_config", str(exp / "config.yaml"), "--sampler", sampler, "--steps", str(steps),
               "--seed", str(args.seed), "--vocoder", args.vocoder, "--nthreads", str(args.nthreads),
               "--mux_video", "false", "--progress", "false"]
        if args.inference_config:
            cmd = ["--config", args.inference_config] + cmd
        for s in todo:
            cmd += ["--data_dir", str(Path(args.dump_dir) / s), "--output_dir", str(base / s)]
        t0 = time.perf_counter()
        decode = [sys.executable, "-m", "espnet2_ext.bin.visual_svs_inference", *cmd]
        if subprocess.run(decode).returncode != 0:
            raise RuntimeError(f"{exp.name} {sampler}:{steps}: decoding failed: {shlex.join(decode)}")
        logging.info(f"{exp.name} {sampler}:{steps}: decoded {todo} in {time.perf_counter() - t0:.1f} s")
        score_dirs([(str(base / s), str(Path(args.dump_dir) / s)) for s in todo], Scorer(args.fs, args.hop_length),
                   args.fs, args.hop_length)
    rows = []
    for s in args.sets:
        sc = json.loads((base / s / "scores.json").read_text(encoding="utf-8"))
        rows.append(dict(system=exp.name, set=s, sampler=sampler, steps=steps, nfe=nfe(sampler, steps),
                         mcd=sc.get("mcd"), ffe=sc.get("ffe"), dur_mae_frames=sc.get("dur_mae_frames")))
    return rows


def _fmt(v, digits: int) -> str:
    return "null" if v is None else f"{v:.{digits}f}"


def table(rows: List[dict]) -> str:
    lines = ["| system | set | sampler | steps | NFE | MCD (dB) | FFE | duration MAE (frames) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['system']} | {r['set']} | {r['sampler']} | {r['steps']} | {r['nfe']} | "
                     f"{_fmt(r['mcd'], 2)} | {_fmt(r['ffe'], 3)} | {_fmt(r['dur_mae_frames'], 2)} |")
    return "\n".join(lines) + "\n"


def plot(rows: List[dict], path: Path) -> None:
    """MCD and FFE against NFE (log scale), one panel per set, a line per (system, sampler)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = list(dict.fromkeys(r["set"] for r in rows))
    fig, axes = plt.subplots(2, len(sets), figsize=(5 * len(sets), 7), squeeze=False)
    lines: Dict[Tuple[str, str], List[dict]] = {}
    for r in rows:
        lines.setdefault((r["system"], r["sampler"]), []).append(r)
    for j, s in enumerate(sets):
        for (system, sampler), rs in lines.items():
            rs = sorted((r for r in rs if r["set"] == s), key=lambda r: r["nfe"])
            for i, key in enumerate(("mcd", "ffe")):
                pts = [(r["nfe"], r[key]) for r in rs if r[key] is not None]
                if pts:
                    axes[i][j].plot(*zip(*pts), marker="o", label=f"{system} {sampler}")
        for i, name in enumerate(("MCD (dB)", "FFE")):
            axes[i][j].set_xscale("log")
            axes[i][j].set_xlabel("mel-decoder network evaluations")
            axes[i][j].set_ylabel(name)
            axes[i][j].set_title(s)
            axes[i][j].grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exp_dir", action="append", required=True, help="a trained system (repeatable)")
    p.add_argument("--dump_dir", required=True, help="the dump root holding the --sets (dump/raw)")
    p.add_argument("--sets", nargs="+", default=["dev"])
    p.add_argument("--fs", type=int, required=True)
    p.add_argument("--hop_length", type=int, required=True)
    p.add_argument("--steps", type=int, nargs="+", default=[1, 2, 4, 10, 20])
    p.add_argument("--samplers", nargs="+", default=["auto"],
                   help="auto (by the system's objective), or names: ddim dpm_solver ddpm | euler rk2 rk4")
    p.add_argument("--inference_config", default=None,
                   help="decode config whose other options apply (e.g. conf/decode_fast.yaml); sampler and "
                        "steps are the sweep's")
    p.add_argument("--inference_model", default="auto", help="model file of each exp dir (auto: the recipe's rule)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--vocoder", default="griffin_lim")
    p.add_argument("--nthreads", type=int, default=1)
    p.add_argument("--out_dir", default="exp/sampler_sweep")
    return p


def main(argv=None) -> None:
    args = get_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (sampler_sweep) %(levelname)s: %(message)s")
    rows = []
    for exp in map(Path, args.exp_dir):
        config = exp / "config.yaml"
        if not config.is_file():
            raise FileNotFoundError(f"{config}: not a trained exp dir (no config.yaml); pass --exp_dir exp/svs_<system>")
        svs_conf = (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("svs_conf") or {}
        for spec in sweep_specs(svs_conf, args.steps, args.samplers):
            rows += decode_and_score(exp, spec, args)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "sweep.md", table(rows))
    atomic_json(rows, out / "sweep.json")
    plot(rows, out / "sweep.png")
    print(table(rows))
    logging.info(f"wrote {out}/sweep.md, sweep.json, sweep.png")


if __name__ == "__main__":
    main()
