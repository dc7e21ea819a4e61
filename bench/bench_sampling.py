#!/usr/bin/env python3
"""Real-time factor of mel generation by sampler and step count, at demo and paper size.

    python bench/bench_sampling.py [--utt_sec 5] [--threads 2] [--repeats 3]
        [--specs ddim:10 ddim:4 ... euler:2 euler:1 rk2:1] [--sizes demo paper] [--f0_steps N]
        [--precisions float32 bfloat16]

Per size, one PerformSinger (VCFM-T config: conf/train_performsinger.yaml for demo,
conf/tuning/train_performsinger_paper.yaml for paper; random weights, timing only) per training
objective: decoder_conf / f0_conf objective ddpm for ddpm / ddim / dpm_solver, objective reflow
(shallow flow, t_start 0.4) for euler / rk2 / rk4. Each row runs model.inference on one line of
--utt_sec seconds (inputs to mel, the lip encoder included; durations teacher-forced so that
every row makes the same number of frames, F0 predicted) under torch.inference_mode, and
prints the median time, its split into lip encoder / F0 predictor / mel decoder / the rest,
the process CPU time (all threads; on a machine shared with other jobs the wall time
grows with the contention, the CPU time much less), the RTF (wall time / --utt_sec) and the speed-up over DDIM-10 and over espnet's XiaoiceSing at the
same width (non-diffusion FastSpeech-style SVS: adim = hidden, 4 + 4 transformer layers,
ffn 4 x hidden; the issue's reference for "a feed-forward decoder's cost").
A spec name:steps sets the mel sampler; F0 uses the same sampler, with --f0_steps steps if
given (default: the mel's). NFE = network evaluations of the mel decoder. Each spec runs once per
--precisions entry (espnet2_ext/svs/precision.py: the lip encoder, F0 predictor and mel decoders in
that dtype; "auto" is printed as the dtype it resolved to on this machine); the DDIM-10 ratio is to
the float32 DDIM-10 row.
"""

import argparse
import time
from pathlib import Path
from typing import Dict, List

import torch

from bench_models import RECIPE, batch, build

from espnet2_ext.svs.precision import PRECISIONS, resolve_precision

CONFIGS = {"demo": "conf/train_performsinger.yaml", "paper": "conf/tuning/train_performsinger_paper.yaml"}
EVALS = {"euler": 1, "rk2": 2, "rk4": 4}
DEFAULT_SPECS = ["ddim:10", "ddim:4", "ddim:2", "dpm_solver:4", "dpm_solver:2", "euler:4", "euler:2", "euler:1",
                 "rk2:1"]


def _objective(sampler: str) -> str:
    return "reflow" if sampler in EVALS else "ddpm"


def build_variant(size: str, objective: str):
    """The size's VCFM-T model with decoder_conf / f0_conf objective set (reflow: shallow, t_start 0.4)."""
    import yaml

    from espnet2_ext.utils.config import load_config

    path = RECIPE / CONFIGS[size]
    conf = load_config(path)
    svs = conf["svs_conf"]
    svs["decoder_conf"] = {k: v for k, v in svs["decoder_conf"].items() if k != "prediction"}
    svs["decoder_conf"]["objective"] = objective
    svs["f0_conf"] = dict(svs["f0_conf"], objective=objective)
    svs["decoder_conf"]["t_start"] = 0.4 if objective == "reflow" else 0.0
    tmp = Path(f"/tmp/bench_sampling_{size}_{objective}.yaml")
    tmp.write_text(yaml.safe_dump(conf))
    model, conf = build(tmp)
    tmp.unlink()
    model.bench_timers = Timers({"lip": (model.lip_encoder, "forward"), "f0": (model.f0_predictor, "inference"),
                                 "mel": (model.decoder, "inference")})
    return model.eval(), conf


class Timers:
    """Wall time spent inside the named bound methods of a model (patched on the instance)."""

    def __init__(self, targets: Dict[str, tuple]):
        self.total = {k: 0.0 for k in targets}
        for name, (obj, attr) in targets.items():
            fn = getattr(obj, attr)

            def timed(*a, _fn=fn, _name=name, **kw):
                t0 = time.perf_counter()
                out = _fn(*a, **kw)
                self.total[_name] += time.perf_counter() - t0
                return out

            setattr(obj, attr, timed)

    def reset(self):
        self.total = {k: 0.0 for k in self.total}


