"""PerformSinger: duration-free singing voice synthesis from lyrics, notes, a reference voice and a
silent singing video (PerformSinger sec. 3, eq. 1-7).

    phones (B, N) + MIDI (B, N) --PhonemeEncoder--> CF (B, N, H)                      eq. 1-2
    spembs (B, 256) --Linear--> SF (B, 1, H);  CF <- CF + SF                           eq. 3
    [use_visual] lip (B, T_v, 88, 88) --LipEncoder--> VF (B, T_v, 512)                 eq. 3
                 CF <- fusion(CF, VF) (svs_conf.fusion: VCFM eq. 4-6, SMA, ...; fusion/)
                 + attention (B, N, T_v)
    [lip_reader_conf] VF --LipReadingHeads (K heads)--> log p_k(phone n | video frame t)
        (K, B, N, T_v) (lip_reading.py); two-stage configs fit and freeze them before stage two
    CF --DurationModule--> log(d + 1) (B, N);  L_D (duration.py)
    d = GT frames (training, teacher forcing), or at inference the duration source's
        (svs_conf.duration_source: predictor | lipreader | attention | aligner, with the
        duration predictor as prior on the video timing: duration_sources.py)
    LengthRegulator(CF, d) -> (B, T, H) + SF + NoteEmbedding(LR(MIDI)) = frame content
    StyleExtractor(frame content, reference mel (+ F0)) -> content + style (B, T, H);  L_C
    F0DiffusionPredictor(cond) -> F0 (B, T) Hz;  L_P = f0_loss + uv_loss
    cond <- cond + F0Embedding(F0)   (GT F0 in training, predicted F0 at inference)
    MelDiffusionDecoder(cond) -> normalised mel (B, T, odim);  L_R (+ aux mel L1 when shallow)
    L = eq. 7 + the alignment auxiliaries L_A, L_V, L_L and the fusion's own (loss.py)

Reference for the style extractor: the target mel in training (replaced by the "mean reference",
one frame of normalised mel 0 = the corpus mean under global MVN, with probability
``style_conf.ref_dropout``); at inference the reference recording's mel given as ``ref_feats``
(the decode entry point always gives one: features/reference.py), the mean reference only when
a caller gives none. The timbre always comes from ``spembs`` (the reference's d-vector).

``use_visual: false`` is the StyleSinger-style duration-free baseline, i.e. stage one of the
two-stage training; stage two adds ``lip_encoder.``, ``fusion.`` (and ``lip_reader.``) and
starts from it (``stage_init.load_stage_one``).
"""

from typing import Dict, Optional, Tuple

import torch
from espnet2.svs.abs_svs import AbsSVS
from espnet2.torch_utils.device_funcs import force_gatherable

from espnet2_ext.svs.conf import merge_conf
from espnet2_ext.svs.diffusion.f0_predictor import F0DiffusionPredictor
from espnet2_ext.svs.diffusion.mel_decoder import MelDiffusionDecoder
from espnet2_ext.svs.fusion import build_fusion
from espnet2_ext.svs.masks import fit_length, lengths_to_mask
from espnet2_ext.svs.performsinger import inputs
from espnet2_ext.svs.performsinger import needs as system_needs
from espnet2_ext.svs.performsinger.duration import DurationModule
from espnet2_ext.svs.performsinger.confidence import reading_confidence
from espnet2_ext.svs.performsinger.duration_sources import DurationPrior, PhoneTiming, VideoSource, duration_source
from espnet2_ext.svs.performsinger.frame_modules import AuxMelDecoder, F0Embedding
from espnet2_ext.svs.performsinger.lip_reading import build_lip_reader, read_phones, single_head_keys
from espnet2_ext.svs.performsinger.loss import PerformSingerLoss
from espnet2_ext.svs.performsinger.phoneme_encoder import PhonemeEncoder
from espnet2_ext.svs.performsinger.speaker import SpeakerProjection
from espnet2_ext.svs.performsinger.style import StyleExtractor
from espnet2_ext.svs.precision import compute_in, resolve_precision

DURATION_PRIOR_DEFAULTS = dict(weight=0.0, sigma=0.5, max_span_s=None)


