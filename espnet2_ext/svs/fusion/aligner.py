"""Lip-to-phone aligner: which phone does each video frame show? (timing read-out of VCFM)

    CF (B, N, H) (phone content before fusion) + relative position -> + BiGRU -> Linear -> Q (B, N, H)
    VF (B, T_v, H_v) -> Linear -> ReLU -> + relative position -> [Conv1d(H, H, k) -> GELU] x L
        (residual) -> Linear -> K (B, T_v, H)
    S = Q K^T / sqrt(H) (B, N, T_v);  log p(n | t) = log_softmax of S over the N phones
    training:  L_V = - sum_t w_t sum_n A^[n, t] log p(n | t) / sum_t w_t
               A*[n, t] = fraction of video frame t inside phone n's span (GT durations),
               w_t = sum_n A*[n, t] (frames past the last phone weigh less), A^ = A* / w_t
    inference: Viterbi monotonic path through log p -> phone of each frame; frames at a phone
               change share their unit between the neighbouring phones by p (sub-frame
               boundaries) -> phone lengths in video frames -> boundaries -> mel-frame durations

Why: eq. 4-6 let every *phone* attend over the video (a softmax over frames), and the duration
predictor has to turn that into a length. In a singing video the question the lips answer is
the converse one: at this instant, which phone is being sung? Normalising over phones per frame
makes that a classification with soft targets (a frame shared by two phones is labelled with
both fractions, so a calibrated posterior places a boundary inside the 40 ms frame), and a
monotonic path through the posteriors (``alignment.posterior_durations``) gives boundaries that
stay tied to the video instead of drifting like a sum of predicted durations. The total length is the video's, which is what
dubbing needs. Enabled by ``fusion_conf.aligner``; PerformSinger uses its durations at
inference with ``duration_source: aligner``. GT boundaries come from the corpus's TextGrids,
as for the duration loss.
"""

import torch

from espnet2_ext.svs.alignment import relative_position_encoding, video_overlap


class LipPhoneAligner(torch.nn.Module):
    """Frame-wise phone posteriors p(n | t) (B, N, T_v) from phone content and lip features."""

    def __init__(self, hidden: int, visual_dim: int, conv_layers: int = 2, kernel_size: int = 5,
                 dropout: float = 0.1):
        """
        Args:
            hidden: H of the content features (and of the aligner).
            visual_dim: H_v of the lip features VF (the aligner reads them directly, before
                VCFM's adapter and absolute positional encoding, which it does not need).
            conv_layers: residual temporal convolutions over the visual frames (context for the
                mouth's motion, not only its shape).
            kernel_size: their width in video frames (odd).
            dropout: on the visual projection and convolution outputs.
        """
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"aligner kernel_size must be odd, got {kernel_size}")
        self.hidden = hidden
        self.visual_in = torch.nn.Linear(visual_dim, hidden)
        self.phone_rnn = torch.nn.GRU(hidden, hidden // 2, batch_first=True, bidirectional=True)
        self.convs = torch.nn.ModuleList(
            [torch.nn.Conv1d(hidden, hidden, kernel_size, padding=kernel_size // 2) for _ in range(conv_layers)]
        )
        self.dropout = torch.nn.Dropout(dropout)
        self.query = torch.nn.Linear(hidden, hidden)
        self.key = torch.nn.Linear(hidden, hidden)
        self.scale = hidden ** -0.5

    def forward(self, cf: torch.Tensor, c_mask: torch.Tensor, vf: torch.Tensor, v_mask: torch.Tensor) -> torch.Tensor:
        """cf (B, N, H), c_mask (B, N), vf (B, T_v, H_v), v_mask (B, T_v) -> log p(n | t) (B, N, T_v)."""
        cm = c_mask[..., None].to(cf.dtype)
        h = (cf + relative_position_encoding(c_mask, self.hidden).to(cf.dtype)) * cm
        packed = torch.nn.utils.rnn.pack_padded_sequence(h, c_mask.sum(-1).clamp(min=1).cpu(), batch_first=True,
                                                         enforce_sorted=False)
        r, _ = self.phone_rnn(packed)
        r, _ = torch.nn.utils.rnn.pad_packed_sequence(r, batch_first=True, total_length=h.shape[1])
        h = (h + r) * cm  # (B, N, H)
        vm = v_mask[..., None].to(vf.dtype)
        v = self.dropout(torch.relu(self.visual_in(vf)))
        v = (v + relative_position_encoding(v_mask, self.hidden).to(v.dtype)) * vm  # (B, T_v, H)
        for conv in self.convs:
            v = (v + self.dropout(torch.nn.functional.gelu(conv(v.transpose(1, 2)).transpose(1, 2)))) * vm
        s = torch.einsum("bnh,bth->bnt", self.query(h), self.key(v)) * self.scale  # (B, N, T_v)
        s = s.masked_fill(~c_mask[..., None], float("-inf"))
        logp = torch.log_softmax(s, dim=1)
        return logp.masked_fill(~(c_mask[..., None] & v_mask[:, None, :]), 0.0)


def aligner_loss(logp: torch.Tensor, d: torch.Tensor, pmask: torch.Tensor, vmask: torch.Tensor,
                 frame_rate: float, video_fps: float) -> torch.Tensor:
    """L_V: soft cross-entropy of the frame-wise phone posteriors against the GT overlap (see top)."""
    target = video_overlap(d, pmask.to(torch.float32), logp.shape[-1], frame_rate, video_fps)  # (B, N, T_v)
    target = target * vmask[:, None, :].to(target.dtype)
    w = target.sum(1)  # (B, T_v)
    tnorm = target / w[:, None, :].clamp(min=1e-6)
    ce = -(tnorm * logp).sum(1)  # (B, T_v)
    total = w.sum()
    if float(total) <= 0:
        return logp.new_zeros(())
    return (ce * w).sum() / total
