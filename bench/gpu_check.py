#!/usr/bin/env python3
"""GPU readiness check: training, lip reading, inference and the recipe on one GPU, in one call.

    python3 bench/gpu_check.py --device cuda --out OUT [--budget_s 420]     on the GPU machine (bench/gpu_check.sh)
    python3 bench/gpu_check.py --device cpu --tiny --out OUT                 the same code, shrunk (tests)
    python3 bench/gpu_check.py --make_recipe_data .whl/recipe_demo_tiny.tar.gz   (CPU, bench/make_gpu_bundle.sh)

Parts (each in its own try/except with its share of --budget_s; a failure is recorded and the
next part runs; OUT/gpu_check.json and OUT/gpu_check.md are rewritten after every part):

1. training: a few optimiser steps of stage one (conf/tuning/train_stylesinger_paper.yaml) and
   of VCFM-T (conf/tuning/train_performsinger_paper.yaml) at paper size, on a synthetic batch of
   utterances of the paper's mean length (11.4 s; bench/bench_models.py builds model and batch)
   as many as the config's batch_bins hold, in float32 and with bfloat16 autocast (torch.amp):
   step time, torch.cuda.max_memory_allocated, whether the loss is finite. Then the largest batch
   that fits in 90 % of the card (torch.cuda.set_per_process_memory_fraction): the utterance count
   doubled until torch.cuda.OutOfMemoryError, then bisected, two steps per try; reported as
   batch_bins (utterances x frames x hop).
2. lipread: an epoch of lip-reading pretraining (espnet2_ext/lipread/trainer.py, conf/tuning/
   lip_pretrain_paper.yaml, float32 and use_amp) and the lip-reading head fit on the frozen
   encoder (espnet2_ext/lipread/head_fit.py, conf/lip_reader_fit.yaml, the VCFM-T config's heads),
   on synthetic mouth crops.
3. inference: one 5 s line at paper size with the default decode (conf/decode_fast.yaml, VCFM-T)
   and DDIM-10 (conf/decode_ddim10.yaml, the DDPM system conf/tuning/train_performsinger_ddpm_paper.yaml),
   float32 and bfloat16, durations teacher-forced as in bench/bench_sampling.py: seconds and RTF.
4. recipe: stages 5-7 of a tiny demo subset through ./run.sh --ngpu 1 --gpu_inference true (CPU:
   --ngpu 0) in a copy of the recipe, then stage 7 again on the CPU; asserts the models and
   decodes exist and that every phone's duration of the two decodes agrees within one frame.
   Stages 1-4 (demo corpus, audio features, lip crops, statistics) need ffmpeg, the d-vector and F0
   extractors: they run where those are installed, and travel as --recipe_data, a tar.gz that
   --make_recipe_data writes (bench/make_gpu_bundle.sh puts it into .whl/). Without one, a
   synthetic stage-3 dump (tests/support/tiny_dump.py) and stages 4-7; --recipe_data demo runs
   stages 1-7 (where stages 1-3 can run).

--tiny: demo configs shrunk further (tests/support/configs.py), 1-2 steps, tiny batches and data,
a memory search capped at 2 utterances; runs in the test suite (tests/integration/test_gpu_check.py).
"""

import argparse
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import traceback
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "egs2" / "visualsinger" / "svs1"
for _p in (REPO / "bench", REPO):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import numpy as np  # noqa: E402
import torch  # noqa: E402

PAPER_MEAN_S = 3.07 * 3600 / 967  # the paper's mean training utterance (11.4 s)
MEM_FRACTION = 0.9
BUDGET_SHARES = {"training": 0.36, "lipread": 0.12, "inference": 0.12, "recipe": 0.40}
DEMO_SUBSET = ("--demo_utts_per_singer 3 --demo_ood_utts_per_singer 1 --demo_newlyrics_utts_per_singer 1 "
               "--demo_newlyrics_ood_utts 1")
# the recipe's main comparison only, on test: no extra decode configs, reference settings, lip controls
RECIPE_OPTS = ["--test_sets", "test", "--ref_settings", "", "--lip_controls", "", "--extra_inference_configs", "",
               "--timing_control", "false", "--decode_systems", "svs_performsinger", "--nj", "2"]
RECIPE_DATA_NAME = "recipe_demo_tiny.tar.gz"
ROOT_MARK = "RECIPE_ROOT"


# ---------------------------------------------------------------------------------------------- helpers
class Deadline:
    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def to_device(data, device):
    if isinstance(data, torch.Tensor):
        return data.to(device)
    if isinstance(data, dict):
        return {k: to_device(v, device) for k, v in data.items()}
    return data


