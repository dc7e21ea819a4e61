"""Fit PerformSinger's lip-reading heads on a frozen lip encoder, before stage two.

    for head j = 0..K-1 (seed K * seed + j; num_jobs worker processes at a time):
      lip.scp crops (T_v, 96, 96) --crop 88 (centre + aug_views random crop/flip)--> frozen LipEncoder
          --> VF (T_v, D), computed once per view and cached
      label (seconds) --soft_frame_targets--> (T_v, C) fraction of video frame t inside a phone of
          token class c (the L_L target of lip_reading_head.py, from the label's times)
      cached (VF, target) --LipReadingHead + Adam, soft cross-entropy--> the best valid epoch
    --> LipReadingHeads (K heads, read as their mean posterior) --save_lip_reader--> lip_reader.pth

Each head writes a checkpoint after every epoch (head, optimiser, best epoch so far, random
states; ``<out_dir>/heads/head<j>.pth``): a fit killed mid-epoch and re-run with ``resume``
continues every head after its last finished epoch and ends with the heads of an uninterrupted fit.
The encoder and heads run on the device they are given (``device``: cpu or cuda).

Why a step of its own: with the lip encoder frozen (paper sec. 4, stage two), the heads read
features that nothing else in the model changes, so they do not need the acoustic model at all.
Trained inside stage two, a head gets stage two's few epochs, on one augmented draw per epoch,
beside the diffusion losses under one global gradient clip; fitted here on cached features it
converges in a minute. This is the two-stage idea applied once more: train what can be trained
alone first, then optimise jointly. The single-stage ablation (VCFM-S) keeps training its heads
with everything else, from scratch. Why several heads: docs/experiment_log.md, "Reading the lips with
several heads".
"""

import concurrent.futures
import logging
import math
import multiprocessing
import os
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from espnet2_ext.lipread.data import check_augment, crop_normalise, load_lip, read_label
from espnet2_ext.svs.lip_reading_head import LipReadingHead, LipReadingHeads, save_lip_reader, soft_nll
from espnet2_ext.utils.fileio import atomic_json, atomic_torch_save, read_scp_dict

FIT_DEFAULTS = dict(
    epochs=24,  # passes over the cached training features; the best valid epoch is kept
    lr=5.0e-3,  # Adam, constant
    batch_size=8,
    grad_clip=1.0,
    aug_views=1,  # random crop + flip views per training utterance, beside the centre crop
    augment={},  # degradations of those views, see lipread/data.py AUGMENT_DEFAULTS (default: none)
    seed=0,
    num_threads=1,  # per head
    num_jobs=1,  # heads fitted at a time, each in its own process
    fps=25.0,
)


def soft_frame_targets(segments: Sequence[Tuple[float, float, str]], n_frames: int, vocab: Dict[str, int],
                       fps: float = 25.0) -> np.ndarray:
    """(T_v, C) float32: the fraction of video frame t = [t / fps, (t + 1) / fps) that the label's
    phones of class c cover. Phones outside ``vocab`` and frames outside every phone add nothing."""
    out = np.zeros((n_frames, len(vocab)), dtype=np.float32)
    for st, et, ph in segments:
        c = vocab.get(ph)
        if c is None or et <= st:
            continue
        first, last = max(0, int(math.floor(st * fps))), min(n_frames - 1, int(math.ceil(et * fps)) - 1)
        for t in range(first, last + 1):
            overlap = min(et, (t + 1) / fps) - max(st, t / fps)
            if overlap > 0:
                out[t, c] += overlap * fps
    return out


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """logits (B, T_v, C), target (B, T_v, C) (0 on padding) -> -sum target * log p / sum target."""
    return soft_nll(torch.log_softmax(logits, dim=-1), target)


class CachedViews:
    """Frozen-encoder features of every utterance and view: a list of (utt, VF (T_v, D), target (T_v, C)).
    ``augment`` (lipread/data.py check_augment) None: every view is the centre crop; else views after
    the first are random crops / flips with its degradations."""

    def __init__(self, encoder: torch.nn.Module, lip_scp: str, label: str, vocab: Dict[str, int], views: int,
                 augment: Optional[dict], fps: float, rng: np.random.Generator, what: str):
        lips, labels = read_scp_dict(lip_scp), read_label(label)
        utts = sorted(set(lips) & set(labels))
        if not utts:
            raise ValueError(f"no utterance is in both {lip_scp} and {label}")
        missing = sorted(set(lips) ^ set(labels))
        if missing:
            logging.warning(f"{what}: {len(missing)} utterances lack lip or label, skipped (e.g. {missing[:3]})")
        self.items: List[Tuple[str, torch.Tensor, torch.Tensor]] = []
        device = next(encoder.parameters()).device
        encoder.eval()
        with torch.no_grad():
            for utt in utts:
                lip = load_lip(lips[utt], f"{lip_scp}: {utt}")
                target = torch.from_numpy(soft_frame_targets(labels[utt], lip.shape[0], vocab, fps))
                for v in range(views):
                    x = torch.from_numpy(crop_normalise(lip, train=augment is not None and v > 0, rng=rng,
                                                        augment=augment))[None]
                    vf = encoder(x.to(device), torch.tensor([x.shape[1]], device=device))[0].cpu()  # (T_v, D)
                    self.items.append((utt, vf, target))

    def batches(self, batch_size: int, order: Optional[np.ndarray] = None):
        """-> (VF (B, T_v, D), lengths (B,), target (B, T_v, C)) padded."""
        idx = np.arange(len(self.items)) if order is None else order
        for i in range(0, len(idx), batch_size):
            chunk = [self.items[j] for j in idx[i:i + batch_size]]
            lens = torch.tensor([vf.shape[0] for _, vf, _ in chunk])
            t = int(lens.max())
            vf = torch.zeros(len(chunk), t, chunk[0][1].shape[1])
            tg = torch.zeros(len(chunk), t, chunk[0][2].shape[1])
            for b, (_, f, y) in enumerate(chunk):
                vf[b, :len(f)] = f
                tg[b, :len(y)] = y
            yield vf, lens, tg


