#!/usr/bin/env python3
"""Speed of the demo and paper-size models on this machine (CPU unless --device cuda).

    python bench/bench_models.py [--configs conf/train_stylesinger.yaml conf/train_performsinger.yaml]
                                 [--utt_sec 4] [--batch 8] [--threads 1] [--repeats 3]

Per config: parameter count, seconds per training step (forward + backward, batch of --batch
utterances of --utt_sec seconds), seconds per utterance of 10-step inference (sampler auto: DDIM or Euler, as the objective), real-time factor.
Numbers depend on the machine: they are measured, never asserted in tests.
"""

import argparse
import time
from pathlib import Path

import torch


import espnet2_ext  # noqa: F401
from espnet2_ext.utils.config import load_config

RECIPE = Path(__file__).resolve().parents[1] / "egs2" / "visualsinger" / "svs1"


def build(config: Path, idim: int = 62):
    from espnet2.tasks import svs as svs_task  # noqa: F401  (registers our classes)
    from espnet2.tasks.svs import svs_choices

    from espnet2_ext.tasks.visual_svs import derive_frame_grid

    conf = load_config(config)
    svs_conf = derive_frame_grid(conf["svs"], conf["svs_conf"], conf.get("feats_extract_conf"))  # frame_rate
    if isinstance(svs_conf.get("lip_encoder_conf"), dict):
        svs_conf["lip_encoder_conf"] = {**svs_conf["lip_encoder_conf"], "pretrained": None}
    model = svs_choices.get_class(conf["svs"])(idim=idim, odim=80, **svs_conf)
    return model, conf


def batch(conf, b: int, sec: float, n_phones: int = 30):
    fb = conf["feats_extract_conf"]
    t = int(sec * fb["fs"] / fb["hop_length"]) + 1
    t_v = int(round(sec * 25))
    d = torch.full((b, n_phones), t // n_phones)
    d[:, -1] += t - d.sum(1)
    lab = torch.randint(2, 60, (b, n_phones))
    midi = torch.randint(50, 70, (b, n_phones))
    full = lambda x: torch.full((b,), x)  # noqa: E731
    return dict(
        text=lab, text_lengths=full(n_phones), feats=torch.randn(b, t, 80), feats_lengths=full(t),
        label={"lab": lab}, label_lengths={"lab": full(n_phones)}, melody={"lab": midi},
        melody_lengths={"lab": full(n_phones)}, duration={"lab": d}, duration_lengths={"lab": full(n_phones)},
        pitch=torch.full((b, t, 1), 220.0), pitch_lengths=full(t), spembs=torch.randn(b, 256),
        lip=torch.randn(b, t_v, 88, 88), lip_lengths=full(t_v),
    )


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", nargs="+", default=["conf/train_stylesinger.yaml", "conf/train_performsinger.yaml"])
    p.add_argument("--utt_sec", type=float, default=4.0)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"| config | params | train step (s, batch {args.batch} x {args.utt_sec:g} s) | 10-step inference (s/utt) | RTF |")
    print("|---|---|---|---|---|")
    for name in args.configs:
        model, conf = build(RECIPE / name)
        n_params = sum(p.numel() for p in model.parameters())
        data = batch(conf, args.batch, args.utt_sec)
        opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-4)
        model.train()
        times = []
        for _ in range(args.repeats + 1):
            t0 = time.perf_counter()
            loss = model(**data)[0]
            opt.zero_grad()
            loss.backward()
            opt.step()
            times.append(time.perf_counter() - t0)
        step = sorted(times[1:])[len(times[1:]) // 2]
        model.eval()
        one = {k: (v[:1] if isinstance(v, torch.Tensor) else {kk: vv[:1] for kk, vv in v.items()})
               for k, v in data.items()}
        inf_times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            model.inference(text=one["text"][0], label=one["label"], melody=one["melody"], spembs=one["spembs"][0],
                            lip=one["lip"], lip_lengths=one["lip_lengths"], sampler="auto", steps=10)
            inf_times.append(time.perf_counter() - t0)
        inf = sorted(inf_times)[len(inf_times) // 2]
        print(f"| {name} | {n_params / 1e6:.2f} M | {step:.2f} | {inf:.2f} | {inf / args.utt_sec:.3f} |")


if __name__ == "__main__":
    main()
