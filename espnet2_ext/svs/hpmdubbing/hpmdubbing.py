"""HPMDubbing / HPMDubbing-P: the visual dubbing baselines of the paper's table 1.

    text (B, N) --Embedding (+ Embedding(MIDI) when use_pitch: -P)--> --text FFT encoder--> X (B, N, H)
    lip (B, T_v, 88, 88) --LipEncoder (eq. 3)--> (B, T_v, 512) --Linear--> --lip FFT encoder--> L (B, T_v, H)
        CTC head on L: log p(phone | lip frame)                      L_ctc (lip frames -> phone ids)
    A = CrossAttn(q = L, k = v = X);  Z = LN(L + A)                   (B, T_v, H), attn (B, h, T_v, N)
    Z += Linear(spembs)                                               speaker
    Z --linear interpolation to the mel rate--> (B, T, H)             T = target length (train) or
                                                                      round(T_v * fs / hop / fps) (inference)
    --FFT mel decoder--> --Linear--> mel (B, T, odim) [--PostNet--> mel + residual]
    L = L1(mel) [+ L1(postnet mel)] + lambda_ctc * L_ctc

There is no duration predictor: the mel length follows the video length, which keeps the output
in sync with the clip by construction. Phone durations reported at inference are read off the
attention (``alignment.durations_from_attention``). ``duration`` is accepted for interface
compatibility and never read.
"""

from typing import Dict, Optional

import torch
from espnet.nets.pytorch_backend.tacotron2.decoder import Postnet
from espnet.nets.pytorch_backend.transformer.attention import MultiHeadedAttention
from espnet.nets.pytorch_backend.transformer.encoder import Encoder
from espnet2.svs.abs_svs import AbsSVS
from espnet2.torch_utils.device_funcs import force_gatherable

import espnet2_ext.svs.hpmdubbing.needs as system_needs
from espnet2_ext.svs.conf import merge_conf
from espnet2_ext.svs.hpmdubbing.alignment import durations_from_attention
from espnet2_ext.svs.hpmdubbing.length import interpolate_to_lengths, mel_length_from_video
from espnet2_ext.svs.lip_encoder import LipEncoder
from espnet2_ext.svs.masks import lengths_to_mask

FFT_DEFAULTS = dict(layers=4, heads=2, linear_units=1024, kernel_size=9, dropout=0.1)


def fft_stack(hidden: int, conf: dict) -> Encoder:
    """FastSpeech FFT blocks (self-attention + conv1d(k) -> linear FFN) on (B, L, H) inputs."""
    return Encoder(
        idim=hidden,
        attention_dim=hidden,
        attention_heads=conf["heads"],
        linear_units=conf["linear_units"],
        num_blocks=conf["layers"],
        input_layer=None,
        dropout_rate=conf["dropout"],
        positional_dropout_rate=conf["dropout"],
        attention_dropout_rate=conf["dropout"],
        normalize_before=True,
        positionwise_layer_type="conv1d-linear",  # FastSpeech2 FFN: conv k -> conv 1
        positionwise_conv_kernel_size=conf["kernel_size"],
    )


