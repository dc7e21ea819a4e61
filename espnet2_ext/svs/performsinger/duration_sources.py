"""Where PerformSinger's inference durations come from (``svs_conf.duration_source``): one strategy each.

    PhoneTiming: fused CF (B, N, H), phone mask, MIDI, fusion output, lip lengths, lip-reading
                 posteriors (K, B, N, T_v), the duration module, the mel and video frame rates
    predictor  the duration predictor on the fused content (sec. 3.5), mixed with the fusion's
               timing prior where it gives one:  log(d + 1) <- (1 - g) log(d + 1) + g log(prior + 1),
               prior = phone length on the monotonic path through the fusion attention (mel
               frames), g = sigmoid(gate)  -> round(exp(.) - 1)
    lipreader  log p(phone | video frame) = mean of the lip-reading heads' posteriors
    attention  the fusion's phone-to-video attention normalised over phones per frame (or the
               aligner's posteriors when the fusion has one)
    aligner    the lip-to-phone aligner's posteriors (fusion_conf.aligner, fusion/aligner.py)
      the three video sources: the monotonic path through log p with sub-frame boundaries
      (alignment.posterior_durations), or with ``duration_prior.weight > 0`` the explicit-duration
      Viterbi with the predictor's log-normal prior (DurationPrior, duration_prior.py); the song
      then spans the video

A source is chosen by name (``DURATION_SOURCES``) and checked against the model it serves
(``check``: what the model must have built). ``trained_logp`` names the frame posteriors that
L_V trains (loss.py); only the attention source adds one of its own.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Dict, Optional

import torch

from espnet2_ext.svs.alignment import posterior_durations
from espnet2_ext.svs.fusion.abs_fusion import FusionOutput
from espnet2_ext.svs.lip_reading_head import mean_logp
from espnet2_ext.svs.masks import lengths_to_mask
from espnet2_ext.svs.performsinger.duration import DurationModule
from espnet2_ext.svs.performsinger.duration_prior import durations_with_prior


def video_mask(lip_lengths: Optional[torch.Tensor], t_v: int, batch: int, device) -> torch.Tensor:
    """(B, T_v) bool mask of the valid video frames (all of them without lip_lengths)."""
    if lip_lengths is None:
        return torch.ones(batch, t_v, dtype=torch.bool, device=device)
    return lengths_to_mask(lip_lengths, t_v)


@dataclass
class PhoneTiming:
    """What a duration source reads, for one padded batch."""

    cf: torch.Tensor  # (B, N, H) fused phone content
    pmask: torch.Tensor  # (B, N) bool
    midi: torch.Tensor  # (B, N), 0 = rest
    fout: Optional[FusionOutput]  # None without video
    lip_lengths: Optional[torch.Tensor]  # (B,)
    lip_logp: Optional[torch.Tensor]  # (K, B, N, T_v) lip-reading heads, None when not read
    duration: DurationModule
    frame_rate: float  # mel frames per second
    video_fps: float

    def log_durations(self) -> torch.Tensor:
        """log(d + 1) (B, N) from the duration predictor, mixed with the fusion's timing prior."""
        log_d = self.duration.log_durations(self.cf, self.pmask)
        fout = self.fout
        if fout is None or fout.duration_prior is None or fout.duration_gate is None:
            return log_d
        prior = torch.log1p(fout.duration_prior * (self.frame_rate / self.video_fps))  # mel frames
        g = torch.sigmoid(fout.duration_gate)
        return ((1.0 - g) * log_d + g * prior).masked_fill(~self.pmask, 0.0)


class DurationPrior:
    """The duration predictor as a log-normal prior on the video timing (duration_prior.py)."""

    def __init__(self, weight: float = 0.0, sigma: float = 0.5, max_span_s: Optional[float] = None):
        """weight (0: off, plain monotonic path), sigma of log(d + 1), max_span_s: the longest phone
        the Viterbi considers in seconds (None: any)."""
        if weight < 0 or sigma <= 0:
            raise ValueError(f"PerformSinger duration_prior: weight must be >= 0 and sigma > 0, got {weight}, {sigma}")
        if max_span_s is not None and max_span_s <= 0:
            raise ValueError(f"PerformSinger duration_prior: max_span_s must be > 0 seconds or null, got {max_span_s}")
        self.weight, self.sigma = float(weight), float(sigma)
        self.max_span_s = None if max_span_s is None else float(max_span_s)

    def as_dict(self) -> Dict[str, Optional[float]]:
        return {"weight": self.weight, "sigma": self.sigma, "max_span_s": self.max_span_s}

    def durations(self, logp: torch.Tensor, t: PhoneTiming, vmask: torch.Tensor) -> torch.Tensor:
        """log p (B, N, T_v) -> (B, N) mel-frame durations spanning each video, >= 1 per phone."""
        pmask, lens = t.pmask, vmask.sum(-1)
        out = torch.zeros(pmask.shape, dtype=torch.long, device=pmask.device)
        lp, mu = logp.detach().float().cpu().numpy(), t.log_durations().detach().float().cpu().numpy()
        for b, (n, n_v) in enumerate(zip(pmask.sum(-1).tolist(), lens.tolist())):
            if n == 0 or n_v == 0:
                continue
            n_mel = max(n, int(round(n_v * t.frame_rate / t.video_fps)))
            d = durations_with_prior(lp[b, :n, :n_v], mu[b, :n], n_mel, t.frame_rate, t.video_fps,
                                     self.weight, self.sigma, self.max_span_s)
            out[b, :n] = torch.from_numpy(d).to(out.device)
        return out


