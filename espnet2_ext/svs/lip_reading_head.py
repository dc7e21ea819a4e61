"""Lip-reading head: which phone is the singer's mouth showing at each video frame?

    VF (B, T_v, H_v) lip features (eq. 3)
      --Conv1d(H_v, H, k=3) -> ReLU-->             (B, T_v, H)   the mouth's motion over 3 frames
      --BiGRU(H)-->                                (B, T_v, 2H)  context over the whole line
      --Linear(2H, C)--> log_softmax over C        (B, T_v, C)   log p(phone class c | frame t)
    phone_logp: gather the classes of the utterance's phones -> log p(phone n's class | frame t)
                (B, N, T_v), the emission of a forced alignment of the known phone sequence
    loss (L_L): soft cross-entropy against the fraction of each frame that phone n covers

Weights: ``save_lip_reader`` / ``load_lip_reader`` (format FORMAT: state dict + class names + sizes),
written by ``espnet2_ext.bin.fit_lip_reader`` (lipread/head_fit.py) and loaded by PerformSinger's
``lip_reader_conf: {pretrained: <path>}``.

Two users: lip-reading pretraining (``espnet2_ext.lipread``, classes = the phones of the
training labels, the encoder trained through it), and PerformSinger's ``duration_source:
lipreader`` (classes = the SVS token list, on the frozen lip encoder). There the head turns the
lips into timing the classical way: a frame classifier plus a forced alignment of the phone
sequence the user gave (with the duration predictor as prior, duration_prior.py). A classifier
over phone *classes* learns from every frame of every utterance the same thing (what an "a"
looks like), which a per-utterance phone-to-frame attention has to rediscover for each line.
"""

from typing import List, Optional

import torch

from espnet2_ext.svs.lip_checkpoint import read_checkpoint, save_checkpoint
from espnet2_ext.svs.performsinger.alignment import video_overlap
from espnet2_ext.svs.performsinger.masks import lengths_to_mask


class LipReadingHead(torch.nn.Module):
    """Frame-wise phone-class log posteriors from lip features.

    Args:
        visual_dim: H_v, width of the lip features.
        n_classes: C, number of phone classes.
        hidden: H, width of the temporal convolution and of each GRU direction.
    """

    def __init__(self, visual_dim: int, n_classes: int, hidden: int = 64):
        super().__init__()
        if hidden < 1 or n_classes < 2:
            raise ValueError(f"LipReadingHead: hidden must be >= 1 and n_classes >= 2, got {hidden}, {n_classes}")
        self.conv = torch.nn.Conv1d(visual_dim, hidden, 3, padding=1)
        self.gru = torch.nn.GRU(hidden, hidden, batch_first=True, bidirectional=True)
        self.out = torch.nn.Linear(2 * hidden, n_classes)

    def logits(self, vf: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """vf (B, T_v, H_v), lengths (B,) -> unnormalised scores (B, T_v, C)."""
        t = vf.shape[1]
        valid = lengths_to_mask(lengths.to(vf.device), t)[..., None].to(vf.dtype)  # (B, T_v, 1)
        h = torch.relu(self.conv((vf * valid).transpose(1, 2))).transpose(1, 2)  # (B, T_v, H)
        packed = torch.nn.utils.rnn.pack_padded_sequence(h, lengths.clamp(min=1).cpu(), batch_first=True,
                                                         enforce_sorted=False)
        h, _ = self.gru(packed)
        h, _ = torch.nn.utils.rnn.pad_packed_sequence(h, batch_first=True, total_length=t)  # (B, T_v, 2H)
        return self.out(h)

    def forward(self, vf: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """-> log p(class | frame) (B, T_v, C)."""
        return torch.log_softmax(self.logits(vf, lengths), dim=-1)


FORMAT = "espnet2_ext.lip_reader/1"


def save_lip_reader(head: LipReadingHead, path: str, classes: List[str], overwrite: bool = False) -> None:
    """Write ``head`` with its class names (the SVS token list) to ``path`` atomically."""
    if len(classes) != head.out.out_features:
        raise ValueError(f"save_lip_reader: {len(classes)} class names for a head of {head.out.out_features} classes")
    obj = dict(format=FORMAT, classes=list(classes), visual_dim=head.conv.in_channels, hidden=head.conv.out_channels,
               state_dict=head.state_dict())
    save_checkpoint(obj, path, overwrite)


def load_lip_reader(head: LipReadingHead, path: str, classes: Optional[List[str]] = None) -> List[str]:
    """Load weights written by save_lip_reader into ``head``; sizes (and, when given, the class names)
    must match. Returns the checkpoint's class names."""
    obj = read_checkpoint(path, "lip-reading head", ValueError)
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise ValueError(f"{path}: not a lip-reading head checkpoint (format {FORMAT!r}); "
                         "write one with python -m espnet2_ext.bin.fit_lip_reader")
    want = dict(visual_dim=head.conv.in_channels, hidden=head.conv.out_channels, classes=head.out.out_features)
    got = dict(visual_dim=obj["visual_dim"], hidden=obj["hidden"], classes=len(obj["classes"]))
    if want != got:
        raise ValueError(f"{path}: head sizes {got} do not fit the configured head {want} "
                         "(lip_encoder_conf.output_dim, lip_reader_conf.hidden, token list)")
    if classes is not None and list(classes) != list(obj["classes"]):
        diff = [(i, a, b) for i, (a, b) in enumerate(zip(obj["classes"], classes)) if a != b][:5]
        raise ValueError(f"{path}: fitted on another token list (first differences (id, file, given): {diff}); "
                         "refit it with this token list")
    head.load_state_dict(obj["state_dict"])
    return list(obj["classes"])


def phone_logp(class_logp: torch.Tensor, phones: torch.Tensor, pmask: torch.Tensor, vmask: torch.Tensor) -> torch.Tensor:
    """class_logp (B, T_v, C), phones (B, N) class ids -> log p(class of phone n | frame t) (B, N, T_v),
    0 outside the valid phones and frames."""
    idx = phones.clamp(min=0, max=class_logp.shape[-1] - 1)  # (B, N)
    out = torch.gather(class_logp.transpose(1, 2), 1, idx[..., None].expand(-1, -1, class_logp.shape[1]))
    return out.masked_fill(~(pmask[..., None] & vmask[:, None, :]), 0.0)


def lip_reading_loss(logp: torch.Tensor, d: torch.Tensor, pmask: torch.Tensor, vmask: torch.Tensor,
                     frame_rate: float, video_fps: float) -> torch.Tensor:
    """L_L: -sum_t sum_n A*[n, t] log p(class of n | t) / sum A*, A*[n, t] = fraction of video frame t
    inside phone n's span (GT durations d (B, N) in mel frames); logp (B, N, T_v) from phone_logp."""
    target = video_overlap(d, pmask.to(torch.float32), logp.shape[-1], frame_rate, video_fps)  # (B, N, T_v)
    target = target * vmask[:, None, :].to(target.dtype) * pmask[..., None].to(target.dtype)
    return soft_nll(logp, target)


def soft_nll(logp: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """-sum target * logp / sum target (0 when the target is empty); logp and target of one shape."""
    total = target.sum()
    if float(total) <= 0:
        return logp.new_zeros(())
    return -(target * logp).sum() / total
