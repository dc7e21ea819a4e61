"""PerformSinger: duration-free singing voice synthesis from lyrics, notes, a reference voice and a
silent singing video (PerformSinger sec. 3, eq. 1-7).

    phones (B, N) + MIDI (B, N) --PhonemeEncoder--> CF (B, N, H)                      eq. 1-2
    spembs (B, 256) --Linear--> SF (B, 1, H);  CF <- CF + SF                           eq. 3
    [use_visual] lip (B, T_v, 88, 88) --LipEncoder--> VF (B, T_v, 512)                 eq. 3
                 CF <- fusion(CF, VF)  (VCFM eq. 4-6, or SMA)  + attention (B, N, T_v)
    CF --DurationModule--> log(d + 1) (B, N);  L_D
        [fusion timing] log(d + 1) <- (1 - g) log(d + 1) + g log(prior + 1): prior = phone length
        on the monotonic best path through the fusion attention (mel frames), g = sigmoid(gate)
    [lip_reader_conf] VF --LipReadingHeads (K heads)--> log p_k(phone class | video frame)
        (K, B, T_v, C), gathered at the phones -> (K, B, N, T_v);  L_L = mean_k of each head's
        (lip_reading_head.py); the emission read at inference is log mean_k p_k (B, N, T_v);
        two-stage configs load the heads fitted on the frozen encoder before stage two and
        freeze them (lipread/head_fit.py)
    [duration_source: lipreader | attention | aligner] inference d instead from the video: a
        forced alignment of the phones through log p(phone | video frame) (the lip-reading head,
        the fusion attention normalised per frame, or the lip-to-phone aligner), with the
        duration predictor as a log-normal prior on the mel grid (duration_prior.py); the song
        spans the video
    LengthRegulator(CF, d)  d = GT frames (training, teacher forcing) or predicted (inference)
        -> (B, T, H) + SF + NoteEmbedding(LR(MIDI)) = frame content
    StyleExtractor(frame content, reference mel (+ F0)) -> content + style (B, T, H);  L_C
    F0DiffusionPredictor(cond) -> F0 (B, T) Hz;  L_P = f0_loss + uv_loss
    cond <- cond + F0Embedding(F0)   (GT F0 in training, predicted F0 at inference)
    MelDiffusionDecoder(cond) -> normalised mel (B, T, odim);  L_R (+ aux mel L1 when shallow)

    L = lambda_R L_R + lambda_D L_D + lambda_P L_P + lambda_C L_C + lambda_F sum(fusion aux)   eq. 7
        + lambda_A L_A   (guided phone-to-video alignment of the fusion attention, training only;
                          see alignment.py)
        + lambda_V L_V   (frame-wise phone posteriors log p(phone | video frame), aligner.py: of the
                          lip-to-phone aligner, or of the fusion attention with duration_source:
                          attention; they give the inference durations)
        + lambda_L L_L   (frame-wise cross-entropy of the lip-reading head, lip_reading_head.py)
    stats["loss_synth"]: the eq. 7 terms alone (L_R, L_D, L_P, L_C), what inference relies on. The
        configs select checkpoints by it (best_model_criterion: [[valid, loss_synth, min]]): the
        auxiliaries train the alignment and overfit early (valid L_A rises from about epoch 15
        of the single-stage model), which made the total valid loss pick undertrained decoders.

Reference for the style extractor: the target mel in training (replaced by the "mean reference",
one frame of normalised mel 0 = the corpus mean under global MVN, with probability
``style_conf.ref_dropout``); at inference the reference recording's mel given as ``ref_feats``
(the decode entry point always gives one: features/reference.py), the mean reference only when
a caller gives none. The timbre always comes from ``spembs`` (the reference's d-vector).

``use_visual: false`` is the StyleSinger-style duration-free baseline, i.e. stage one of the
two-stage training; stage two adds ``lip_encoder.`` and ``fusion.`` and starts from it
(``stage_init.load_stage_one``).
"""

import logging
from typing import Dict, Optional, Tuple

import torch
from espnet2.svs.abs_svs import AbsSVS
from espnet2.torch_utils.device_funcs import force_gatherable

from espnet2_ext.svs.diffusion.conf import merge_conf
from espnet2_ext.svs.diffusion.f0_predictor import F0DiffusionPredictor, f0_to_unit
from espnet2_ext.svs.diffusion.mel_decoder import MelDiffusionDecoder
from espnet2_ext.svs.lip_reading_head import LipReadingHeads, lip_reading_loss, load_lip_reader, mean_logp, phone_logp
from espnet2_ext.svs.performsinger.aligner import aligner_durations, aligner_loss
from espnet2_ext.svs.performsinger.alignment import guided_alignment_loss
from espnet2_ext.svs.performsinger.duration import DurationModule
from espnet2_ext.svs.performsinger.duration_prior import durations_with_prior
from espnet2_ext.svs.performsinger.masks import fit_length, lengths_to_mask
from espnet2_ext.svs.performsinger.phoneme_encoder import PhonemeEncoder
from espnet2_ext.svs.performsinger.speaker import SpeakerProjection
from espnet2_ext.svs.performsinger.style import StyleExtractor