def token_vocab(token_list: Sequence[str]) -> Dict[str, int]:
    """token -> class id of the head (= its index in the SVS token list, as PerformSinger's ids)."""
    return {tok: i for i, tok in enumerate(token_list)}


def evaluate(model: torch.nn.Module, valid: CachedViews, batch_size: int) -> Dict[str, float]:
    """model: vf, lengths -> log p (B, T_v, C) (a LipReadingHead or LipReadingHeads) -> valid_loss (soft
    cross-entropy per labelled frame) and valid_frame_acc (argmax = majority class)."""
    model.eval()
    device = next(model.parameters()).device
    vl = vw = correct = frames = 0.0
    with torch.no_grad():
        for batch in valid.batches(batch_size):
            vf, lens, tg = (t.to(device) for t in batch)
            logp = model(vf, lens)
            w = float(tg.sum())
            vl, vw = vl + float(soft_nll(logp, tg)) * w, vw + w
            labelled = tg.sum(-1) > 0  # (B, T_v)
            correct += float((logp.argmax(-1) == tg.argmax(-1))[labelled].sum())
            frames += float(labelled.sum())
    return dict(valid_loss=vl / max(vw, 1e-8), valid_frame_acc=correct / max(frames, 1.0))


def check_conf(conf: Optional[dict]) -> dict:
    """FIT_DEFAULTS updated by ``conf``; unknown or out-of-range options are errors."""
    unknown = sorted(set(conf or {}) - set(FIT_DEFAULTS))
    if unknown:
        raise ValueError(f"lip-reading head fit: unknown options {unknown}; known: {sorted(FIT_DEFAULTS)}")
    c = {**FIT_DEFAULTS, **(conf or {})}
    c["augment"] = check_augment(c["augment"], "lip-reading head fit")
    if min(int(c["epochs"]), int(c["batch_size"]), int(c["num_jobs"]), int(c["num_threads"])) < 1 or int(c["aug_views"]) < 0:
        raise ValueError("lip-reading head fit: epochs, batch_size, num_jobs and num_threads must be >= 1, "
                         f"aug_views >= 0; got {c}")
    return c


def fit_head(encoder: torch.nn.Module, token_list: Sequence[str], hidden: int, data: Dict[str, str], c: dict,
             name: str = "head", device: str = "cpu", ckpt: Optional[str] = None,
             resume: bool = False) -> Tuple[Dict[str, torch.Tensor], dict]:
    """Fit one LipReadingHead with options ``c`` (check_conf) on ``device``; -> (state dict of its best
    valid epoch, log). With ``ckpt`` every epoch ends with a checkpoint there; ``resume`` continues from it."""
    torch.set_num_threads(int(c["num_threads"]))
    torch.manual_seed(int(c["seed"]))
    rng = np.random.default_rng(int(c["seed"]))
    vocab = token_vocab(token_list)
    t0 = time.time()
    encoder.to(device)
    train = CachedViews(encoder, data["train_lip_scp"], data["train_label"], vocab, 1 + int(c["aug_views"]),
                        c["augment"], float(c["fps"]), rng, "train")
    valid = CachedViews(encoder, data["valid_lip_scp"], data["valid_label"], vocab, 1, None, float(c["fps"]), rng,
                        "valid")
    logging.info(f"{name}: cached the frozen encoder's features: {len(train.items)} train views, "
                 f"{len(valid.items)} valid ({time.time() - t0:.1f} s)")
    head = LipReadingHead(train.items[0][1].shape[1], len(token_list), int(hidden)).to(device)
    opt = torch.optim.Adam(head.parameters(), lr=float(c["lr"]), betas=(0.9, 0.98))
    st = dict(epoch=0, log=dict(seed=int(c["seed"]), epochs=[], best_epoch=None), best=math.inf, best_state=None)
    if resume and ckpt and os.path.exists(ckpt):
        st = _load_head_checkpoint(ckpt, c, head, opt, rng)
        logging.info(f"{name}: resumed from {ckpt} after epoch {st['epoch']}")
    log, best, best_state = st["log"], st["best"], st["best_state"]
    for epoch in range(st["epoch"] + 1, int(c["epochs"]) + 1):
        head.train()
        tot = n = 0
        for batch in train.batches(int(c["batch_size"]), rng.permutation(len(train.items))):
            vf, lens, tg = (t.to(device) for t in batch)
            loss = soft_cross_entropy(head.logits(vf, lens), tg)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(head.parameters(), float(c["grad_clip"]))
            opt.step()
            tot, n = tot + float(loss.detach()), n + 1
        rec = dict(epoch=epoch, train_loss=tot / max(n, 1), **evaluate(head, valid, int(c["batch_size"])))
        log["epochs"].append(rec)
        logging.info(f"{name} epoch {epoch}: train loss {rec['train_loss']:.4f}, valid loss {rec['valid_loss']:.4f}, "
                     f"valid frame acc {rec['valid_frame_acc']:.4f}")
        if rec["valid_loss"] < best:
            best, log["best_epoch"] = rec["valid_loss"], epoch
            best_state = {k: v.detach().cpu().clone() for k, v in head.state_dict().items()}
        if ckpt:
            atomic_torch_save(dict(epoch=epoch, conf=c, head=head.state_dict(), optimizer=opt.state_dict(), log=log,
                                   best=best, best_state=best_state, rng=rng.bit_generator.state,
                                   torch_rng=torch.get_rng_state()), ckpt)
    return best_state, log