class DurationSource(ABC):
    """One way to turn a batch's phone timing into durations (B, N) in mel frames."""

    name: ClassVar[str]
    reads_lips: ClassVar[bool] = False  # needs the lip-reading heads' posteriors at inference

    @classmethod
    def check(cls, model) -> None:
        """Raise ValueError naming what ``model`` must have built for this source (nothing by default)."""
        return None

    def trained_logp(self, fout: Optional[FusionOutput], pmask: torch.Tensor) -> Optional[torch.Tensor]:
        """Frame posteriors log p(phone | video frame) (B, N, T_v) that L_V trains (None: no L_V)."""
        return None if fout is None else fout.frame_logp

    @abstractmethod
    def durations(self, t: PhoneTiming, prior: DurationPrior) -> torch.Tensor:
        """-> (B, N) long mel-frame durations, 0 on padded phones."""


class PredictorSource(DurationSource):
    name = "predictor"

    def durations(self, t: PhoneTiming, prior: DurationPrior) -> torch.Tensor:
        return t.duration.to_frames(t.log_durations(), t.pmask, t.midi)


class VideoSource(DurationSource):
    """Durations read off the video through frame posteriors log p(phone | video frame)."""

    @abstractmethod
    def frame_logp(self, t: PhoneTiming) -> torch.Tensor:
        """-> log p(phone n | video frame t) (B, N, T_v)."""

    def durations(self, t: PhoneTiming, prior: DurationPrior) -> torch.Tensor:
        logp = self.frame_logp(t)  # (B, N, T_v)
        vmask = video_mask(t.lip_lengths, logp.shape[-1], logp.shape[0], logp.device)  # (B, T_v)
        if prior.weight > 0:
            return prior.durations(logp, t, vmask)
        return posterior_durations(logp, t.pmask, vmask, t.frame_rate, t.video_fps,
                                   min_frames=((t.midi > 0) & t.pmask).long())


class LipReaderSource(VideoSource):
    name = "lipreader"
    reads_lips = True

    @classmethod
    def check(cls, model) -> None:
        if getattr(model, "lip_reader", None) is None:
            raise ValueError("PerformSinger duration_source: lipreader needs lip_reader_conf (e.g. {hidden: 64}) "
                             "and use_visual: true; use duration_source: predictor otherwise")

    def frame_logp(self, t: PhoneTiming) -> torch.Tensor:
        return mean_logp(t.lip_logp)  # the heads' mean (0 stays 0 off the valid phones and frames)


class AttentionSource(VideoSource):
    name = "attention"

    @classmethod
    def check(cls, model) -> None:
        if not model.use_visual:
            raise ValueError("PerformSinger duration_source: attention needs use_visual: true (the fusion "
                             "attention); use duration_source: predictor for the audio-only model")

    def trained_logp(self, fout: Optional[FusionOutput], pmask: torch.Tensor) -> Optional[torch.Tensor]:
        if fout is None or fout.frame_logp is not None or fout.attn is None:
            return super().trained_logp(fout, pmask)
        a = fout.attn * pmask[..., None].to(fout.attn.dtype)  # (B, N, T_v)
        return torch.log((a / a.sum(1, keepdim=True).clamp(min=1e-8)).clamp(min=1e-8))

    def frame_logp(self, t: PhoneTiming) -> torch.Tensor:
        return self.trained_logp(t.fout, t.pmask)


class AlignerSource(VideoSource):
    name = "aligner"

    @classmethod
    def check(cls, model) -> None:
        if getattr(getattr(model, "fusion", None), "aligner", None) is None:
            raise ValueError("PerformSinger duration_source: aligner needs use_visual: true, fusion: vcfm and "
                             "fusion_conf: {aligner: true}; use duration_source: predictor otherwise")

    def frame_logp(self, t: PhoneTiming) -> torch.Tensor:
        return t.fout.frame_logp


DURATION_SOURCES = {cls.name: cls for cls in (PredictorSource, LipReaderSource, AttentionSource, AlignerSource)}


def duration_source(name: str, model) -> DurationSource:
    """The source ``name`` for ``model`` (a PerformSinger), after checking the model can serve it."""
    if name not in DURATION_SOURCES:
        raise ValueError(f"PerformSinger duration_source: {name!r}; choose one of {tuple(DURATION_SOURCES)}")
    cls = DURATION_SOURCES[name]
    cls.check(model)
    return cls()
