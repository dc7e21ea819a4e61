"""Training loop of lip-reading pretraining (resumable, atomic outputs).

    train set --LipReader--> cross-entropy on labelled frames --Adam--> per epoch:
        valid frame accuracy -> log.json;  checkpoint.pth (model + optimiser + epoch + vocab +
        random states); lip_encoder.pth (this project's layout) of the best valid epoch

Runs on the device of ``args.ngpu`` (0: CPU, 1: the first GPU), with mixed precision when the
config says ``use_amp: true`` (GPU only). ``--resume`` continues after the last finished epoch
with the random states that epoch ended with (shuffling, crop/flip augmentation, torch), so a run
killed mid-epoch and resumed ends with the model of an uninterrupted one.
"""

import logging
import math
import os
import time
from typing import Dict, Tuple

import torch

from espnet2_ext.lipread.data import IGNORE, LipFrameDataset, build_vocab, check_augment, collate
from espnet2_ext.lipread.model import LipReader
from espnet2_ext.svs.lip_checkpoint import save_checkpoint, save_lip_encoder
from espnet2_ext.utils.checkpoint_io import load_checkpoint
from espnet2_ext.utils.device import device_for
from espnet2_ext.utils.fileio import atomic_json

CONFIG_DEFAULTS = dict(
    encoder_conf={},  # LipEncoder options; must match the SVS configs' lip_encoder_conf
    head_hidden=128,
    epochs=10,
    lr=1e-3,
    lr_schedule="constant",  # "constant", or "cosine": per-step cosine decay to 0 over all epochs after warmup
    warmup_steps=0,  # linear warm-up steps (cosine schedule only)
    weight_decay=1e-4,
    batch_size=4,
    seed=0,
    fps=25.0,
    num_threads=1,
    use_amp=False,  # mixed precision (torch.autocast + GradScaler) on the GPU
    augment={},  # training-crop degradations, see lipread/data.py AUGMENT_DEFAULTS (default: none)
)


def random_states(loader_gen: torch.Generator, data_rng) -> Dict:
    """Everything an epoch draws from: torch (and CUDA), the shuffling generator, the augmentation."""
    states = dict(torch=torch.get_rng_state(), loader=loader_gen.get_state(), data=data_rng.bit_generator.state)
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_random_states(states: Dict, loader_gen: torch.Generator, data_rng) -> None:
    torch.set_rng_state(states["torch"])
    loader_gen.set_state(states["loader"])
    data_rng.bit_generator.state = states["data"]
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def evaluate(model: LipReader, loader, device: torch.device = torch.device("cpu")) -> float:
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for lip, lens, y in loader:
            lip, lens, y = lip.to(device), lens.to(device), y.to(device)
            pred = model(lip, lens).argmax(-1)
            m = y != IGNORE
            correct += int((pred[m] == y[m]).sum())
            total += int(m.sum())
    return correct / max(total, 1)


def lr_lambda(conf: Dict, steps_per_epoch: int):
    """Step -> learning-rate factor: 1 (constant), or linear warm-up then cosine decay to 0 (cosine)."""
    kind = str(conf["lr_schedule"])
    if kind == "constant":
        return lambda step: 1.0
    if kind != "cosine":
        raise ValueError(f"lr_schedule: {kind!r}; choose 'constant' or 'cosine'")
    total = max(1, int(conf["epochs"]) * steps_per_epoch)
    warm = max(0, int(conf["warmup_steps"]))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        progress = min(1.0, (step - warm) / max(1, total - warm))
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


def check_config(args, conf: Dict):
    """The config over CONFIG_DEFAULTS (unknown keys refused) -> (conf, augment); nothing written yet."""
    unknown = sorted(set(conf) - set(CONFIG_DEFAULTS))
    if unknown:
        raise ValueError(f"{args.config}: unknown keys {unknown}; known: {sorted(CONFIG_DEFAULTS)}")
    conf = {**CONFIG_DEFAULTS, **conf}
    return conf, check_augment(conf["augment"], args.config)


def run_paths(out: str, resume: bool) -> Tuple[str, str, str]:
    """-> (checkpoint.pth, lip_encoder.pth, log.json) under ``out``, which must not hold a run unless resuming."""
    ckpt_path, enc_path, log_path = (os.path.join(out, f) for f in ("checkpoint.pth", "lip_encoder.pth", "log.json"))
    os.makedirs(out, exist_ok=True)
    if not resume and any(os.path.exists(p) for p in (ckpt_path, enc_path)):
        raise FileExistsError(f"{out} already holds a pretraining run; pass --resume or use another --out_dir")
    return ckpt_path, enc_path, log_path


def build_loaders(args, conf: Dict, augment, vocab: Dict[str, int]):
    """-> (train set, its shuffling generator, train loader, valid loader); skipped utterances logged."""
    tr = LipFrameDataset(args.train_lip_scp, args.train_label, vocab, train=True, fps=conf["fps"], seed=conf["seed"],
                         augment=augment)
    va = LipFrameDataset(args.valid_lip_scp, args.valid_label, vocab, train=False, fps=conf["fps"])
    for ds, name in ((tr, "train"), (va, "valid")):
        if ds.skipped:
            logging.warning(f"{name}: {len(ds.skipped)} utterances lack lip or label, skipped (e.g. {ds.skipped[:3]})")
    g = torch.Generator().manual_seed(int(conf["seed"]))
    tr_loader = torch.utils.data.DataLoader(tr, batch_size=int(conf["batch_size"]), shuffle=True, collate_fn=collate, generator=g)
    va_loader = torch.utils.data.DataLoader(va, batch_size=int(conf["batch_size"]), shuffle=False, collate_fn=collate)
    return tr, g, tr_loader, va_loader