def time_model(model, data, spec: str, f0_steps, repeats: int, precision: str = "float32") -> Dict[str, float]:
    """Median over --repeats runs (after a warm-up) of one line's inference: wall seconds per part, total, CPU."""
    name, _, steps = spec.partition(":")
    steps = int(steps or 10)
    timers = model.bench_timers
    runs: List[Dict[str, float]] = []
    for i in range(repeats + 1):
        timers.reset()
        t0, c0 = time.perf_counter(), time.process_time()
        with torch.inference_mode():
            model.inference(text=data["text"][0], label=data["label"], melody=data["melody"],
                            duration=data["duration"], spembs=data["spembs"][0], lip=data["lip"],
                            lip_lengths=data["lip_lengths"], use_teacher_forcing=True, sampler=name, steps=steps,
                            f0_steps=f0_steps, seed=0, precision=precision)
        total, cpu = time.perf_counter() - t0, time.process_time() - c0
        if i > 0:  # the first run warms up the allocator and oneDNN kernels
            runs.append(dict(timers.total, total=total, cpu=cpu))
    runs.sort(key=lambda r: r["total"])
    return runs[len(runs) // 2]


def xiaoice_time(hidden: int, data, repeats: int) -> float:
    from espnet2.svs.xiaoice.XiaoiceSing import XiaoiceSing

    model = XiaoiceSing(idim=62, odim=80, adim=hidden, aheads=2, elayers=4, eunits=4 * hidden, dlayers=4,
                        dunits=4 * hidden, duration_predictor_chans=hidden, spk_embed_dim=256).eval()
    lab, midi, dur = data["label"]["lab"], data["melody"]["lab"], data["duration"]["lab"]  # (1, N) each
    inputs = dict(text=lab[0], label={"lab": lab, "score": lab}, melody={"lab": midi, "score": midi},
                  duration={"lab": dur, "score_phn": dur, "score_syb": dur}, spembs=data["spembs"][0])
    # its inference always reads its own duration predictor: make it give the line's durations,
    # so that it makes as many frames as the PerformSinger rows
    model.duration_predictor.inference = lambda hs, masks=None: dur.to(hs.dtype)
    times = []
    for i in range(repeats + 1):
        t0 = time.perf_counter()
        with torch.inference_mode():
            model.inference(**inputs)
        if i > 0:
            times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--utt_sec", type=float, default=5.0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--sizes", nargs="+", default=["demo", "paper"], choices=sorted(CONFIGS))
    p.add_argument("--specs", nargs="+", default=DEFAULT_SPECS, help="mel sampler:steps (ddpm runs every step)")
    p.add_argument("--f0_steps", type=int, default=None, help="F0 sampling steps (default: the mel's)")
    p.add_argument("--precisions", nargs="+", default=["float32", "auto"], choices=PRECISIONS,
                   help="compute dtypes of the heavy networks to time each spec in")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"{args.utt_sec:g} s line, {args.threads} thread(s), median of {args.repeats} runs after a warm-up\n")
    print("| size | mel sampler | precision | NFE | lip (s) | F0 (s) | mel (s) | rest (s) | total (s) | CPU (s) | RTF "
          "| x faster than DDIM-10 | x XiaoiceSing time |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for size in args.sizes:
        models = {}
        data = None
        rows = []
        dtypes = list(dict.fromkeys(resolve_precision(name, "cpu") for name in args.precisions))
        for spec in args.specs:
            name = spec.partition(":")[0]
            obj = _objective(name)
            if obj not in models:
                models[obj] = build_variant(size, obj)
            model, conf = models[obj]
            data = data or batch(conf, 1, args.utt_sec)
            for dtype in dtypes:
                prec = str(dtype).replace("torch.", "")
                r = time_model(model, data, spec, args.f0_steps, args.repeats, prec)
                steps = int(spec.partition(":")[2] or 10)
                nfe = model.decoder.conf["num_steps"] if name == "ddpm" else steps * EVALS.get(name, 1)
                rows.append((spec, prec, nfe, r))
        xs = xiaoice_time(models[next(iter(models))][0].hidden, data, args.repeats)
        ddim10 = next((r["total"] for s, pr, _, r in rows if s == "ddim:10" and pr == "float32"), None)
        for spec, prec, nfe, r in rows:
            rest = r["total"] - r["lip"] - r["f0"] - r["mel"]
            speed = f"{ddim10 / r['total']:.2f}" if ddim10 else "n/a"
            print(f"| {size} | {spec} | {prec} | {nfe} | {r['lip']:.3f} | {r['f0']:.3f} | {r['mel']:.3f} | {rest:.3f} "
                  f"| {r['total']:.3f} | {r['cpu']:.2f} | {r['total'] / args.utt_sec:.3f} | {speed} | {r['total'] / xs:.1f} |", flush=True)
        print(f"| {size} | XiaoiceSing (espnet, adim {models[next(iter(models))][0].hidden}) | float32 | 1 | - | - | - | - "
              f"| {xs:.3f} | - | {xs / args.utt_sec:.3f} | {ddim10 / xs if ddim10 else float('nan'):.2f} | 1.0 |", flush=True)


if __name__ == "__main__":
    main()