LOSS_WEIGHT_DEFAULTS = dict(lambda_R=1.0, lambda_D=1.0, lambda_P=1.0, lambda_C=1.0, lambda_F=1.0, lambda_A=0.0,
                            lambda_V=1.0, lambda_L=1.0, aux_mel=1.0)
DURATION_SOURCES = ("predictor", "lipreader", "attention", "aligner")
VIDEO_DURATION_SOURCES = ("lipreader", "attention", "aligner")
LIP_READER_DEFAULTS = dict(hidden=64, heads=1, pretrained=None, freeze=False)
DURATION_PRIOR_DEFAULTS = dict(weight=0.0, sigma=0.5, max_span_s=None)
FUSIONS = ("vcfm", "sma")


def _single_head_keys(module, state_dict, prefix, *args) -> None:
    """Checkpoints from before lip_reader_conf.heads kept their one head at lip_reader.{conv,gru,out}.*:
    read those keys as head 0 (a heads: 1 model)."""
    old = prefix + "lip_reader."
    for k in [k for k in state_dict if k.startswith(old) and not k.startswith(old + "heads.")]:
        state_dict[old + "heads.0." + k[len(old):]] = state_dict.pop(k)


def build_fusion(name: str, hidden: int, visual_dim: int, conf: Optional[dict]):
    """Content-visual fusion module by name: "vcfm" (eq. 4-6) or "sma" (the ablation)."""
    if name == "vcfm":
        from espnet2_ext.svs.performsinger.vcfm import VCFM

        return VCFM(hidden, visual_dim, conf)
    if name == "sma":
        from espnet2_ext.svs.sma import SMAFusion

        return SMAFusion(hidden, visual_dim, conf)
    raise ValueError(f"unknown fusion {name!r}; choose one of {FUSIONS}")


class F0Embedding(torch.nn.Module):
    """F0 (B, T) Hz -> (B, T, H): log2-F0 in [-1, 1] quantised to bins 1..n-1, bin 0 = unvoiced."""

    def __init__(self, hidden: int, bins: int = 256, log2_min: float = 6.0, log2_max: float = 10.0):
        super().__init__()
        self.bins, self.log2_min, self.log2_max = bins, log2_min, log2_max
        self.embed = torch.nn.Embedding(bins, hidden, padding_idx=0)

    def forward(self, f0: torch.Tensor) -> torch.Tensor:
        x = f0_to_unit(f0, self.log2_min, self.log2_max)  # (B, T) in [-1, 1]
        idx = 1 + torch.round((x + 1.0) / 2.0 * (self.bins - 2)).long()
        return self.embed(torch.where(f0 > 0, idx, torch.zeros_like(idx)))


