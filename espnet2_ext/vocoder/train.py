"""HiFi-GAN training on the recipe's own mel pipeline.

    wav.scp --LogMelFbank (recipe conf)--> mel (T, n_mels)  [cached per utterance]
    random window of `segment_frames` mel frames  <->  wav samples [t0*hop, (t0+F)*hop)
    G: espnet HiFiGANGenerator(max(s*mel, floor)) -> wav_hat
    D: HiFiGANMultiScaleMultiPeriodDiscriminator
    L_G = adv (MSE GAN) + 2 * feature matching + 45 * L1(log-mel(wav_hat), log-mel(wav))
    L_D = MSE GAN (real -> 1, fake -> 0)
    Adam(2e-4, betas 0.8/0.99), exponential LR decay per step

Fine-tunes from the pretrained V1 generator when the mel config matches it exactly (the input
transform s = ln 10, floor ln 1e-5 is then kept); otherwise starts from scratch (s = 1).
Checkpoints: <out>/checkpoint.pth (everything, for --resume) and <out>/generator.pth
({"generator", "generator_conf", "mel_transform", "fbank_conf", "step"}), both written atomically.
"""

import logging
import math
import random
import time
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np
import torch

from espnet2_ext.utils.checkpoint_io import load_checkpoint
from espnet2_ext.utils.fileio import atomic_torch_save, read_scp
from espnet2_ext.vocoder.hifigan import (IDENTITY_MEL_TRANSFORM, PRETRAINED_MEL_TRANSFORM, V1_GENERATOR_CONF,
                                         build_generator, load_state_strict, map_reference_keys,
                                         pretrained_weight_path)
from espnet2_ext.vocoder.mel_conf import load_fbank_conf, matches_pretrained

DEFAULT_TRAIN_CONF: Dict[str, Any] = {
    "segment_frames": 32, "batch_size": 4, "lr": 2e-4, "betas": [0.8, 0.99], "lr_decay": 0.999,
    "lambda_adv": 1.0, "lambda_fm": 2.0, "lambda_mel": 45.0, "log_interval": 10, "save_interval": 200,
    "discriminator_conf": {"scales": 3, "periods": [2, 3, 5, 7, 11]}, "seed": 0,
}


class MelSegments:
    """Random (mel, wav) training windows from a wav.scp (mels computed once and cached)."""

    def __init__(self, wav_scp: str, fbank_conf: Dict[str, Any], segment_frames: int):
        import soundfile as sf
        from espnet2.tts.feats_extract.log_mel_fbank import LogMelFbank

        self.hop = fbank_conf["hop_length"]
        self.frames = segment_frames
        fbank = LogMelFbank(**fbank_conf)
        self.items = []
        for _utt, path in read_scp(wav_scp):
            wav, sr = sf.read(path, dtype="float32", always_2d=True)
            if sr != fbank_conf["fs"]:
                raise ValueError(f"{path}: {sr} Hz, fbank fs is {fbank_conf['fs']}")
            wav = wav.mean(1)
            with torch.no_grad():
                mel = fbank(torch.from_numpy(wav)[None])[0][0]
            if len(mel) > segment_frames:
                self.items.append((mel, torch.from_numpy(wav)))
        if not self.items:
            raise ValueError(f"{wav_scp}: no utterance longer than {segment_frames} mel frames")

    def batch(self, n: int, rng: random.Random):
        """(n, n_mels, F) mels and (n, 1, F*hop) wavs."""
        mels, wavs = [], []
        for _ in range(n):
            mel, wav = self.items[rng.randrange(len(self.items))]
            t0 = rng.randrange(len(mel) - self.frames)
            seg = wav[t0 * self.hop:(t0 + self.frames) * self.hop]
            seg = torch.nn.functional.pad(seg, (0, self.frames * self.hop - len(seg)))
            mels.append(mel[t0:t0 + self.frames].t())
            wavs.append(seg[None])
        return torch.stack(mels), torch.stack(wavs)