def peak_bytes(device) -> int:
    return int(torch.cuda.max_memory_allocated(device)) if device.type == "cuda" else 0


def reset_peak(device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def gib(b) -> float:
    return round(b / 2**30, 3)


def shrunk(name: str, out: Path) -> Path:
    from tests.support.configs import shrunk_config

    return shrunk_config(name, out)


# ---------------------------------------------------------------------------------------------- 1 training
def train_steps(model, opt, data, device, amp: bool, steps: int):
    """``steps`` optimiser steps; -> (seconds per step, losses)."""
    times, losses = [], []
    for _ in range(steps):
        sync(device)
        t0 = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            loss = model(**data)[0]
        opt.zero_grad(set_to_none=True)
        loss.float().backward()
        opt.step()
        sync(device)
        times.append(time.perf_counter() - t0)
        losses.append(float(loss.detach().float()))
    return times, losses


def fits(model, opt, conf, n_utts: int, sec: float, device, amp: bool, steps: int):
    """Whether ``n_utts`` utterances of ``sec`` s train for ``steps`` steps; -> (fits, peak bytes, error)."""
    from bench_models import batch

    reset_peak(device)
    oom = None
    try:
        data = to_device(batch(conf, n_utts, sec), device)
        train_steps(model, opt, data, device, amp, steps)
    except torch.cuda.OutOfMemoryError as e:
        oom = str(e).splitlines()[0][:200]
    data = None  # noqa: F841 - free the batch (and, outside the except block, the traceback's frames)
    opt.zero_grad(set_to_none=True)
    peak = peak_bytes(device)
    reset_peak(device)
    return oom is None, peak, oom


def largest_batch(model, opt, conf, start: int, sec: float, device, amp: bool, deadline: Deadline, cap: int,
                  steps: int = 2):
    """Doubling from ``start`` utterances until out of memory (or ``cap``), then bisection."""
    trials, lo, hi, n = [], 0, None, max(1, start)
    while hi is None and n <= cap:
        if deadline.left() < 5:
            return dict(trials=trials, largest_fit=lo or None, first_fail=hi, stopped="time budget")
        ok, peak, err = fits(model, opt, conf, n, sec, device, amp, steps)
        trials.append(dict(utts=n, fits=ok, peak_gib=gib(peak)))
        if ok:
            lo, n = n, n * 2
        else:
            hi = n
    if hi is None:
        return dict(trials=trials, largest_fit=lo, first_fail=None, stopped=f"cap of {cap} utterances")
    while hi - lo > max(1, lo // 16):
        if deadline.left() < 5:
            return dict(trials=trials, largest_fit=lo or None, first_fail=hi, stopped="time budget")
        mid = (lo + hi) // 2
        ok, peak, _ = fits(model, opt, conf, mid, sec, device, amp, steps)
        trials.append(dict(utts=mid, fits=ok, peak_gib=gib(peak)))
        lo, hi = (mid, hi) if ok else (lo, mid)
    return dict(trials=trials, largest_fit=lo or None, first_fail=hi, stopped=None)


def part_training(args, device, deadline, work: Path):
    from bench_models import batch, build

    if args.tiny:
        configs = {"stage_one": shrunk("train_stylesinger.yaml", work), "vcfm_t": shrunk("train_performsinger.yaml", work)}
        sec, steps = 1.0, 1
    else:
        configs = {"stage_one": RECIPE / "conf/tuning/train_stylesinger_paper.yaml",
                   "vcfm_t": RECIPE / "conf/tuning/train_performsinger_paper.yaml"}
        sec, steps = PAPER_MEAN_S, 3
    out = {}
    for i, (stage, path) in enumerate(configs.items()):
        stage_deadline = Deadline(deadline.left() / (len(configs) - i))
        torch.manual_seed(0)
        model, conf = build(path)
        model.to(device).train()
        fb = conf["feats_extract_conf"]
        hop, frames = fb["hop_length"], int(sec * fb["fs"] / fb["hop_length"]) + 1
        bins = conf.get("batch_bins") if conf.get("batch_type") == "numel" else None
        n_utts = max(1, int(bins) // (frames * hop)) if bins else 2
        opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-4)
        res = dict(config=str(Path(path).relative_to(RECIPE)) if not args.tiny else Path(path).name,
                   params_m=round(sum(p.numel() for p in model.parameters()) / 1e6, 2),
                   trained_m=round(sum(p.numel() for p in model.parameters() if p.requires_grad) / 1e6, 2),
                   batch_bins=bins, utts=n_utts, utt_s=round(sec, 2), frames_per_utt=frames, runs={})
        data = to_device(batch(conf, n_utts, sec), device)
        for name, amp in (("float32", False), ("bf16_amp", True)):
            reset_peak(device)
            t, losses = train_steps(model, opt, data, device, amp, steps + (0 if args.tiny else 1))
            t = t if args.tiny else t[1:]  # the first step warms up cuDNN and allocates Adam's moments
            res["runs"][name] = dict(step_s=round(float(np.median(t)), 4), peak_gib=gib(peak_bytes(device)),
                                     loss=losses[-1], finite=all(math.isfinite(v) for v in losses))
        data = None
        opt.zero_grad(set_to_none=True)
        reset_peak(device)
        res["memory_search"] = {}
        if device.type == "cuda":
            total = torch.cuda.get_device_properties(device).total_memory
            res["card_gib"] = gib(total)
            torch.cuda.set_per_process_memory_fraction(MEM_FRACTION, device)
            try:
                for name, amp in (("float32", False), ("bf16_amp", True)):
                    if stage_deadline.left() < 10:
                        res["memory_search"][name] = dict(stopped="time budget", largest_fit=None)
                        continue
                    s = largest_batch(model, opt, conf, n_utts, sec, device, amp, stage_deadline, cap=64 * n_utts)
                    if s["largest_fit"]:
                        s["largest_batch_bins"] = s["largest_fit"] * frames * hop
                    res["memory_search"][name] = s
            finally:
                torch.cuda.set_per_process_memory_fraction(1.0, device)
        else:  # no card to fill: the same search, capped at 2 utterances
            s = largest_batch(model, opt, conf, 1, sec, device, False, stage_deadline, cap=2, steps=1)
            s["largest_batch_bins"] = s["largest_fit"] * frames * hop if s["largest_fit"] else None
            res["memory_search"]["float32"] = s
        out[stage] = res
        model = opt = None
        reset_peak(device)
    ok = all(r["finite"] for s in out.values() for r in s["runs"].values())
    return ok, out


# ---------------------------------------------------------------------------------------------- 2 lip reading
def write_lip_data(root: Path, n_train: int, n_valid: int, sec: float, seed: int = 0):
    """Synthetic mouth crops (T_v, 96, 96) uint8 and phone labels: lip.scp / label per set, tokens."""
    rng = np.random.default_rng(seed)
    phones = ["SP", "n", "i", "h", "ao", "AP", "a", "m", "en"]
    t_v = int(round(sec * 25))
    root.mkdir(parents=True, exist_ok=True)
    sets = {}
    for name, n in (("train", n_train), ("valid", n_valid)):
        scp, lab = [], []
        for i in range(n):
            utt = f"{name}{i:03d}"
            path = root / f"{utt}.npy"
            base = rng.integers(0, 255, size=(1, 96, 96), dtype=np.uint8)
            drift = rng.integers(0, 30, size=(t_v, 1, 1), dtype=np.uint8)
            np.save(path, (base + drift).astype(np.uint8))
            cuts = np.sort(rng.uniform(0, sec, size=7))
            edges = [0.0, *cuts.tolist(), sec]
            seg = [f"{edges[k]:.3f} {edges[k + 1]:.3f} {phones[k % len(phones)]}" for k in range(len(edges) - 1)]
            scp.append(f"{utt} {path}")
            lab.append(f"{utt} {' '.join(seg)}")
        (root / f"{name}_lip.scp").write_text("\n".join(scp) + "\n")
        (root / f"{name}_label").write_text("\n".join(lab) + "\n")
        sets[name] = (str(root / f"{name}_lip.scp"), str(root / f"{name}_label"))
    tokens = ["<blank>", "<unk>", *phones, "<sos/eos>"]
    return sets, tokens


def part_lipread(args, device, deadline, work: Path):
    from espnet2_ext.lipread.head_fit import fit_lip_reader
    from espnet2_ext.lipread.trainer import train
    from espnet2_ext.svs.lip_encoder import LipEncoder
    from espnet2_ext.utils.config import load_config

    pre = load_config(RECIPE / ("conf/lip_pretrain.yaml" if args.tiny else "conf/tuning/lip_pretrain_paper.yaml"))
    fit = load_config(RECIPE / "conf/lip_reader_fit.yaml")
    svs = load_config(RECIPE / ("conf/train_performsinger.yaml" if args.tiny else
                                "conf/tuning/train_performsinger_paper.yaml"))["svs_conf"]
    head_conf = dict(svs["lip_reader_conf"])
    if args.tiny:
        pre["encoder_conf"].update(output_dim=16, frontend_channels=4, trunk_channels=4)
        pre.update(head_hidden=16, batch_size=2)
        head_conf.update(hidden=16, heads=1)
        n_train, n_valid, sec = 4, 2, 1.0
    else:
        n_train, n_valid, sec = 3 * int(pre["batch_size"]), int(pre["batch_size"]), 3.0
    sets, tokens = write_lip_data(work / "lips", n_train, n_valid, sec)
    pre.update(epochs=1, num_threads=max(1, torch.get_num_threads()))
    out = dict(encoder_conf=pre["encoder_conf"], batch_size=pre["batch_size"], train_utts=n_train, utt_s=sec, runs={})
    ngpu = 1 if device.type == "cuda" else 0
    enc_path = None
    for name, amp in (("float32", False), ("amp", True)):
        if amp and device.type != "cuda":
            continue  # the trainer's use_amp is GPU only
        if deadline.left() < 10:
            out["runs"][name] = dict(skipped="time budget")
            continue
        run_dir = work / f"lip_pretrain_{name}"
        a = SimpleNamespace(train_lip_scp=sets["train"][0], train_label=sets["train"][1], valid_lip_scp=sets["valid"][0],
                            valid_label=sets["valid"][1], out_dir=str(run_dir), resume=False, config="gpu_check",
                            ngpu=ngpu)
        reset_peak(device)
        t0 = time.perf_counter()
        log = train(a, {**pre, "use_amp": amp})
        ep = log["epochs"][-1]
        out["runs"][name] = dict(seconds=round(time.perf_counter() - t0, 2), steps=math.ceil(n_train / pre["batch_size"]),
                                 train_loss=ep["train_loss"], finite=math.isfinite(ep["train_loss"]),
                                 peak_gib=gib(peak_bytes(device)))
        enc_path = enc_path or str(run_dir / "lip_encoder.pth")
    if deadline.left() < 10:
        out["head_fit"] = dict(skipped="time budget")
    else:
        enc_conf = {k: v for k, v in pre["encoder_conf"].items() if k not in ("pretrained", "freeze")}
        encoder = LipEncoder({**enc_conf, "pretrained": enc_path, "freeze": True})
        c = {**fit, "epochs": 1 if args.tiny else 2, "num_jobs": 1, "batch_size": 2 if args.tiny else fit["batch_size"]}
        data = dict(train_lip_scp=sets["train"][0], train_label=sets["train"][1], valid_lip_scp=sets["valid"][0],
                    valid_label=sets["valid"][1])
        reset_peak(device)
        t0 = time.perf_counter()
        log = fit_lip_reader(encoder, tokens, int(head_conf.get("hidden", 64)), data, str(work / "lip_reader" / "lip_reader.pth"),
                             c, heads=int(head_conf.get("heads", 1)), device=str(device))
        kept = log["kept"]
        out["head_fit"] = dict(seconds=round(time.perf_counter() - t0, 2), heads=len(log["heads"]), epochs=c["epochs"],
                               valid_loss=kept["valid_loss"], finite=math.isfinite(kept["valid_loss"]),
                               peak_gib=gib(peak_bytes(device)))
    ok = all(r.get("finite", True) for r in out["runs"].values()) and out["head_fit"].get("finite", True)
    return ok, out


# ---------------------------------------------------------------------------------------------- 3 inference
def part_inference(args, device, deadline, work: Path):
    import yaml

    from bench_models import batch, build

    from espnet2_ext.svs.precision import resolve_precision

    sec = 1.0 if args.tiny else 5.0
    repeats = 1 if args.tiny else 3
    systems = [("default", "conf/decode_fast.yaml", "train_performsinger.yaml", "conf/tuning/train_performsinger_paper.yaml"),
               ("ddim10", "conf/decode_ddim10.yaml", "train_performsinger_ddpm.yaml",
                "conf/tuning/train_performsinger_ddpm_paper.yaml")]
    rows = []
    for name, decode, tiny_conf, paper_conf in systems:
        torch.manual_seed(0)
        model, conf = build(shrunk(tiny_conf, work) if args.tiny else RECIPE / paper_conf)
        model.to(device).eval()
        dec = yaml.safe_load((RECIPE / decode).read_text())
        data = to_device(batch(conf, 1, sec), device)
        frames = int(data["feats_lengths"][0])
        for precision in ("float32", "bfloat16"):
            if deadline.left() < 5:
                rows.append(dict(decode=name, precision=precision, skipped="time budget"))
                continue
            kw = dict(sampler=dec.get("sampler", "auto"), steps=int(dec.get("steps", 10)), seed=dec.get("seed", 0),
                      precision=precision)
            times = []
            for _ in range(repeats + (0 if args.tiny else 1)):
                sync(device)
                t0 = time.perf_counter()
                with torch.inference_mode():
                    o = model.inference(text=data["text"][0], label=data["label"], melody=data["melody"],
                                        duration=data["duration"], spembs=data["spembs"][0], lip=data["lip"],
                                        lip_lengths=data["lip_lengths"], use_teacher_forcing=True, **kw)
                sync(device)
                times.append(time.perf_counter() - t0)
            t = float(np.median(times if args.tiny else times[1:]))
            mel = o["feat_gen"]
            rows.append(dict(decode=name, config=paper_conf if not args.tiny else tiny_conf, sampler=kw["sampler"],
                             steps=kw["steps"], precision=str(resolve_precision(precision, device)).replace("torch.", ""),
                             line_s=sec, frames=frames, seconds=round(t, 4), rtf=round(t / sec, 4),
                             finite=bool(torch.isfinite(mel).all()), mel_frames=int(mel.shape[0])))
        model = None
        reset_peak(device)
    ok = all(r.get("finite", False) for r in rows)
    return ok, dict(rows=rows)


# ---------------------------------------------------------------------------------------------- 4 recipe
def recipe_copy(dst: Path) -> Path:
    shutil.copytree(RECIPE, dst, ignore=shutil.ignore_patterns("data", "dump", "exp", "downloads", "corpus"))
    for name in ("lip_pretrain.yaml", "lip_reader_fit.yaml"):  # one epoch; the heads fitted in this process
        text, n = re.subn(r"(?m)^epochs: \d+", "epochs: 1", (dst / "conf" / name).read_text())
        assert n == 1, f"conf/{name} has no 'epochs:' line"
        text = re.sub(r"(?m)^num_jobs: \d+", "num_jobs: 1", text)
        (dst / "conf" / name.replace(".yaml", "_check.yaml")).write_text(text)
    return dst


def recipe_env(work: Path) -> dict:
    """run.sh's environment: path.sh sources <ESPNET2_EXT_ROOT>/.venv/bin/activate; this one puts
    this interpreter first on PATH and the repository on PYTHONPATH (the GPU machine has no venv)."""
    root = work / "root"
    act = root / ".venv" / "bin" / "activate"
    act.parent.mkdir(parents=True, exist_ok=True)
    act.write_text(f'export PATH="{Path(sys.executable).parent}:$PATH"\n'
                   f'export PYTHONPATH="{REPO}${{PYTHONPATH:+:$PYTHONPATH}}"\n')
    env = dict(os.environ, ESPNET2_EXT_ROOT=str(root))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def run_recipe(recipe: Path, env: dict, args_list, timeout: float, log: Path) -> str:
    cmd = ["./run.sh", "--python", sys.executable, *args_list]
    with open(log, "a") as f:
        f.write(f"$ {' '.join(cmd)}\n")
        f.flush()
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, cwd=recipe, env=env, stdout=f, stderr=subprocess.STDOUT, text=True,
                                  timeout=max(timeout, 1))
        except subprocess.TimeoutExpired as e:
            raise TimeoutError(f"{' '.join(args_list[:4])}... ran past the part's time budget ({timeout:.0f} s)") from e
        f.write(f"# exit {proc.returncode} after {time.perf_counter() - t0:.1f} s\n")
    if proc.returncode != 0:
        tail = log.read_text()[-3000:]
        raise RuntimeError(f"./run.sh {' '.join(args_list[:4])} failed (exit {proc.returncode}):\n{tail}")
    return log.read_text()


def write_synthetic_dump(recipe: Path) -> None:
    """Stage 3's output for train / dev / test without videos (tests/support/tiny_dump.py per set), so
    that the recipe runs from stage 4."""
    from tests.support.tiny_dump import write_tiny_dump

    for k, dset in enumerate(("train", "dev", "test")):
        d = write_tiny_dump(recipe / "dump" / "raw" / dset, n_utts=4 if dset == "train" else 2, seed=k)
        (d / "tokens.txt").unlink()
        spk = {}
        for line in (d / "utt2spk").read_text().splitlines():
            u, s = line.split()
            spk.setdefault(s, []).append(u)
        (d / "spk2utt").write_text("".join(f"{s} {' '.join(us)}\n" for s, us in sorted(spk.items())))
        (d / "video.scp").write_text("")
        for marker in (".audio.done", ".lip.done"):
            (d / marker).touch()
    (recipe / "data").mkdir(exist_ok=True)
    (recipe / "data" / ".done").touch()


def make_recipe_data(out: Path, work: Path, timeout: float = 1800) -> Path:
    """Stages 1-4 of the tiny demo subset (this machine: ffmpeg, d-vectors, F0, lip crops) -> a tar.gz
    of data/, dump/ and the statistics, which --recipe_data unpacks into another recipe copy."""
    recipe = recipe_copy(work / "svs1")
    env = recipe_env(work)
    log = work / "prepare.log"
    run_recipe(recipe, env, ["--stage", "1", "--stop_stage", "4", "--local_data_opts", DEMO_SUBSET,
                             "--lip_front_end", "haar", *RECIPE_OPTS], timeout, log)
    (recipe / ROOT_MARK).write_text(str(recipe))
    out.parent.mkdir(parents=True, exist_ok=True)
    skip = re.compile(r"(^|/)(logs|face_track)(/|$)|\.mp4$")
    with tarfile.open(out, "w:gz") as tar:
        for top in (ROOT_MARK, "data", "dump", "exp/svs_stats_raw_phn"):
            tar.add(recipe / top, arcname=top, filter=lambda ti: None if skip.search(ti.name) else ti)
    return out


def unpack_recipe_data(tgz: Path, recipe: Path) -> None:
    """Unpack --make_recipe_data's tar.gz into ``recipe`` and point its lists at the new place; the
    demo videos stay behind (video.scp emptied: stage 7 dubs no video)."""
    with tarfile.open(tgz) as tar:
        tar.extractall(recipe, filter="data")
    old = (recipe / ROOT_MARK).read_text().strip()
    for path in [*(recipe / "dump").rglob("*"), *(recipe / "data").rglob("*"), *(recipe / "exp").rglob("*")]:
        if not path.is_file() or path.suffix in (".npy", ".wav", ".ark", ".npz", ".mp4") or path.stat().st_size > 2**20:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if old in text:
            path.write_text(text.replace(old, str(recipe)))
    for scp in (recipe / "dump" / "raw").glob("*/video.scp"):
        scp.write_text("")


def read_durations(path: Path) -> dict:
    return {ln.split()[0]: [int(x) for x in ln.split()[1:]] for ln in path.read_text().splitlines() if ln.strip()}


def part_recipe(args, device, deadline, work: Path):
    recipe = recipe_copy(work / "svs1")
    env = recipe_env(work)
    log = Path(args.out) / "recipe.log"
    data = args.recipe_data
    if data == "auto":
        bundled = REPO / ".whl" / RECIPE_DATA_NAME
        data = str(bundled) if bundled.is_file() else "synthetic"
    if data == "synthetic":
        write_synthetic_dump(recipe)
        first = 4
    elif data == "demo":
        first = 1
    else:
        unpack_recipe_data(Path(data), recipe)
        first = 5
    ngpu = 1 if device.type == "cuda" else 0
    common = ["--train_args", "--max_epoch 1 --batch_size 2", "--lip_pretrain_config", "conf/lip_pretrain_check.yaml",
              "--lip_reader_fit_config", "conf/lip_reader_fit_check.yaml", "--lip_front_end", "haar", *RECIPE_OPTS]
    if first == 1:
        common += ["--local_data_opts", DEMO_SUBSET]
    t0 = time.perf_counter()
    run_recipe(recipe, env, ["--stage", str(first), "--stop_stage", "7", "--ngpu", str(ngpu),
                             "--gpu_inference", str(ngpu > 0).lower(), *common], deadline.left() - 5, log)
    t_main = time.perf_counter() - t0
    exp = recipe / "exp"
    for f in ("svs_stylesinger/valid.loss_synth.best.pth", "svs_performsinger/valid.loss_synth.best.pth",
              "lip_pretrain/lip_encoder.pth", "svs_performsinger/lip_reader/lip_reader.pth"):
        assert (exp / f).is_file(), f"the recipe left no exp/{f}"
    (dec,) = [p for p in (exp / "svs_performsinger").glob("decode_*/test") if "cpu_check" not in str(p)]
    wavs = [ln.split()[1] for ln in (dec / "wav.scp").read_text().splitlines() if ln.strip()]
    assert wavs and all(Path(w).is_file() for w in wavs), f"{dec}: no decoded wavs"
    t0 = time.perf_counter()
    run_recipe(recipe, env, ["--stage", "7", "--stop_stage", "7", "--ngpu", "0", "--gpu_inference", "false",
                             "--inference_tag", "decode_cpu_check", *common], deadline.left() - 2, log)
    t_cpu = time.perf_counter() - t0
    ref = read_durations(exp / "svs_performsinger" / "decode_cpu_check" / "test" / "durations")
    got = read_durations(dec / "durations")
    assert got and set(got) == set(ref), f"decoded utterances differ: {sorted(got)} vs {sorted(ref)}"
    diffs = {}
    for utt in sorted(ref):
        assert len(got[utt]) == len(ref[utt]), f"{utt}: {len(got[utt])} vs {len(ref[utt])} phones"
        diffs[utt] = max((abs(a - b) for a, b in zip(got[utt], ref[utt])), default=0)
    max_diff = max(diffs.values())
    train_log = (exp / "svs_performsinger" / "train.log").read_text(errors="replace")
    decode_log = "".join(p.read_text(errors="replace") for p in (dec / "logs").glob("decode.*.log"))
    res = dict(data=data if data in ("synthetic", "demo") else Path(data).name, first_stage=first, ngpu=ngpu,
               gpu_inference=ngpu > 0, seconds_stages=round(t_main, 1), seconds_cpu_decode=round(t_cpu, 1),
               decode_dir=str(dec.relative_to(recipe)), utterances=len(ref), max_duration_diff_frames=max_diff,
               frames_equal=sum(a == b for u in ref for a, b in zip(got[u], ref[u])),
               phones=sum(len(v) for v in ref.values()), train_ngpu_in_log=f"--ngpu {ngpu}" in train_log,
               decode_ngpu_in_log=f"--ngpu {ngpu}" in decode_log)
    return max_diff <= 1, res


# ---------------------------------------------------------------------------------------------- report
def device_info(device) -> dict:
    info = dict(python=platform.python_version(), torch=torch.__version__, cuda=torch.version.cuda,
                device=str(device), host_cpus=os.cpu_count(), torch_threads=torch.get_num_threads())
    if device.type == "cuda":
        p = torch.cuda.get_device_properties(device)
        info.update(gpu=p.name, gpu_gib=gib(p.total_memory), sm=f"{p.major}.{p.minor}",
                    bf16=torch.cuda.is_bf16_supported())
    try:
        info["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                        text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        info["commit"] = None
    try:
        import espnet

        info["espnet"] = espnet.__version__
    except Exception as e:  # noqa: BLE001 - reported, the parts say what fails
        info["espnet"] = f"not importable: {e}"
    return info


def summary(name: str, part: dict) -> str:
    r = part.get("result") or {}
    if part.get("error"):
        return part.get("error_line") or part["error"].strip().splitlines()[-1][:160]
    if name == "training":
        bits = []
        for stage, s in r.items():
            runs = ", ".join(f"{k} {v['step_s']:.3f} s/step {v['peak_gib']:.1f} GiB" for k, v in s["runs"].items())
            fit = s["memory_search"].get("float32", {})
            bits.append(f"{stage}: {s['utts']} x {s['utt_s']:g} s; {runs}; largest float32 batch_bins "
                        f"{fit.get('largest_batch_bins')}")
        return "; ".join(bits)
    if name == "lipread":
        runs = ", ".join(f"{k} {v.get('seconds', '-')} s" for k, v in r.get("runs", {}).items())
        return f"pretraining {runs}; head fit {r.get('head_fit', {}).get('seconds', '-')} s"
    if name == "inference":
        return ", ".join(f"{x['decode']} {x['precision']} RTF {x['rtf']}" for x in r.get("rows", []) if "rtf" in x)
    if name == "recipe":
        return (f"stages {r.get('first_stage')}-7 in {r.get('seconds_stages')} s, {r.get('utterances')} utterances, "
                f"max duration difference {r.get('max_duration_diff_frames')} frame(s)")
    return ""


def markdown(report: dict) -> str:
    m = report["meta"]
    lines = [f"# GPU check ({m['device']}{', tiny' if m['tiny'] else ''})", "",
             f"{m.get('gpu', 'no GPU')}, torch {m['torch']} (CUDA {m['cuda']}), Python {m['python']}, espnet "
             f"{m.get('espnet')}, commit {m.get('commit')}, {m['started']}", "",
             "| part | ok | seconds | summary |", "|---|---|---|---|"]
    for name, part in report["parts"].items():
        ok = {True: "yes", False: "NO"}.get(part.get("ok"), "-")
        lines.append(f"| {name} | {ok} | {part.get('seconds', '-')} | {summary(name, part)} |")
    tr = (report["parts"].get("training") or {}).get("result") or {}
    if tr:
        lines += ["", "| stage | params (M) | batch | precision | step (s) | peak (GiB) | loss finite | largest batch_bins in "
                  f"{int(MEM_FRACTION * 100)} % |", "|---|---|---|---|---|---|---|---|"]
        for stage, s in tr.items():
            for prec, v in s["runs"].items():
                fit = s["memory_search"].get(prec, {})
                lines.append(f"| {stage} | {s['params_m']} | {s['utts']} x {s['utt_s']:g} s (bins {s['batch_bins']}) | {prec} "
                             f"| {v['step_s']} | {v['peak_gib']} | {v['finite']} | {fit.get('largest_batch_bins', '-')} "
                             f"({fit.get('largest_fit', '-')} utts{'; ' + fit['stopped'] if fit.get('stopped') else ''}) |")
    inf = (report["parts"].get("inference") or {}).get("result") or {}
    if inf.get("rows"):
        lines += ["", "| decode | sampler | steps | precision | seconds | RTF | finite |", "|---|---|---|---|---|---|---|"]
        for x in inf["rows"]:
            if "rtf" in x:
                lines.append(f"| {x['decode']} | {x['sampler']} | {x['steps']} | {x['precision']} | {x['seconds']} "
                             f"| {x['rtf']} | {x['finite']} |")
    return "\n".join(lines) + "\n"


def write_report(report: dict, out: Path) -> None:
    (out / "gpu_check.json").write_text(json.dumps(report, indent=2, default=str))
    (out / "gpu_check.md").write_text(markdown(report))


PARTS = {"training": part_training, "lipread": part_lipread, "inference": part_inference, "recipe": part_recipe}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    p.add_argument("--tiny", action="store_true", help="tiny models, 1-2 steps, tiny data (the test suite's run)")
    p.add_argument("--out", default="gpu_check_out", help="directory of gpu_check.json, gpu_check.md, recipe.log")
    p.add_argument("--budget_s", type=float, default=420.0, help="wall-clock budget of the four parts together")
    p.add_argument("--parts", nargs="+", default=list(PARTS), choices=list(PARTS))
    p.add_argument("--recipe_data", default="auto",
                   help="stages 1-4 output of the recipe part: a --make_recipe_data tar.gz, 'synthetic', 'demo' "
                        f"(run stages 1-4 here) or auto (.whl/{RECIPE_DATA_NAME} if there, else synthetic)")
    p.add_argument("--make_recipe_data", default=None, metavar="TAR_GZ",
                   help="only run stages 1-4 of the tiny demo subset on this machine and write them to TAR_GZ")
    p.add_argument("--workdir", default=None, help="scratch directory (default: a temporary one, removed)")
    args = p.parse_args(argv)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="gpu_check_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        if args.make_recipe_data:
            path = make_recipe_data(Path(args.make_recipe_data).resolve(), work)
            print(f"{path}: {path.stat().st_size / 2**20:.1f} MiB")
            return 0
        return run_parts(args, work)
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


def run_parts(args, work: Path) -> int:
    if args.device == "cuda" and not torch.cuda.is_available():
        print("--device cuda: CUDA is not available here", file=sys.stderr)
        return 2
    device = torch.device(args.device)
    out = Path(args.out).resolve()
    args.out = str(out)
    out.mkdir(parents=True, exist_ok=True)
    report = dict(meta=dict(device_info(device), tiny=args.tiny, budget_s=args.budget_s,
                            started=time.strftime("%Y-%m-%d %H:%M:%S %Z")), parts={})
    start = time.monotonic()
    shares = {k: BUDGET_SHARES[k] for k in args.parts}
    for i, name in enumerate(args.parts):
        left = args.budget_s - (time.monotonic() - start)
        later = sum(shares[k] for k in args.parts[i:])
        budget = max(5.0, left * shares[name] / later)  # what earlier parts left unused goes to the later ones
        t0 = time.perf_counter()
        part = dict(budget_s=round(budget, 1))
        (work / name).mkdir(parents=True, exist_ok=True)
        try:
            part["ok"], part["result"] = PARTS[name](args, device, Deadline(budget), work / name)
        except Exception as e:  # noqa: BLE001 - recorded; the other parts still run
            part["ok"], part["error"] = False, traceback.format_exc()[-4000:]
            part["error_line"] = f"{type(e).__name__}: {str(e).strip().splitlines()[0][:300] if str(e).strip() else ''}"
        finally:
            if device.type == "cuda":
                torch.cuda.empty_cache()
        part["seconds"] = round(time.perf_counter() - t0, 1)
        report["parts"][name] = part
        write_report(report, out)
        print(f"{name}: {'ok' if part['ok'] else 'FAILED'} in {part['seconds']} s", flush=True)
    report["meta"]["seconds"] = round(time.monotonic() - start, 1)
    write_report(report, out)
    print((out / "gpu_check.md").read_text())
    return 0 if all(p["ok"] for p in report["parts"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