class PerformSinger(AbsSVS):
    """Multimodal duration-free SVS model (and, with ``use_visual: false``, its audio-only baseline)."""

    def __init__(
        self, idim: int, odim: int, hidden: int = 256, encoder_conf: Optional[dict] = None, spk_embed_dim: int = 256,
        use_visual: bool = True, lip_encoder_conf: Optional[dict] = None, fusion: str = "vcfm",
        fusion_conf: Optional[dict] = None, duration_conf: Optional[dict] = None, f0_conf: Optional[dict] = None,
        style_conf: Optional[dict] = None, decoder_conf: Optional[dict] = None, loss_weights: Optional[dict] = None,
        f0_embed_bins: int = 256, frame_rate: float = 187.5, video_fps: float = 25.0,
        duration_source: str = "predictor", duration_prior: Optional[dict] = None,
        lip_reader_conf: Optional[dict] = None,
        two_stage: bool = True,
    ):
        """
        Args:
            idim: phone vocabulary size (espnet's token list; id 0 = padding). odim: mel bins.
            hidden: H, width of every phone- and frame-level feature.
            encoder_conf: PhonemeEncoder options (layers, heads, ffn_units, ffn_kernel, dropout, ...).
            spk_embed_dim: size of ``spembs`` (256, GE2E d-vector).
            use_visual: build the lip encoder and the fusion module (stage two / VCFM-S); false =
                the audio-only duration-free baseline (stage one).
            lip_encoder_conf: LipEncoder options (output_dim, frontend_channels, trunk_channels,
                input_size, pretrained, freeze). Ignored without video.
            fusion: the fusion module's name in ``espnet2_ext.svs.fusion`` ("vcfm": eq. 4-6; "sma":
                the stepwise monotonic attention ablation; a plugin's entry point; module:Class).
            fusion_conf: its options (VCFM: blocks K (2), heads (2), dropout (0.1), aligner, ...).
            duration_conf: DurationModule options (layers, channels, kernel_size, dropout,
                sentence_loss_weight, max_frames_per_phone).
            f0_conf: F0DiffusionPredictor options (residual_layers, residual_channels, num_steps, ...).
            style_conf: StyleExtractor options (use_f0, wavenet_layers, rvq_quantizers, rvq_codebook,
                attn_layers, ref_dropout, ...).
            decoder_conf: MelDiffusionDecoder options (residual_layers, residual_channels, num_steps,
                objective (ddpm | reflow), shallow_k, t_start, ...) plus aux_layers (int, 2): conv
                layers of the auxiliary mel decoder, built (and trained with L1) only for a shallow start.
            loss_weights: lambda_R, lambda_D, lambda_P, lambda_C of eq. 7 and lambda_F, lambda_A,
                lambda_V, lambda_L, aux_mel of the auxiliaries (loss.py).
            f0_embed_bins: number of log-F0 bins of the F0 embedding (bin 0 = unvoiced).
            frame_rate: mel frames per second, fs / hop_length (derived by the task from the features).
            video_fps: frame rate of the lip video (25).
            duration_source: where inference durations come from: "predictor" (sec. 3.5),
                "lipreader" (needs lip_reader_conf), "attention" (needs use_visual) or "aligner"
                (needs fusion_conf.aligner); see duration_sources.py.
            duration_prior: weight (0.0: off), sigma (0.5) and max_span_s (None) of the duration
                predictor's prior on the video timing (duration_prior.py); inference only.
            lip_reader_conf: None (no head), or hidden (64), heads (1), pretrained (None), freeze
                (false) of the lip-reading heads over the token list (lip_reading.py). Needs use_visual.
            two_stage: true: stage two starts from the stage-one model; false: one stage from
                scratch (VCFM-S). Read by the recipe (``needs``), not by the model.
        """
        super().__init__()
        self.criterion = PerformSingerLoss(loss_weights, frame_rate, video_fps)
        self.loss_weights = self.criterion.weights
        self.idim, self.odim, self.hidden, self.use_visual = idim, odim, hidden, use_visual
        self.frame_rate, self.video_fps = float(frame_rate), float(video_fps)
        self.encoder = PhonemeEncoder(idim, hidden, encoder_conf)
        self.speaker = SpeakerProjection(spk_embed_dim, hidden)
        if use_visual:
            from espnet2_ext.svs.lip_encoder import LipEncoder
            self.lip_encoder = LipEncoder(dict(lip_encoder_conf or {}))
            self.fusion = build_fusion(fusion, hidden, self.lip_encoder.output_dim, fusion_conf)
        visual_dim = self.lip_encoder.output_dim if use_visual else 0
        self.lip_reader = build_lip_reader(lip_reader_conf, use_visual, visual_dim, idim)
        if self.lip_reader is not None:
            self.register_load_state_dict_pre_hook(single_head_keys)
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
        """Where inference durations come from (``duration_source``; decoding may override it)."""
        self.timing_source = duration_source(name, self)
        self.duration_source = name

    def set_duration_prior(self, weight: float = 0.0, sigma: float = 0.5, max_span_s: Optional[float] = None) -> None:
        """The duration predictor's prior on the video timing (``duration_prior``; inference only)."""
        self.timing_prior = DurationPrior(weight, sigma, max_span_s)

    @property
    def duration_prior(self) -> Dict[str, Optional[float]]:
        """weight, sigma and max_span_s of the duration prior (set with ``set_duration_prior``)."""
        return self.timing_prior.as_dict()

    # ------------------------------------------------------------------ shared pieces
    def _phone_timing(self, phones, phone_lengths, midi, spembs, lip, lip_lengths, read_lips=True,
                      dtype=torch.float32):
        """-> PhoneTiming (CF (B, N, H) with speaker and, if visual, fused; the fusion output; the
        lip-reading heads' log p (K, B, N, T_v) unless read_lips is false) and SF (B, 1, H).
        dtype: the lip encoder's compute dtype (precision.py); its features leave it in float32."""
        cf, pmask = self.encoder(phones, phone_lengths, midi)  # (B, N, H)
        sf = self.speaker(spembs, phones.shape[0])  # (B, 1, H)
        cf = (cf + sf) * pmask[..., None].to(cf.dtype)
        fout = lip_logp = None
        if self.use_visual:
            if lip is None:
                raise ValueError("PerformSinger(use_visual=True) needs lip (B, T_v, 88, 88): add lip.scp to the data")
            lip = lip[None] if lip.dim() == 3 else lip
            if lip_lengths is None:
                lip_lengths = torch.full((lip.shape[0],), lip.shape[1], dtype=torch.long, device=lip.device)
            with compute_in(dtype, lip.device):
                vf = self.lip_encoder(lip, lip_lengths).float()  # (B, T_v, 512)
            fout = self.fusion(cf, phone_lengths, vf, lip_lengths)
            cf = fout.fused * pmask[..., None].to(cf.dtype)
            if self.lip_reader is not None and read_lips:
                lip_logp = read_phones(self.lip_reader, vf, lip_lengths, phones, pmask)  # (K, B, N, T_v)
        return PhoneTiming(cf, pmask, midi, fout, lip_lengths, lip_logp, self.duration, self.frame_rate,
                           self.video_fps), sf

    def _frame_content(self, cf, d, midi, sf, max_len=None):
        """Length-regulate CF by d (B, N) -> content (B, T, H), frame MIDI (B, T), frame lengths (B,)."""
        frames, flen = self.duration.regulate(cf, d, max_len)  # (B, T, H)
        note, _ = self.duration.regulate(midi[..., None].to(cf.dtype), d, max_len)  # (B, T, 1)
        note = note.squeeze(-1).round().long()
        fmask = lengths_to_mask(flen, frames.shape[1])
        content = (frames + sf + self.note_embed(note)) * fmask[..., None].to(frames.dtype)
        return content, note * fmask.long(), flen

    def _train_frames(self, content, feats, f0, fmask) -> Tuple[dict, dict, torch.Tensor, Optional[torch.Tensor]]:
        """Style, F0 and mel losses on the GT frames: -> style output, F0 losses, mel loss, aux mel."""
        m = fmask[..., None].to(feats.dtype)
        st = self.style(content, feats * m, f0, fmask)
        cond = st["out"] * m
        pitch_losses = self.f0_predictor(f0, cond, fmask)
        cond = (cond + self.f0_embed(f0)) * m
        mel_loss = self.decoder(feats, cond, fmask)["loss"]
        aux = self.aux_decoder(cond, fmask) if self.aux_decoder is not None else None
        return st, pitch_losses, mel_loss, aux

    # ------------------------------------------------------------------ training
    def forward(
        self, text: torch.Tensor, text_lengths: torch.Tensor, feats: torch.Tensor, feats_lengths: torch.Tensor,
        label=None, label_lengths=None, melody=None, melody_lengths=None, duration=None, duration_lengths=None,
        pitch=None, pitch_lengths=None, spembs=None, lip=None, lip_lengths=None, flag_IsValid=False, **kwargs,
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], torch.Tensor]:
        """Eq. 7 and the auxiliaries on a padded batch (loss.py).

        text (B, N), feats (B, T, odim) normalised log-mel, label/melody/duration["lab"] (B, N)
        phone ids / MIDI / GT frames, pitch (B, T', 1) F0 Hz, spembs (B, 256),
        lip (B, T_v, 88, 88) -> (loss, stats, batch size).
        """
        phones, plen, midi = inputs.phone_inputs(text, text_lengths, label, melody, label_lengths, melody_lengths)
        d_gt = inputs.training_durations(duration, pitch, phones.shape[1])
        B, T = feats.shape[:2]
        # frozen heads get no gradient from L_L: training steps skip reading the lips (validation logs L_L)
        read_lips = not self.training or (self.lip_reader is not None and self.lip_reader.trainable)
        timing, sf = self._phone_timing(phones, plen, midi, spembs, lip, lip_lengths, read_lips)
        pmask = timing.pmask
        d_gt = d_gt.masked_fill(~pmask, 0)
        dur = self.duration.loss(timing.log_durations(), d_gt, pmask)

        content, _, flen = self._frame_content(timing.cf, d_gt, midi, sf, max_len=T)  # (B, T, H)
        fmask = lengths_to_mask(torch.minimum(flen, feats_lengths), T)  # (B, T)
        f0 = fit_length(pitch.reshape(B, -1).to(feats.dtype), T, dim=1) * fmask.to(feats.dtype)  # (B, T)
        st, pitch_losses, mel_loss, aux = self._train_frames(content, feats, f0, fmask)

        loss, stats = self.criterion.synthesis(mel_loss, aux, feats, fmask, dur, pitch_losses, st)
        frame_logp = self.timing_source.trained_logp(timing.fout, pmask)
        loss, stats = self.criterion.auxiliaries(loss, stats, timing.fout, frame_logp, timing.lip_logp, d_gt, pmask,
                                                 lip_lengths)
        return force_gatherable((loss, stats, torch.tensor(B, device=loss.device)), loss.device)

    # ------------------------------------------------------------------ inference
    def _sing(self, content, note, flen, ref, f0, sampler, steps, f0_sampler, f0_steps, generator,
              dtype=torch.float32):
        """Frame content (1, T, H) + style reference (ref, F0, mask) -> mel (1, T, odim), F0 (1, T);
        ``f0`` (1, T') given (teacher forcing) or None (predicted); dtype: the compute dtype of the F0
        predictor and the mel decoders (precision.py), whose outputs leave in float32."""
        T = content.shape[1]
        fmask = lengths_to_mask(flen, T)
        st = self.style(content, *ref)
        cond = st["out"] * fmask[..., None].to(content.dtype)
        if f0 is not None:
            f0 = fit_length(f0.reshape(1, -1).to(cond.dtype), T, dim=1)
        else:
            with compute_in(dtype, cond.device):
                f0 = self.f0_predictor.inference(cond, fmask, note, sampler=f0_sampler or sampler,
                                                 steps=f0_steps or steps, generator=generator)["f0"].float()
        cond = (cond + self.f0_embed(f0)) * fmask[..., None].to(cond.dtype)
        with compute_in(dtype, cond.device):
            aux = self.aux_decoder(cond, fmask) if self.aux_decoder is not None else None
            mel = self.decoder.inference(cond, fmask, sampler=sampler, steps=steps, aux_mel=aux, generator=generator)
        return mel.float(), f0

    def _reading(self, timing, d: torch.Tensor) -> Dict[str, torch.Tensor]:
        """{"lip_confidence": (), "frame_confidence": (T_v,), "phone_confidence": (N,)} of a video-driven timing (confidence.py),
        {} when the durations did not come from the video."""
        if not isinstance(self.timing_source, VideoSource) or (timing.fout is None and timing.lip_logp is None):
            return {}
        logp = self.timing_source.frame_logp(timing)  # (1, N, T_v)
        if logp is None:
            return {}
        t_v = int(timing.lip_lengths[0]) if timing.lip_lengths is not None else logp.shape[-1]
        n = int(timing.pmask[0].sum())
        frame, phone, line = reading_confidence(logp[0, :n, :t_v], d[0, :n], timing.frame_rate, timing.video_fps)
        return {"lip_confidence": line, "frame_confidence": frame, "phone_confidence": phone}

    @torch.no_grad()
    def inference(
        self, text: torch.Tensor, label=None, melody=None, duration=None, spembs=None, lip=None, lip_lengths=None,
        feats=None, pitch=None, ref_feats=None, ref_pitch=None, fixed_durations=None, use_teacher_forcing=False,
        sampler: str = "auto", steps: int = 10, seed: Optional[int] = None, generator=None, durations_only=False,
        f0_sampler: Optional[str] = None, f0_steps: Optional[int] = None, precision: str = "float32", **kwargs,
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
        (decoder_conf.objective ddpm) or "euler" | "rk2" | "rk4" (objective reflow), or "auto"
        (each model's few-step sampler: ddim or euler), steps: mel sampling; f0_sampler /
        f0_steps: the F0 predictor's (default: sampler / steps);
        seed / generator: the diffusion noise source. precision: "float32" | "bfloat16" | "auto",
        the compute dtype of the lip encoder, F0 predictor and mel decoders (precision.py). durations_only: return {"duration"} alone,
        before any mel or F0 is generated (to score the timing; local/score_durations.py).
        Returns feat_gen (T, odim) normalised mel, duration (N,) frames, f0 (T,) Hz,
        attn (N, T_v) fusion attention (use_visual only), and where the durations were read off the
        video, lip_confidence (), frame_confidence (T_v,) and phone_confidence (N,) (confidence.py; also with
        durations_only).
        """
        text, label, melody, spembs = inputs.batch_of_one(text, label, melody, spembs)
        phones = label.get("lab", text)
        plen = torch.tensor([phones.shape[1]], device=phones.device)
        phones, plen, midi = inputs.phone_inputs(text, plen, label, melody)
        if generator is None:
            generator = torch.Generator(device=phones.device)
            generator.manual_seed(0 if seed is None else int(seed))

        d = inputs.fixed_or_teacher_durations(fixed_durations, duration, use_teacher_forcing, phones.shape[1],
                                              phones.device)
        read_lips = self.timing_source.reads_lips and d is None
        dtype = resolve_precision(precision, phones.device)
        timing, sf = self._phone_timing(phones, plen, midi, spembs, lip, lip_lengths, read_lips, dtype)
        reading = {}
        if d is None:
            d = self.timing_source.durations(timing, self.timing_prior)
            reading = self._reading(timing, d)
        if durations_only:
            return {"duration": d[0], **reading}
        content, note, flen = self._frame_content(timing.cf, d, midi, sf)
        if ref_feats is None and feats is not None:
            ref_feats, ref_pitch = feats, pitch
        ref = inputs.reference(ref_feats, ref_pitch, self.odim, content.device, content.dtype)
        given_f0 = pitch if use_teacher_forcing and pitch is not None else None
        mel, f0 = self._sing(content, note, flen, ref, given_f0, sampler, steps, f0_sampler, f0_steps, generator, dtype)
        out = {"feat_gen": mel[0], "duration": d[0], "f0": f0[0], **reading}
        if timing.fout is not None and timing.fout.attn is not None:
            out["attn"] = timing.fout.attn[0]
        return out

    # ------------------------------------------------------------------ the recipe's view
    @classmethod
    def needs(cls, svs_conf: Optional[dict]):  # -> SystemNeeds: what the recipe must do for it
        return system_needs.needs(svs_conf)

    def configure_decode(self, duration_source: Optional[str] = None, duration_prior: Optional[dict] = None) -> str:
        # decode-time duration source and prior (performsinger/needs.py) -> what durations come from
        return system_needs.configure_decode(self, duration_source, duration_prior)