def _build(fb: Dict[str, Any], conf: Dict[str, Any], init: str):
    """(generator, discriminator, generator_conf, mel_transform): the V1 generator for ``fb``, from
    the pretrained weights when ``init`` is pretrained and the mel config matches them."""
    from espnet2.gan_tts.hifigan import HiFiGANMultiScaleMultiPeriodDiscriminator

    gen_conf = dict(V1_GENERATOR_CONF, in_channels=fb["n_mels"])
    upsample = int(np.prod(gen_conf["upsample_scales"]))
    if upsample != fb["hop_length"]:
        raise ValueError(f"HiFi-GAN V1 upsamples by {upsample}; fbank hop_length {fb['hop_length']} "
                         "needs other upsample_scales")
    gen = build_generator(gen_conf)
    disc = HiFiGANMultiScaleMultiPeriodDiscriminator(**conf["discriminator_conf"])
    transform = dict(IDENTITY_MEL_TRANSFORM)
    if init == "pretrained":
        if matches_pretrained(fb):
            path = pretrained_weight_path()
            load_state_strict(gen, map_reference_keys(load_checkpoint(path, what="HiFi-GAN generator")["generator"]),
                              str(path))
            transform = dict(PRETRAINED_MEL_TRANSFORM)
            logging.info("generator initialised from the pretrained HiFi-GAN V1 (%s)", path)
        else:
            logging.info("mel config differs from the pretrained HiFi-GAN's: training from scratch")
    elif init != "none":
        raise ValueError(f"--init must be pretrained or none, got {init!r}")
    return gen, disc, gen_conf, transform


class _GanTrainer:
    """The optimisers, schedulers, losses and random state of one HiFi-GAN training (one step: ``step``)."""

    def __init__(self, gen, disc, fb: Dict[str, Any], conf: Dict[str, Any], device: str):
        from espnet2.gan_tts.hifigan.loss import (DiscriminatorAdversarialLoss, FeatureMatchLoss,
                                                  GeneratorAdversarialLoss, MelSpectrogramLoss)

        self.gen, self.disc, self.conf = gen.to(device), disc.to(device), conf
        self.opt_g = torch.optim.Adam(gen.parameters(), lr=conf["lr"], betas=tuple(conf["betas"]))
        self.opt_d = torch.optim.Adam(disc.parameters(), lr=conf["lr"], betas=tuple(conf["betas"]))
        self.sch_g = torch.optim.lr_scheduler.ExponentialLR(self.opt_g, conf["lr_decay"])
        self.sch_d = torch.optim.lr_scheduler.ExponentialLR(self.opt_d, conf["lr_decay"])
        self.rng = random.Random(conf["seed"])
        torch.manual_seed(conf["seed"])
        self.mel_loss = MelSpectrogramLoss(fs=fb["fs"], n_fft=fb["n_fft"], hop_length=fb["hop_length"],
                                           win_length=fb["win_length"], n_mels=fb["n_mels"], fmin=fb["fmin"],
                                           fmax=fb["fmax"], log_base=fb["log_base"]).to(device)
        self.adv_g, self.adv_d, self.fm = GeneratorAdversarialLoss(), DiscriminatorAdversarialLoss(), FeatureMatchLoss()

    _STATES = ("opt_g", "opt_d", "sch_g", "sch_d")

    def state(self) -> Dict[str, Any]:
        out = {"generator": self.gen.state_dict(), "discriminator": self.disc.state_dict()}
        out.update({k: getattr(self, k).state_dict() for k in self._STATES})
        return {**out, "rng": self.rng.getstate(), "torch_rng": torch.get_rng_state()}

    def load(self, ck: Dict[str, Any]) -> None:
        self.gen.load_state_dict(ck["generator"])
        self.disc.load_state_dict(ck["discriminator"])
        for k in self._STATES:
            getattr(self, k).load_state_dict(ck[k])
        self.rng.setstate(ck["rng"])
        torch.set_rng_state(ck["torch_rng"])

    def step(self, x: torch.Tensor, wav: torch.Tensor) -> Dict[str, torch.Tensor]:
        """One D then one G update on (B, n_mels, F) inputs ``x`` and (B, 1, F*hop) wavs; the losses."""
        c = self.conf
        wav_hat = self.gen(x)
        # discriminator
        real, fake = self.disc(wav), self.disc(wav_hat.detach())
        loss_real, loss_fake = self.adv_d(fake, real)
        loss_d = loss_real + loss_fake
        self.opt_d.zero_grad()
        loss_d.backward()
        self.opt_d.step()
        # generator
        fake, real = self.disc(wav_hat), self.disc(wav)
        l_adv, l_fm, l_mel = self.adv_g(fake), self.fm(fake, real), self.mel_loss(wav_hat, wav)
        loss_g = c["lambda_adv"] * l_adv + c["lambda_fm"] * l_fm + c["lambda_mel"] * l_mel
        self.opt_g.zero_grad()
        loss_g.backward()
        self.opt_g.step()
        self.sch_g.step()
        self.sch_d.step()
        return dict(d=loss_d, g=loss_g, adv=l_adv, fm=l_fm, mel=l_mel)


