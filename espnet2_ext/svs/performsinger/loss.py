"""PerformSinger's training objective: eq. 7 and the alignment auxiliaries, with the logged stats.

    L = lambda_R L_R + lambda_D L_D + lambda_P L_P + lambda_C L_C                        eq. 7
        L_R = diffusion mel loss (+ aux_mel * masked L1 of the auxiliary mel when shallow)
        L_D = phone + sentence duration loss (duration.py), L_P = f0_loss + uv_loss (F0 diffusion),
        L_C = RVQ commitment (style.py)
      + lambda_F sum(fusion aux losses)  (e.g. SMA's diagonal focus loss, fusion/sma.py)
      + lambda_A L_A   guided phone-to-video alignment of the fusion attention (alignment.py)
      + lambda_V L_V   frame-wise phone posteriors log p(phone | video frame): of the lip-to-phone
                       aligner, or of the fusion attention with duration_source: attention
                       (fusion/aligner.py; they give the inference durations)
      + lambda_L L_L   each lip-reading head's frame cross-entropy, averaged (lip_reading_head.py)

stats["loss_synth"]: the eq. 7 terms alone, what inference relies on. The configs select
checkpoints by it (best_model_criterion: [[valid, loss_synth, min]]): the auxiliaries train the
alignment and overfit early (valid L_A rises from about epoch 15 of the single-stage model),
which made the total valid loss pick undertrained decoders.
"""

from typing import Dict, Optional, Tuple

import torch

from espnet2_ext.svs.alignment import guided_alignment_loss
from espnet2_ext.svs.conf import merge_conf
from espnet2_ext.svs.fusion.abs_fusion import FusionOutput
from espnet2_ext.svs.fusion.aligner import aligner_loss
from espnet2_ext.svs.lip_reading_head import lip_reading_loss
from espnet2_ext.svs.performsinger.duration_sources import video_mask

LOSS_WEIGHT_DEFAULTS = dict(lambda_R=1.0, lambda_D=1.0, lambda_P=1.0, lambda_C=1.0, lambda_F=1.0, lambda_A=0.0,
                            lambda_V=1.0, lambda_L=1.0, aux_mel=1.0)
Stats = Dict[str, torch.Tensor]


class PerformSingerLoss:
    """Weighted sum of eq. 7 and the auxiliaries (no parameters, so not a module of the model's state)."""

    def __init__(self, loss_weights: Optional[dict], frame_rate: float, video_fps: float):
        """
        Args:
            loss_weights: lambda_R, lambda_D, lambda_P, lambda_C (1.0) of eq. 7; lambda_F (1.0) on the
                fusion's auxiliary losses; lambda_A (0.0) on L_A; lambda_V (1.0) on L_V; lambda_L
                (1.0) on L_L; aux_mel (1.0) on the auxiliary mel L1 inside L_R.
            frame_rate: mel frames per second (GT durations -> video time for L_A, L_V, L_L).
            video_fps: frame rate of the lip video.
        """
        self.weights = merge_conf(LOSS_WEIGHT_DEFAULTS, loss_weights, "PerformSinger loss_weights")
        self.frame_rate, self.video_fps = float(frame_rate), float(video_fps)

    def synthesis(self, mel_loss: torch.Tensor, aux_mel: Optional[torch.Tensor], feats: torch.Tensor,
                  fmask: torch.Tensor, dur: Stats, pitch: Stats, style: dict) -> Tuple[torch.Tensor, Stats]:
        """Eq. 7. mel_loss: the decoder's; aux_mel (B, T, odim) or None, feats (B, T, odim), fmask (B, T);
        dur: DurationModule.loss; pitch: the F0 predictor's losses; style: the StyleExtractor output."""
        w, stats = self.weights, {}
        loss_r = mel_loss
        if aux_mel is not None:
            m = fmask[..., None].to(feats.dtype)
            aux_l1 = ((aux_mel - feats).abs() * m).sum() / (m.sum() * feats.shape[-1]).clamp(min=1.0)
            loss_r = loss_r + w["aux_mel"] * aux_l1
            stats["aux_mel_loss"] = aux_l1
        loss_p = pitch["f0_loss"] + pitch["uv_loss"]
        loss = w["lambda_R"] * loss_r + w["lambda_D"] * dur["dur"] + w["lambda_P"] * loss_p + w["lambda_C"] * style["commit"]
        stats.update(
            mel_loss=mel_loss, loss_R=loss_r, loss_D=dur["dur"], dur_phone_loss=dur["dur_phone"],
            dur_sentence_loss=dur["dur_sentence"], f0_loss=pitch["f0_loss"], uv_loss=pitch["uv_loss"],
            loss_P=loss_p, loss_C=style["commit"],
            codes_used=torch.tensor(float(style["codes"][0].unique().numel()), device=loss.device),
            loss_synth=loss.detach(),  # without the auxiliaries: the checkpoint-selection criterion
        )
        return loss, stats

    def auxiliaries(self, loss: torch.Tensor, stats: Stats, fout: Optional[FusionOutput],
                    frame_logp: Optional[torch.Tensor], lip_logp: Optional[torch.Tensor], d_gt: torch.Tensor,
                    pmask: torch.Tensor, lip_lengths: Optional[torch.Tensor]) -> Tuple[torch.Tensor, Stats]:
        """Eq. 7's (loss, stats) + the auxiliaries -> total loss, detached stats. The fusion losses,
        L_A, L_V (frame_logp (B, N, T_v), see DurationSource.trained_logp) and L_L (lip_logp
        (K, B, N, T_v)) against GT durations d_gt (B, N) in mel frames."""
        w, stats = self.weights, dict(stats)
        timing = (self.frame_rate, self.video_fps)
        if fout is not None:
            for name, value in fout.losses.items():
                loss = loss + w["lambda_F"] * value
                stats[f"fusion_{name}"] = value
            if fout.attn is not None and w["lambda_A"] > 0:
                vmask = video_mask(lip_lengths, fout.attn.shape[-1], d_gt.shape[0], d_gt.device)
                stats["loss_A"] = guided_alignment_loss(fout.attn, d_gt, pmask, vmask, *timing)
                loss = loss + w["lambda_A"] * stats["loss_A"]
            if frame_logp is not None and w["lambda_V"] > 0:
                vmask = video_mask(lip_lengths, frame_logp.shape[-1], d_gt.shape[0], d_gt.device)
                stats["loss_V"] = aligner_loss(frame_logp, d_gt, pmask, vmask, *timing)
                loss = loss + w["lambda_V"] * stats["loss_V"]
        if lip_logp is not None and w["lambda_L"] > 0:
            vmask = video_mask(lip_lengths, lip_logp.shape[-1], d_gt.shape[0], d_gt.device)
            stats["loss_L"] = torch.stack([lip_reading_loss(lp, d_gt, pmask, vmask, *timing)
                                           for lp in lip_logp]).mean()  # each head learns on its own
            loss = loss + w["lambda_L"] * stats["loss_L"]
        stats["loss"] = loss
        return loss, {k: v.detach() for k, v in stats.items()}