class HPMDubbing(AbsSVS):
    """Lip-queried text attention dubbing model; ``use_pitch: true`` is HPMDubbing-P.

    Args:
        idim: phone vocabulary size (espnet token list; id 0 = <blank>, used as the CTC blank).
        odim: mel bins.
        hidden: model size H.
        use_pitch: add a learnable MIDI-note embedding to the phone embedding (HPMDubbing-P).
        midi_dim: number of MIDI values (0 = rest).
        text_encoder_conf / lip_fft_conf / decoder_conf: FFT stacks (layers, heads, linear_units,
            kernel_size, dropout).
        lip_encoder_conf: LipEncoder options (output_dim, frontend_channels, trunk_channels, act,
            pretrained, freeze).
        cross_heads: heads of the lip -> text cross-attention.
        spk_embed_dim: size of ``spembs`` (256 d-vector); 0 disables the speaker projection.
        fs, hop_length, video_fps: audio rate, mel hop and video rate; the inference mel length
            is round(T_v * fs / hop_length / video_fps).
        lambda_ctc: weight of the CTC loss on lip frames.
        use_postnet: add espnet's Tacotron2 PostNet (5 conv layers) and its L1 loss.
    """

    def __init__(
        self,
        idim: int,
        odim: int,
        hidden: int = 256,
        use_pitch: bool = False,
        midi_dim: int = 129,
        text_encoder_conf: Optional[dict] = None,
        lip_encoder_conf: Optional[dict] = None,
        lip_fft_conf: Optional[dict] = None,
        decoder_conf: Optional[dict] = None,
        cross_heads: int = 2,
        spk_embed_dim: int = 256,
        fs: int = 22050,
        hop_length: int = 256,
        video_fps: float = 25.0,
        lambda_ctc: float = 0.1,
        use_postnet: bool = False,
        dropout: float = 0.1,
    ):
        super().__init__()
        self.idim, self.odim, self.hidden = idim, odim, hidden
        self.use_pitch = use_pitch
        self.fs, self.hop_length, self.video_fps = int(fs), int(hop_length), float(video_fps)
        self.lambda_ctc = float(lambda_ctc)
        self.phone_embed = torch.nn.Embedding(idim, hidden, padding_idx=0)
        self.pitch_embed = torch.nn.Embedding(midi_dim, hidden, padding_idx=0) if use_pitch else None
        self.text_encoder = fft_stack(hidden, merge_conf(FFT_DEFAULTS, text_encoder_conf, "text_encoder_conf"))
        self.lip_encoder = LipEncoder(lip_encoder_conf)
        self.lip_proj = torch.nn.Linear(self.lip_encoder.output_dim, hidden)
        self.lip_fft = fft_stack(hidden, merge_conf(FFT_DEFAULTS, lip_fft_conf, "lip_fft_conf"))
        self.ctc_head = torch.nn.Linear(hidden, idim)
        self.cross = MultiHeadedAttention(cross_heads, hidden, dropout)
        self.cross_norm = torch.nn.LayerNorm(hidden)
        self.spk_proj = torch.nn.Linear(spk_embed_dim, hidden) if spk_embed_dim else None
        self.decoder = fft_stack(hidden, merge_conf(FFT_DEFAULTS, decoder_conf, "decoder_conf"))
        self.mel_out = torch.nn.Linear(hidden, odim)
        self.postnet = Postnet(idim=odim, odim=odim, n_layers=5, n_chans=256, n_filts=5) if use_postnet else None

    # ------------------------------------------------------------------ shared path
    def _encode(self, phones, phone_lengths, midi, spembs, lip, lip_lengths):
        """-> Z (B, T_v, H), lip features L (B, T_v, H), attention (B, heads, T_v, N)."""
        x = self.phone_embed(phones)  # (B, N, H)
        if self.pitch_embed is not None:
            x = x + self.pitch_embed(midi.clamp(0, self.pitch_embed.num_embeddings - 1))
        t_mask = lengths_to_mask(phone_lengths.to(x.device), phones.shape[1])  # (B, N)
        x, _ = self.text_encoder(x, t_mask[:, None, :])  # (B, N, H)
        v_mask = lengths_to_mask(lip_lengths.to(x.device), lip.shape[1])  # (B, T_v)
        vis = self.lip_proj(self.lip_encoder(lip, lip_lengths))  # (B, T_v, H)
        vis, _ = self.lip_fft(vis, v_mask[:, None, :])  # (B, T_v, H)
        a = self.cross(vis, x, x, t_mask[:, None, :])  # (B, T_v, H)
        z = self.cross_norm(vis + a)
        if self.spk_proj is not None and spembs is not None:
            z = z + self.spk_proj(spembs)[:, None, :]
        return z * v_mask[..., None], vis, self.cross.attn

    def _decode(self, z, z_lengths, out_lengths):
        """z (B, T_v, H) -> mel before / after postnet (B, T, odim)."""
        h = interpolate_to_lengths(z, z_lengths, out_lengths)  # (B, T, H)
        lens = torch.tensor(out_lengths, device=h.device)
        m_mask = lengths_to_mask(lens.to(h.device), h.shape[1])
        h, _ = self.decoder(h, m_mask[:, None, :])
        before = self.mel_out(h)  # (B, T, odim)
        after = None
        if self.postnet is not None:
            after = before + self.postnet(before.transpose(1, 2)).transpose(1, 2)
        return before, after, m_mask

    @staticmethod
    def _pick(d: Optional[Dict[str, torch.Tensor]], keys=("lab", "score")):
        for k in keys:
            if d is not None and d.get(k) is not None:
                return d[k], k
        return None, None

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
    ):
        """Returns (loss, stats, batch size). Never reads ``duration``."""
        if lip is None or lip_lengths is None:
            raise ValueError("HPMDubbing needs the lip stream: add dump/raw/<set>/lip.scp as the 'lip' input")
        phones, key = self._pick(label)
        if phones is None:
            phones, phone_lengths = text, text_lengths
        else:
            phone_lengths = label_lengths[key]
        midi = None
        if self.pitch_embed is not None:
            midi, _ = self._pick(melody)
            if midi is None:
                raise ValueError("HPMDubbing-P (use_pitch: true) needs melody['lab'] or melody['score']")
        n_max = int(phone_lengths.max())
        phones, midi = phones[:, :n_max], (midi[:, :n_max] if midi is not None else None)
        t_max = int(feats_lengths.max())
        feats = feats[:, :t_max]

        z, vis, _ = self._encode(phones, phone_lengths, midi, spembs, lip, lip_lengths)
        before, after, m_mask = self._decode(z, lip_lengths, [int(x) for x in feats_lengths])
        w = m_mask[..., None].float()
        denom = w.sum() * self.odim
        l1 = ((before - feats).abs() * w).sum() / denom
        loss = l1
        stats = dict(l1_loss=l1.detach())
        if after is not None:
            l1_post = ((after - feats).abs() * w).sum() / denom
            loss = loss + l1_post
            stats.update(postnet_l1_loss=l1_post.detach())
        if self.lambda_ctc > 0:
            logp = torch.log_softmax(self.ctc_head(vis), dim=-1).transpose(0, 1)  # (T_v, B, idim)
            ctc = torch.nn.functional.ctc_loss(
                logp, phones.clamp(min=0), lip_lengths, phone_lengths,
                blank=0, reduction="mean", zero_infinity=True,
            )
            loss = loss + self.lambda_ctc * ctc
            stats.update(ctc_loss=ctc.detach())
        stats.update(loss=loss.detach())
        loss, stats, weight = force_gatherable((loss, stats, feats.shape[0]), loss.device)
        return loss, stats, weight

    # ------------------------------------------------------------------ inference
    def inference(
        self,
        text: torch.Tensor,
        label: Optional[Dict[str, torch.Tensor]] = None,
        melody: Optional[Dict[str, torch.Tensor]] = None,
        duration: Optional[Dict[str, torch.Tensor]] = None,
        spembs: Optional[torch.Tensor] = None,
        lip: Optional[torch.Tensor] = None,
        lip_lengths: Optional[torch.Tensor] = None,
        use_teacher_forcing: bool = False,
        **kwargs,
    ) -> Dict[str, torch.Tensor]:
        """One utterance -> feat_gen (T, odim) normalised mel, duration (N,) mel frames from the
        attention's monotonic argmax path, attn (N, T_v). T = round(T_v * fs / hop / fps)."""
        if lip is None:
            raise ValueError("HPMDubbing inference needs 'lip' (T_v, 88, 88)")
        lip = lip[None] if lip.dim() == 3 else lip
        t_v = int(lip_lengths.reshape(-1)[0]) if lip_lengths is not None else lip.shape[1]
        lip = lip[:, :t_v]
        phones, _ = self._pick(label)
        phones = text if phones is None else phones
        phones = phones[None] if phones.dim() == 1 else phones
        midi = None
        if self.pitch_embed is not None:
            midi, _ = self._pick(melody)
            if midi is None:
                raise ValueError("HPMDubbing-P (use_pitch: true) needs melody['lab'] or melody['score']")
            midi = midi[None] if midi.dim() == 1 else midi
        if spembs is not None and spembs.dim() == 1:
            spembs = spembs[None]
        n = phones.shape[1]
        dev = phones.device
        z, _, attn = self._encode(
            phones, torch.tensor([n], device=dev), midi, spembs, lip, torch.tensor([t_v], device=dev)
        )
        t_mel = mel_length_from_video(t_v, self.fs, self.hop_length, self.video_fps)
        before, after, _ = self._decode(z, torch.tensor([t_v], device=dev), [t_mel])
        mel = (after if after is not None else before)[0]  # (T, odim)
        attn = attn[0].mean(0).t()  # (N, T_v)
        return dict(feat_gen=mel, duration=durations_from_attention(attn, t_mel), attn=attn)

    # ------------------------------------------------------------------ the recipe's view
    @classmethod
    def needs(cls, svs_conf: Optional[dict]):
        """What this system needs from the recipe: a SystemNeeds (espnet2_ext/svs/hpmdubbing/needs.py)."""
        return system_needs.needs(svs_conf)

    def configure_decode(self, **options) -> str:
        """No decode option applies (hpmdubbing/needs.py); -> what durations come from."""
        return system_needs.configure_decode(self, **options)