def build_model_and_optimiser(args, conf: Dict, n_phones: int, steps_per_epoch: int, device: torch.device):
    """-> (LipReader on ``device``, its encoder conf, GradScaler or None, AdamW, LambdaLR)."""
    enc_conf = {k: v for k, v in dict(conf["encoder_conf"]).items() if k not in ("pretrained", "freeze")}
    model = LipReader(enc_conf, n_phones, int(conf["head_hidden"])).to(device)
    scaler = torch.amp.GradScaler("cuda") if conf["use_amp"] else None
    opt = torch.optim.AdamW(model.parameters(), lr=float(conf["lr"]), weight_decay=float(conf["weight_decay"]))
    try:
        factor = lr_lambda(conf, steps_per_epoch)
    except ValueError as e:
        raise ValueError(f"{args.config}: {e}") from e
    return model, enc_conf, scaler, opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)


def restore_training(state: Dict, model: LipReader, opt, sched, scaler) -> Tuple[Dict, int]:
    """Load a checkpoint's model, optimiser, scheduler and scaler states -> (its log, epochs finished)."""
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    if "scheduler" in state:
        sched.load_state_dict(state["scheduler"])
    if scaler is not None and state.get("scaler"):
        scaler.load_state_dict(state["scaler"])
    return state["log"], state["epoch"]


def chance_accuracy(tr: LipFrameDataset, n_phones: int) -> float:
    """Frame accuracy of always guessing the most frequent training class (reads, so draws, every crop)."""
    counts = torch.zeros(n_phones)
    for i in range(len(tr)):
        y = tr[i][1]
        y = y[y != IGNORE]
        counts += torch.bincount(y, minlength=n_phones).float()
    return float(counts.max() / counts.sum().clamp(min=1))


def run_epoch(model: LipReader, opt, sched, scaler, tr_loader, va_loader, device: torch.device, epoch: int) -> Dict:
    """Train one epoch, then evaluate on valid -> the epoch's record (epoch counted from 1)."""
    model.train()
    t0, tot, n = time.time(), 0.0, 0
    for batch in tr_loader:
        tot, n = tot + train_step(model, opt, sched, scaler, batch, device), n + 1
    acc = evaluate(model, va_loader, device)
    return dict(epoch=epoch + 1, train_loss=tot / max(n, 1), valid_frame_acc=acc, seconds=time.time() - t0)


def train(args, conf: Dict) -> Dict:
    """args: train_lip_scp, train_label, valid_lip_scp, valid_label, out_dir, resume. Returns the log.

    The steps run in the order the random draws depend on: torch's seed, the loaders, the model's
    initialisation, the chance count (it draws training crops), then a resumed run's random states.
    """
    conf, augment = check_config(args, conf)
    device = device_for(int(getattr(args, "ngpu", 0)), "lip-reading pretraining")
    if conf["use_amp"] and device.type != "cuda":
        raise ValueError(f"{args.config}: use_amp: true needs a GPU (--ngpu 1); set use_amp: false on the CPU")
    torch.set_num_threads(int(conf["num_threads"]))
    torch.manual_seed(int(conf["seed"]))
    ckpt_path, enc_path, log_path = run_paths(args.out_dir, args.resume)
    state = None
    if args.resume and os.path.exists(ckpt_path):
        state = load_checkpoint(ckpt_path, what="lip pretraining checkpoint")
        phones = state["phones"]
    else:
        phones = build_vocab(args.train_label)
    tr, g, tr_loader, va_loader = build_loaders(args, conf, augment, {p: i for i, p in enumerate(phones)})
    model, enc_conf, scaler, opt, sched = build_model_and_optimiser(args, conf, len(phones), len(tr_loader), device)
    log, start = dict(phones=phones, chance=None, epochs=[]), 0
    if state is not None:
        log, start = restore_training(state, model, opt, sched, scaler)
        logging.info(f"resumed from {ckpt_path} after epoch {start}")
    if log["chance"] is None:
        log["chance"] = chance_accuracy(tr, len(phones))
    if state is not None and "random" in state:  # after the chance count, which draws crops too
        restore_random_states(state["random"], g, tr.rng)
    for epoch in range(start, int(conf["epochs"])):
        rec = run_epoch(model, opt, sched, scaler, tr_loader, va_loader, device, epoch)
        log["epochs"].append(rec)
        logging.info(f"epoch {epoch + 1}: train loss {rec['train_loss']:.4f}, "
                     f"valid frame acc {rec['valid_frame_acc']:.4f} (chance {log['chance']:.4f})")
        if rec["valid_frame_acc"] >= max(r["valid_frame_acc"] for r in log["epochs"]):
            save_lip_encoder(model.encoder, enc_path, enc_conf, overwrite=True)
            log["best_epoch"] = epoch + 1
        save_checkpoint(dict(model=model.state_dict(), optimizer=opt.state_dict(), scheduler=sched.state_dict(),
                             scaler=scaler.state_dict() if scaler is not None else None, epoch=epoch + 1, log=log,
                             phones=phones, conf=conf, random=random_states(g, tr.rng)), ckpt_path, overwrite=True)
        atomic_json(log, log_path)
    return log


def train_step(model: LipReader, opt, sched, scaler, batch, device: torch.device) -> float:
    """One optimiser step on (lip, lens, y); mixed precision when ``scaler`` is given. -> the loss."""
    lip, lens, y = (t.to(device) for t in batch)
    with torch.autocast(device.type, enabled=scaler is not None):
        logits = model(lip, lens)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), y.reshape(-1),
                                                 ignore_index=IGNORE)
    opt.zero_grad()
    if scaler is None:
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
    else:
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        scaler.step(opt)
        scaler.update()
    sched.step()
    return float(loss.detach())