class AuxMelDecoder(torch.nn.Module):
    """Small conv decoder giving the auxiliary mel that shallow diffusion starts from."""

    def __init__(self, hidden: int, odim: int, layers: int, kernel: int = 5):
        super().__init__()
        self.convs = torch.nn.ModuleList([torch.nn.Conv1d(hidden, hidden, kernel, padding=kernel // 2)
                                          for _ in range(layers)])
        self.out = torch.nn.Linear(hidden, odim)

    def forward(self, cond: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # (B, T, H) -> (B, T, odim)
        m = mask[:, None, :].to(cond.dtype)
        h = cond.transpose(1, 2) * m
        for conv in self.convs:
            h = (h + torch.relu(conv(h))) * m
        return self.out(h.transpose(1, 2)) * mask[..., None].to(cond.dtype)


class PerformSinger(AbsSVS):
    """Multimodal duration-free SVS model (and, with ``use_visual: false``, its audio-only baseline)."""

    def __init__(
        self,
        idim: int,
        odim: int,
        hidden: int = 256,
        encoder_conf: Optional[dict] = None,
        spk_embed_dim: int = 256,
        use_visual: bool = True,
        lip_encoder_conf: Optional[dict] = None,
        fusion: str = "vcfm",
        fusion_conf: Optional[dict] = None,
        duration_conf: Optional[dict] = None,
        f0_conf: Optional[dict] = None,
        style_conf: Optional[dict] = None,
        decoder_conf: Optional[dict] = None,
        loss_weights: Optional[dict] = None,
        f0_embed_bins: int = 256,
        frame_rate: float = 187.5,
        video_fps: float = 25.0,
        duration_source: str = "predictor",
        duration_prior: Optional[dict] = None,
        lip_reader_conf: Optional[dict] = None,
        two_stage: bool = True,
    ):
        """
        Args:
            idim: phone vocabulary size (espnet's token list; id 0 = padding).
            odim: mel bins.
            hidden: H, width of every phone- and frame-level feature.
            encoder_conf: PhonemeEncoder options: layers (4), heads (2), ffn_units (1024),
                ffn_kernel (9), dropout (0.1), attn_dropout (0.1), midi_vocab (128).
            spk_embed_dim: size of ``spembs`` (256, GE2E d-vector).
            use_visual: build the lip encoder and the fusion module (stage two / VCFM-S); false =
                the audio-only duration-free baseline (stage one).
            lip_encoder_conf: LipEncoder options: output_dim (512), frontend_channels (64),
                trunk_channels (64), pretrained (path or None), freeze (bool). Ignored without video.
            fusion: "vcfm" (eq. 4-6) or "sma" (stepwise monotonic attention ablation).
            fusion_conf: options of the fusion module (VCFM: blocks K (2), heads (2), dropout (0.1)).
            duration_conf: DurationModule options: layers (2), channels (256), kernel_size (3),
                dropout (0.1), sentence_loss_weight (1.0), max_frames_per_phone (1000).
            f0_conf: F0DiffusionPredictor options (residual_layers, residual_channels, num_steps, ...).
            style_conf: StyleExtractor options: use_f0, wavenet_layers, rvq_quantizers (4),
                rvq_codebook (128), rvq_decay (0.99), attn_layers (2), ref_dropout (0.2), ...
            decoder_conf: MelDiffusionDecoder options (residual_layers, residual_channels,
                num_steps, objective (ddpm | reflow), shallow_k, t_start, ...) plus aux_layers (int, 2):
                conv layers of the auxiliary mel decoder, built (and trained with L1) only for a
                shallow start (shallow_k > 0 or t_start > 0).
            loss_weights: lambda_R (1.0), lambda_D (1.0), lambda_P (1.0), lambda_C (1.0) of eq. 7;
                lambda_F (1.0) on the fusion module's auxiliary losses; lambda_A (0.0) on the
                guided phone-to-video alignment of the fusion attention; lambda_V (1.0) on the
                frame-wise phone posteriors (L_V of aligner.py) of the lip-to-phone aligner (with
                fusion_conf.aligner) or of the fusion attention normalised per video frame (with
                duration_source: attention); lambda_L (1.0) on the lip-reading head's frame
                cross-entropy (with lip_reader_conf); aux_mel (1.0) on the auxiliary mel L1 inside L_R.
            f0_embed_bins: number of log-F0 bins of the F0 embedding (bin 0 = unvoiced).
            frame_rate: mel frames per second, fs / hop_length (48000 / 256 = 187.5); maps
                durations to video time for the alignment loss.
            video_fps: frame rate of the lip video (25).
            duration_source: where inference durations come from: "predictor" (the duration
                predictor on the fused content, sec. 3.5); "lipreader" (forced alignment of the
                phones through the lip-reading head's frame posteriors, needs lip_reader_conf);
                "attention" (the monotonic path through
                the fusion's phone-to-video attention, normalised per video frame, with sub-frame
                boundaries: aligner.aligner_durations; needs use_visual); "aligner" (the same
                through the lip-to-phone aligner's posteriors, needs fusion_conf.aligner: true).
            duration_prior: with duration_source lipreader, attention or aligner: weight (0.0: off) and
                sigma (0.5) of the duration predictor's log-normal prior in the explicit-duration
                Viterbi of duration_prior.py (mel-grid boundaries), and max_span_s (None: no bound),
                the longest phone in seconds that Viterbi considers; inference only.
            lip_reader_conf: None (no head), or the lip-reading head's options: hidden (64),
                the width of its temporal conv and of each BiGRU direction; heads (1): K heads
                read as the mean of their posteriors, each trained on its own L_L; pretrained (None):
                weights fitted on the frozen lip encoder (``espnet2_ext.bin.fit_lip_reader``; the
                recipe fits them before stage two when freeze is true); freeze (false): no
                gradients (L_L is then computed on validation only, for the log). Its classes are
                the token list (idim). Needs use_visual.
            two_stage: the training starts from the stage-one model (the recipe's stage 6 passes
                --stage_one_checkpoint); false: everything trains from scratch in one stage (VCFM-S).
                Read by the recipe (``needs``), not by the model.
        """
        super().__init__()
        unknown = sorted(set(loss_weights or {}) - set(LOSS_WEIGHT_DEFAULTS))
        if unknown:
            raise ValueError(f"PerformSinger loss_weights: unknown key(s) {unknown}; valid: {sorted(LOSS_WEIGHT_DEFAULTS)}")
        self.loss_weights = {**LOSS_WEIGHT_DEFAULTS, **(loss_weights or {})}
        self.idim, self.odim, self.hidden = idim, odim, hidden
        self.use_visual = use_visual
        self.frame_rate, self.video_fps = float(frame_rate), float(video_fps)

        self.encoder = PhonemeEncoder(idim, hidden, encoder_conf)
        self.speaker = SpeakerProjection(spk_embed_dim, hidden)
        if use_visual:
            from espnet2_ext.svs.lip_encoder import LipEncoder

            self.lip_encoder = LipEncoder(dict(lip_encoder_conf or {}))
            self.fusion = build_fusion(fusion, hidden, self.lip_encoder.output_dim, fusion_conf)
        self.lip_reader = None
        if lip_reader_conf is not None:
            lr_conf = merge_conf(LIP_READER_DEFAULTS, lip_reader_conf, "PerformSinger lip_reader_conf")
            if not use_visual:
                raise ValueError("PerformSinger lip_reader_conf needs use_visual: true (it reads the lip features); "
                                 "set lip_reader_conf: null for the audio-only model")
            self.lip_reader = LipReadingHeads(self.lip_encoder.output_dim, idim, int(lr_conf["hidden"]),
                                              int(lr_conf["heads"]))
            self.register_load_state_dict_pre_hook(_single_head_keys)
            if lr_conf["pretrained"]:
                load_lip_reader(self.lip_reader, lr_conf["pretrained"])
                logging.info(f"Lip-reading head loaded from {lr_conf['pretrained']}")
            elif lr_conf["freeze"]:
                logging.warning("PerformSinger: lip_reader_conf freeze=True without pretrained weights freezes a "
                                "random head (fit one with espnet2_ext.bin.fit_lip_reader)")
            if lr_conf["freeze"]:
                for p in self.lip_reader.parameters():
                    p.requires_grad_(False)
        self.duration = DurationModule(hidden, duration_conf)
        self.note_embed = torch.nn.Embedding(self.encoder.midi_vocab, hidden, padding_idx=0)
        self.style = StyleExtractor(odim, hidden, style_conf)
        self.f0_predictor = F0DiffusionPredictor(hidden, f0_conf)
        self.f0_embed = F0Embedding(hidden, f0_embed_bins, self.f0_predictor.conf["log2_f0_min"],
                                    self.f0_predictor.conf["log2_f0_max"])
        dconf = dict(decoder_conf or {})
        aux_layers = dconf.pop("aux_layers", 2)
        self.decoder = MelDiffusionDecoder(odim, hidden, dconf)
        self.aux_decoder = AuxMelDecoder(hidden, odim, aux_layers) if self.decoder.needs_aux else None
        self.set_duration_source(duration_source)
        self.set_duration_prior(**merge_conf(DURATION_PRIOR_DEFAULTS, duration_prior, "PerformSinger duration_prior"))

    def set_duration_source(self, name: str) -> None:
        """Where inference durations come from (see ``duration_source``); decoding may override the
        training config's choice (``visual_svs_inference --duration_source``), since with
        lambda_V = 0 it does not change training."""
        if name not in DURATION_SOURCES:
            raise ValueError(f"PerformSinger duration_source: {name!r}; choose one of {DURATION_SOURCES}")
        if name == "attention" and not self.use_visual:
            raise ValueError("PerformSinger duration_source: attention needs use_visual: true (the fusion attention); "
                             "use duration_source: predictor for the audio-only model")
        if name == "lipreader" and getattr(self, "lip_reader", None) is None:
            raise ValueError("PerformSinger duration_source: lipreader needs lip_reader_conf (e.g. {hidden: 64}) "
                             "and use_visual: true; use duration_source: predictor otherwise")
        if name == "aligner" and getattr(getattr(self, "fusion", None), "aligner", None) is None:
            raise ValueError("PerformSinger duration_source: aligner needs use_visual: true, fusion: vcfm and "
                             "fusion_conf: {aligner: true}; use duration_source: predictor otherwise")
        self.duration_source = name

    # ------------------------------------------------------------------ shared pieces
    def set_duration_prior(self, weight: float = 0.0, sigma: float = 0.5, max_span_s: Optional[float] = None) -> None:
        """Weight and sigma of the duration predictor's prior on the video timing, and the longest
        phone its Viterbi considers in seconds (None: any; bound it for long lines at high frame
        rates, see ``duration_prior``); decoding may override them (``visual_svs_inference
        --duration_prior_weight``), since they do not change training."""
        if weight < 0 or sigma <= 0:
            raise ValueError(f"PerformSinger duration_prior: weight must be >= 0 and sigma > 0, got {weight}, {sigma}")
        if max_span_s is not None and max_span_s <= 0:
            raise ValueError(f"PerformSinger duration_prior: max_span_s must be > 0 seconds or null, got {max_span_s}")
        self.duration_prior = {"weight": float(weight), "sigma": float(sigma),
                               "max_span_s": None if max_span_s is None else float(max_span_s)}

    def _phone_content(self, phones, phone_lengths, midi, spembs, lip, lip_lengths, read_lips=True):
        """-> CF (B, N, H) (with speaker and, if visual, fused), phone mask, SF (B, 1, H), fusion output,
        log p(phone n's class | video frame t) (B, N, T_v) of the lip-reading head (None without a
        head, or with read_lips false: inference that takes its durations elsewhere)."""
        cf, pmask = self.encoder(phones, phone_lengths, midi)  # (B, N, H)
        sf = self.speaker(spembs, phones.shape[0])  # (B, 1, H)
        cf = (cf + sf) * pmask[..., None].to(cf.dtype)
        fout = lip_logp = None
        if self.use_visual:
            if lip is None:
                raise ValueError("PerformSinger(use_visual=True) needs lip (B, T_v, 88, 88): add lip.scp to the data")
            if lip.dim() == 3:
                lip = lip[None]
            if lip_lengths is None:
                lip_lengths = torch.full((lip.shape[0],), lip.shape[1], dtype=torch.long, device=lip.device)
            vf = self.lip_encoder(lip, lip_lengths)  # (B, T_v, 512)
            fout = self.fusion(cf, phone_lengths, vf, lip_lengths)
            cf = fout.fused * pmask[..., None].to(cf.dtype)
            if self.lip_reader is not None and read_lips:
                vmask = lengths_to_mask(lip_lengths, vf.shape[1])  # (B, T_v)
                k_logp = self.lip_reader.per_head(vf, lip_lengths)  # (K, B, T_v, C)
                k, b = k_logp.shape[:2]
                lip_logp = phone_logp(k_logp.flatten(0, 1), phones.repeat(k, 1), pmask.repeat(k, 1),
                                      vmask.repeat(k, 1)).unflatten(0, (k, b))  # (K, B, N, T_v)
        return cf, pmask, sf, fout, lip_logp

    def _log_durations(self, cf, pmask, fout):
        """log(d + 1) (B, N) from the duration predictor, mixed with the fusion's timing prior."""
        log_d = self.duration.log_durations(cf, pmask)
        if fout is None or fout.duration_prior is None or fout.duration_gate is None:
            return log_d
        prior = torch.log1p(fout.duration_prior * (self.frame_rate / self.video_fps))  # mel frames
        g = torch.sigmoid(fout.duration_gate)
        return ((1.0 - g) * log_d + g * prior).masked_fill(~pmask, 0.0)

    def _frame_logp(self, fout, pmask):
        """log p(phone n | video frame t) (B, N, T_v): the aligner's, or with duration_source:
        attention the fusion attention normalised over phones per frame; None otherwise."""
        if fout is None:
            return None
        if fout.frame_logp is not None:
            return fout.frame_logp
        if self.duration_source != "attention" or fout.attn is None:
            return None
        a = fout.attn * pmask[..., None].to(fout.attn.dtype)  # (B, N, T_v)
        return torch.log((a / a.sum(1, keepdim=True).clamp(min=1e-8)).clamp(min=1e-8))

    def _video_durations(self, cf, fout, pmask, midi, lip_lengths, lip_logp=None):
        """Durations (B, N) read off the video: the monotonic path through log p(phone | frame)
        (the lip-reading head's with duration_source: lipreader, else _frame_logp), or, with
        duration_prior weight > 0, the explicit-duration Viterbi of duration_prior.py with the
        duration predictor on CF (B, N, H) as the prior."""
        if self.duration_source == "lipreader":
            logp = mean_logp(lip_logp)  # (B, N, T_v), the heads' mean (0 stays 0 off the valid phones and frames)
        else:
            logp = self._frame_logp(fout, pmask)  # (B, N, T_v)
        vmask = self._video_mask(lip_lengths, logp.shape[-1], logp.shape[0], logp.device)  # (B, T_v)
        if self.duration_prior["weight"] > 0:
            return self._prior_durations(logp, self._log_durations(cf, pmask, fout), pmask, vmask.sum(-1))
        return aligner_durations(logp, pmask, vmask, self.frame_rate, self.video_fps,
                                 min_frames=((midi > 0) & pmask).long())

    def _prior_durations(self, logp, log_d, pmask, lens):
        """(B, N) mel-frame durations from the frame posteriors and the predictor's prior."""
        out = torch.zeros(pmask.shape, dtype=torch.long, device=pmask.device)
        lp, mu = logp.detach().float().cpu().numpy(), log_d.detach().float().cpu().numpy()
        for b, (n, t) in enumerate(zip(pmask.sum(-1).tolist(), lens.tolist())):
            if n == 0 or t == 0:
                continue
            n_mel = max(n, int(round(t * self.frame_rate / self.video_fps)))
            d = durations_with_prior(lp[b, :n, :t], mu[b, :n], n_mel, self.frame_rate, self.video_fps,
                                     self.duration_prior["weight"], self.duration_prior["sigma"],
                                     self.duration_prior["max_span_s"])
            out[b, :n] = torch.from_numpy(d).to(out.device)
        return out

    @staticmethod
    def _video_mask(lip_lengths, t_v: int, batch: int, device):
        """(B, T_v) bool mask of the valid video frames (all of them without lip_lengths)."""
        if lip_lengths is None:
            return torch.ones(batch, t_v, dtype=torch.bool, device=device)
        return lengths_to_mask(lip_lengths, t_v)

    def _frame_content(self, cf, d, midi, sf, max_len=None):
        """Length-regulate CF by d (B, N) -> content (B, T, H), frame MIDI (B, T), frame lengths (B,)."""
        frames, flen = self.duration.regulate(cf, d, max_len)  # (B, T, H)
        note, _ = self.duration.regulate(midi[..., None].to(cf.dtype), d, max_len)  # (B, T, 1)
        note = note.squeeze(-1).round().long()
        fmask = lengths_to_mask(flen, frames.shape[1])
        content = (frames + sf + self.note_embed(note)) * fmask[..., None].to(frames.dtype)
        return content, note * fmask.long(), flen

    @staticmethod
    def _phone_inputs(text, text_lengths, label, melody, label_lengths=None, melody_lengths=None):
        phones = label["lab"] if isinstance(label, dict) and label.get("lab") is not None else text
        lengths = label_lengths["lab"] if isinstance(label_lengths, dict) and "lab" in label_lengths else text_lengths
        if not isinstance(melody, dict) or melody.get("lab") is None:
            raise ValueError("PerformSinger needs melody['lab'] (per-phone MIDI, 0 = rest)")
        midi = melody["lab"]
        if midi.shape[1] != phones.shape[1]:
            midi = fit_length(midi, phones.shape[1], dim=1)
        return phones.long(), lengths.long(), midi.long()

    # ------------------------------------------------------------------ training
    def forward(
        self,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        feats: torch.Tensor,
        feats_lengths: torch.Tensor,
        label: Optional[Dict[str, torch.Tensor]] = None,
        label_lengths: Optional[Dict[str, torch.Tensor]] = None,
        melody: Optional[Dict[str, torch.Tensor]] = None,
        melody_lengths: Optional[Dict[str, torch.Tensor]] = None,
        duration: Optional[Dict[str, torch.Tensor]] = None,
        duration_lengths: Optional[Dict[str, torch.Tensor]] = None,
        pitch: Optional[torch.Tensor] = None,
        pitch_lengths: Optional[torch.Tensor] = None,
        spembs: Optional[torch.Tensor] = None,
        lip: Optional[torch.Tensor] = None,
        lip_lengths: Optional[torch.Tensor] = None,
        flag_IsValid: bool = False,
        **kwargs,
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], torch.Tensor]:
        """Eq. 7 on a padded batch.

        text (B, N), feats (B, T, odim) normalised log-mel, label/melody/duration["lab"] (B, N)
        phone ids / MIDI / GT frames, pitch (B, T', 1) F0 Hz, spembs (B, 256),
        lip (B, T_v, 88, 88) -> (loss, stats, batch size).
        """
        phones, plen, midi = self._phone_inputs(text, text_lengths, label, melody, label_lengths, melody_lengths)
        if not isinstance(duration, dict) or duration.get("lab") is None:
            raise ValueError("PerformSinger training needs duration['lab'] (GT phone durations in frames)")
        if pitch is None:
            raise ValueError("PerformSinger training needs pitch (F0): set pitch_extract (pitch.scp) in the config")
        B, T = feats.shape[:2]
        d_gt = fit_length(duration["lab"].long(), phones.shape[1], dim=1)

        # frozen heads get no gradient from L_L: training steps skip reading the lips (validation logs L_L)
        read_lips = not self.training or (self.lip_reader is not None and self.lip_reader.trainable)
        cf, pmask, sf, fout, lip_logp = self._phone_content(phones, plen, midi, spembs, lip, lip_lengths, read_lips)
        d_gt = d_gt.masked_fill(~pmask, 0)
        log_d = self._log_durations(cf, pmask, fout)  # (B, N)
        dur = self.duration.loss(log_d, d_gt, pmask)

        content, note, flen = self._frame_content(cf, d_gt, midi, sf, max_len=T)  # (B, T, H)
        flen = torch.minimum(flen, feats_lengths)
        fmask = lengths_to_mask(flen, T)  # (B, T)
        m = fmask[..., None].to(feats.dtype)
        f0 = fit_length(pitch.reshape(B, -1).to(feats.dtype), T, dim=1) * fmask.to(feats.dtype)  # (B, T)

        st = self.style(content, feats * m, f0, fmask)
        cond = st["out"] * m
        pitch_losses = self.f0_predictor(f0, cond, fmask)
        cond = (cond + self.f0_embed(f0)) * m
        mel_loss = self.decoder(feats, cond, fmask)["loss"]
        loss_r = mel_loss
        stats = {}
        w = self.loss_weights
        if self.aux_decoder is not None:
            aux = self.aux_decoder(cond, fmask)
            aux_l1 = ((aux - feats).abs() * m).sum() / (m.sum() * feats.shape[-1]).clamp(min=1.0)
            loss_r = loss_r + w["aux_mel"] * aux_l1
            stats["aux_mel_loss"] = aux_l1
        loss_p = pitch_losses["f0_loss"] + pitch_losses["uv_loss"]
        loss = w["lambda_R"] * loss_r + w["lambda_D"] * dur["dur"] + w["lambda_P"] * loss_p + w["lambda_C"] * st["commit"]
        loss_synth = loss.detach()  # eq. 7 without the auxiliaries below: the checkpoint-selection criterion
        if fout is not None:
            for name, value in fout.losses.items():
                loss = loss + w["lambda_F"] * value
                stats[f"fusion_{name}"] = value
            if fout.attn is not None and w["lambda_A"] > 0:
                vmask = self._video_mask(lip_lengths, fout.attn.shape[-1], B, d_gt.device)
                align = guided_alignment_loss(fout.attn, d_gt, pmask, vmask, self.frame_rate, self.video_fps)
                loss = loss + w["lambda_A"] * align
                stats["loss_A"] = align
            logp = self._frame_logp(fout, pmask)
            if logp is not None and w["lambda_V"] > 0:
                vmask = self._video_mask(lip_lengths, logp.shape[-1], B, d_gt.device)
                loss_v = aligner_loss(logp, d_gt, pmask, vmask, self.frame_rate, self.video_fps)
                loss = loss + w["lambda_V"] * loss_v
                stats["loss_V"] = loss_v
        if lip_logp is not None and w["lambda_L"] > 0:
            vmask = self._video_mask(lip_lengths, lip_logp.shape[-1], B, d_gt.device)
            loss_l = torch.stack([lip_reading_loss(lp, d_gt, pmask, vmask, self.frame_rate, self.video_fps)
                                  for lp in lip_logp]).mean()  # each head learns on its own
            loss = loss + w["lambda_L"] * loss_l
            stats["loss_L"] = loss_l
        stats.update(
            mel_loss=mel_loss, loss_R=loss_r, loss_D=dur["dur"], dur_phone_loss=dur["dur_phone"],
            dur_sentence_loss=dur["dur_sentence"], f0_loss=pitch_losses["f0_loss"], uv_loss=pitch_losses["uv_loss"],
            loss_P=loss_p, loss_C=st["commit"],
            codes_used=torch.tensor(float(st["codes"][0].unique().numel()), device=loss.device),
            loss_synth=loss_synth, loss=loss,
        )
        stats = {k: v.detach() for k, v in stats.items()}
        return force_gatherable((loss, stats, torch.tensor(B, device=loss.device)), loss.device)

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def inference(
        self,
        text: torch.Tensor,
        label: Optional[Dict[str, torch.Tensor]] = None,
        melody: Optional[Dict[str, torch.Tensor]] = None,
        duration: Optional[Dict[str, torch.Tensor]] = None,
        spembs: Optional[torch.Tensor] = None,
        lip: Optional[torch.Tensor] = None,
        lip_lengths: Optional[torch.Tensor] = None,
        feats: Optional[torch.Tensor] = None,
        pitch: Optional[torch.Tensor] = None,
        ref_feats: Optional[torch.Tensor] = None,
        ref_pitch: Optional[torch.Tensor] = None,
        fixed_durations: Optional[torch.Tensor] = None,
        use_teacher_forcing: bool = False,
        sampler: str = "ddim",
        steps: int = 10,
        seed: Optional[int] = None,
        generator: Optional[torch.Generator] = None,
        durations_only: bool = False,
        f0_sampler: Optional[str] = None,
        f0_steps: Optional[int] = None,
        **kwargs,
    ) -> Dict[str, torch.Tensor]:
        """Synthesise one utterance without GT durations.

        text (N,) or (1, N); label/melody["lab"] (1, N); spembs (256,) or (1, 256);
        lip (1, T_v, 88, 88); ref_feats (T_r, odim) or (1, T_r, odim): the reference recording's
        normalised mel for the style extractor (features/reference.py), ref_pitch (T_r,): its F0
        in Hz (optional). Without ref_feats, ``feats`` (teacher forcing: the target mel, with
        ``pitch`` as its F0) is the reference, else the mean reference. fixed_durations (N,):
        mel frames per phone taken as given (e.g. another system's timing), instead of any
        duration source. duration["lab"] is read only with use_teacher_forcing (then GT F0
        ``pitch`` is used too, when given). sampler "ddim" | "ddpm" | "dpm_solver"
        (decoder_conf.objective ddpm) or "euler" | "rk2" | "rk4" (objective reflow), steps: mel
        sampling; f0_sampler / f0_steps: the F0 predictor's (default: sampler / steps);
        seed / generator: the diffusion noise source. durations_only: return {"duration"} alone,
        before any mel or F0 is generated (to score the timing; local/score_durations.py).
        Returns feat_gen (T, odim) normalised mel, duration (N,) frames, f0 (T,) Hz,
        attn (N, T_v) fusion attention (use_visual only).
        """
        if text.dim() == 1:
            text = text[None]
        label = {k: (v[None] if v.dim() == 1 else v) for k, v in (label or {}).items() if v is not None}
        melody = {k: (v[None] if v.dim() == 1 else v) for k, v in (melody or {}).items() if v is not None}
        phones = label.get("lab", text)
        plen = torch.tensor([phones.shape[1]], device=phones.device)
        phones, plen, midi = self._phone_inputs(text, plen, label, melody)
        if spembs is not None and spembs.dim() == 1:
            spembs = spembs[None]
        if generator is None:
            generator = torch.Generator(device=phones.device)
            generator.manual_seed(0 if seed is None else int(seed))

        read_lips = self.duration_source == "lipreader" and not use_teacher_forcing and fixed_durations is None
        cf, pmask, sf, fout, lip_logp = self._phone_content(phones, plen, midi, spembs, lip, lip_lengths, read_lips)
        if fixed_durations is not None:
            d = fixed_durations.reshape(1, -1).long().to(phones.device)
            if d.shape[1] != phones.shape[1]:
                raise ValueError(f"fixed_durations has {d.shape[1]} phone durations for {phones.shape[1]} phones")
        elif use_teacher_forcing:
            if duration is None or duration.get("lab") is None:
                raise ValueError("use_teacher_forcing needs duration['lab']")
            d = duration["lab"]
            d = fit_length((d[None] if d.dim() == 1 else d).long(), phones.shape[1], dim=1)
        elif self.duration_source in VIDEO_DURATION_SOURCES:
            d = self._video_durations(cf, fout, pmask, midi, lip_lengths, lip_logp)
        else:
            d = self.duration.to_frames(self._log_durations(cf, pmask, fout), pmask, midi)
        if durations_only:
            return {"duration": d[0]}
        content, note, flen = self._frame_content(cf, d, midi, sf)
        T = content.shape[1]
        fmask = lengths_to_mask(flen, T)

        if ref_feats is None and feats is not None:
            ref_feats, ref_pitch = feats, pitch
        if ref_feats is not None:
            ref = ref_feats[None] if ref_feats.dim() == 2 else ref_feats
            ref_f0 = ref_pitch.reshape(1, -1)[:, : ref.shape[1]] if ref_pitch is not None else None
            if ref_f0 is not None:
                ref_f0 = fit_length(ref_f0.to(ref.dtype), ref.shape[1], dim=1)
            ref_mask = torch.ones(ref.shape[:2], dtype=torch.bool, device=ref.device)
        else:
            ref, ref_f0, ref_mask = StyleExtractor.mean_reference(1, self.odim, content.device, content.dtype)
        st = self.style(content, ref, ref_f0, ref_mask)
        cond = st["out"] * fmask[..., None].to(content.dtype)

        if use_teacher_forcing and pitch is not None:
            f0 = fit_length(pitch.reshape(1, -1).to(cond.dtype), T, dim=1)
        else:
            f0 = self.f0_predictor.inference(cond, fmask, note, sampler=f0_sampler or sampler,
                                             steps=f0_steps or steps, generator=generator)["f0"]
        cond = (cond + self.f0_embed(f0)) * fmask[..., None].to(cond.dtype)
        aux = self.aux_decoder(cond, fmask) if self.aux_decoder is not None else None
        mel = self.decoder.inference(cond, fmask, sampler=sampler, steps=steps, aux_mel=aux, generator=generator)
        out = {"feat_gen": mel[0], "duration": d[0], "f0": f0[0]}
        if fout is not None and fout.attn is not None:
            out["attn"] = fout.attn[0]
        return out

    # ------------------------------------------------------------------ the recipe's view
    @classmethod
    def needs(cls, svs_conf: Optional[dict]):
        """What this system needs from the recipe: a SystemNeeds (espnet2_ext/svs/performsinger/needs.py)."""
        from espnet2_ext.svs.performsinger import needs

        return needs.needs(svs_conf)

    def configure_decode(self, duration_source: Optional[str] = None, duration_prior: Optional[dict] = None) -> str:
        """Decode-time duration source and prior (performsinger/needs.py); -> what durations come from."""
        from espnet2_ext.svs.performsinger import needs

        return needs.configure_decode(self, duration_source, duration_prior)