def _load_head_checkpoint(ckpt: str, c: dict, head: torch.nn.Module, opt, rng: np.random.Generator) -> dict:
    """Restore head, optimiser and random states from ``ckpt``; -> its epoch, log, best and best_state."""
    st = torch.load(ckpt, map_location="cpu", weights_only=True)
    if st["conf"] != c:
        raise ValueError(f"{ckpt} was fitted with other options ({st['conf']}, now {c}): "
                         "remove it (or pass --overwrite) to fit again")
    head.load_state_dict(st["head"])
    opt.load_state_dict(st["optimizer"])
    rng.bit_generator.state = st["rng"]
    torch.set_rng_state(st["torch_rng"])
    return st


def _fit_head_job(args) -> Tuple[Dict[str, torch.Tensor], dict]:
    """fit_head in a worker process (its log lines go to the inherited stderr)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", force=True)
    return fit_head(*args)


def fit_lip_reader(encoder: torch.nn.Module, token_list: Sequence[str], hidden: int, data: Dict[str, str],
                   out_path: str, conf: Optional[dict] = None, heads: int = 1, device: str = "cpu",
                   resume: bool = False) -> dict:
    """Fit ``heads`` LipReadingHeads (classes = token_list) on ``encoder``'s frozen features, head j
    with seed heads * seed + j (so fits with seeds 0, 1, ... share no head), ``num_jobs`` at a time in
    worker processes, and save each one's best valid epoch to ``out_path`` (save_lip_reader).
    data: train_lip_scp, train_label, valid_lip_scp, valid_label. Returns the log: per head the
    per-epoch train / valid loss and valid frame accuracy; under "kept" the saved heads' valid scores.
    Head j's per-epoch checkpoint is <dir of out_path>/heads/head<j>.pth; ``resume`` continues from them."""
    c = check_conf(conf)
    if heads < 1:
        raise ValueError(f"lip-reading head fit: heads must be >= 1, got {heads}")
    t0 = time.time()
    ckpt_dir = os.path.join(os.path.dirname(os.path.abspath(out_path)), "heads")
    os.makedirs(ckpt_dir, exist_ok=True)
    jobs = [(encoder, list(token_list), int(hidden), data, {**c, "seed": heads * int(c["seed"]) + j},
             f"head {j + 1}/{heads}" if heads > 1 else "head fit", device, os.path.join(ckpt_dir, f"head{j}.pth"),
             resume) for j in range(heads)]
    n_jobs = min(heads, int(c["num_jobs"]))
    if n_jobs > 1:
        ctx = multiprocessing.get_context("spawn")  # no fork of a process that holds torch threads
        with concurrent.futures.ProcessPoolExecutor(n_jobs, mp_context=ctx) as pool:
            results = list(pool.map(_fit_head_job, jobs))
    else:
        results = [fit_head(*job) for job in jobs]
    visual_dim = results[0][0]["conv.weight"].shape[1]  # (H, H_v, 3)
    model = LipReadingHeads(visual_dim, len(token_list), int(hidden), heads)
    for head, (state, _) in zip(model.heads, results):
        head.load_state_dict(state)
    torch.set_num_threads(int(c["num_threads"]))
    encoder.to(device)
    model.to(device)
    valid = CachedViews(encoder, data["valid_lip_scp"], data["valid_label"], token_vocab(token_list), 1, None,
                        float(c["fps"]), np.random.default_rng(0), "valid")
    log = dict(conf=c, heads=[h_log for _, h_log in results], kept=evaluate(model, valid, int(c["batch_size"])))
    save_lip_reader(model.cpu(), out_path, list(token_list), overwrite=True)
    log["seconds"] = time.time() - t0
    atomic_json(log, os.path.splitext(out_path)[0] + ".log.json")
    return log