def train(wav_scp: str, fbank_conf: Any, out_dir: str, max_steps: int, init: str = "pretrained",
          resume: bool = False, train_conf: Optional[Dict[str, Any]] = None, device: str = "cpu") -> Path:
    """Train (or continue) a HiFi-GAN on ``device`` (cpu or cuda); returns the path of generator.pth."""
    conf = dict(DEFAULT_TRAIN_CONF)
    conf.update(train_conf or {})
    fb = load_fbank_conf(fbank_conf)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path, gen_path = out / "checkpoint.pth", out / "generator.pth"
    if not resume and (ckpt_path.exists() or gen_path.exists()):
        raise FileExistsError(f"{out}: has a checkpoint already; pass --resume or use another --out_dir")
    gen, disc, gen_conf, transform = _build(fb, conf, init)
    gan = _GanTrainer(gen, disc, fb, conf, device)
    step = 0
    if resume and ckpt_path.exists():
        ck = load_checkpoint(ckpt_path, what="vocoder training checkpoint")
        gan.load(ck)
        step, transform = ck["step"], ck["mel_transform"]
        logging.info("resumed from %s at step %d", ckpt_path, step)

    data = MelSegments(wav_scp, fb, conf["segment_frames"])
    scale, floor = float(transform["scale"]), transform["floor"]

    def save():
        meta = {"step": step, "mel_transform": transform, "generator_conf": gen_conf, "fbank_conf": fb}
        atomic_torch_save({**gan.state(), **meta, "train_conf": conf}, ckpt_path)
        atomic_torch_save({"generator": gen.state_dict(), **meta}, gen_path)

    gen.train()
    disc.train()
    t0 = time.perf_counter()
    while step < max_steps:
        mel, wav = (t.to(device) for t in data.batch(conf["batch_size"], gan.rng))
        x = mel * scale
        if floor is not None:
            x = x.clamp(min=float(floor))
        loss = gan.step(x, wav)
        step += 1
        if not (math.isfinite(loss["d"].item()) and math.isfinite(loss["g"].item())):
            raise FloatingPointError(f"step {step}: non-finite loss (D {float(loss['d'])}, G {float(loss['g'])})")
        if step % conf["log_interval"] == 0 or step == max_steps:
            logging.info("step %d: G %.3f (adv %.3f fm %.3f mel %.4f) D %.3f  %.2f s/step", step, loss["g"].item(),
                         loss["adv"].item(), loss["fm"].item(), loss["mel"].item(), loss["d"].item(),
                         (time.perf_counter() - t0) / step)
        if step % conf["save_interval"] == 0:
            save()
    save()
    logging.info("saved %s and %s (step %d)", ckpt_path, gen_path, step)
    return gen_path
