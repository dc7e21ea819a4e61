"""Lip-reading head: which phone is the singer's mouth showing at each video frame?

    VF (B, T_v, H_v) lip features (eq. 3)
      --Conv1d(H_v, H, k=3) -> ReLU-->             (B, T_v, H)   the mouth's motion over 3 frames
      --BiGRU(H)-->                                (B, T_v, 2H)  context over the whole line
      --Linear(2H, C)--> log_softmax over C        (B, T_v, C)   log p(phone class c | frame t)
    phone_logp: gather the classes of the utterance's phones -> log p(phone n's class | frame t)
                (B, N, T_v), the emission of a forced alignment of the known phone sequence
    loss (L_L): soft cross-entropy against the fraction of each frame that phone n covers

LipReadingHeads holds K such heads and reads with the mean of their posteriors (PerformSinger's
``lip_reader_conf: {heads: K}``).

Weights: ``save_lip_reader`` / ``load_lip_reader`` (format FORMAT: state dicts + class names + sizes),
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
from espnet2_ext.svs.alignment import video_overlap
from espnet2_ext.svs.masks import lengths_to_mask


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


class LipReadingHeads(torch.nn.Module):
    """K independently initialised (and, when fitted, independently seeded) heads read as one:

        per_head: (K, B, T_v, C) log p_k(class | frame)   each head's own L_L target in training
        forward:  log (1/K) sum_k p_k(class | frame)      (B, T_v, C), the emission of the alignment

    Why: one head fitted on ~100 lines overfits in its own way (its seed decides which frames it
    gets wrong), and the forced alignment inherits those errors as whole misplaced boundaries; the
    mean of K posteriors keeps what the heads agree on. K = 1 is the single head.

    Args:
        visual_dim, n_classes, hidden: as LipReadingHead.
        heads: K.
    """

    def __init__(self, visual_dim: int, n_classes: int, hidden: int = 64, heads: int = 1):
        super().__init__()
        if heads < 1:
            raise ValueError(f"LipReadingHeads: heads must be >= 1, got {heads}")
        self.heads = torch.nn.ModuleList(LipReadingHead(visual_dim, n_classes, hidden) for _ in range(heads))

    @property
    def trainable(self) -> bool:
        """Whether any head still learns (false once frozen: L_L then has no gradient to give)."""
        return any(p.requires_grad for p in self.parameters())

    def per_head(self, vf: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """vf (B, T_v, H_v) -> (K, B, T_v, C) log posteriors of each head."""
        return torch.stack([h(vf, lengths) for h in self.heads])

    def forward(self, vf: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """-> log of the heads' mean posterior (B, T_v, C)."""
        return mean_logp(self.per_head(vf, lengths))


def mean_logp(logp: torch.Tensor) -> torch.Tensor:
    """(K, ...) log probabilities -> log of their mean over K (...)."""
    return torch.logsumexp(logp, dim=0) - torch.log(torch.tensor(float(logp.shape[0]), device=logp.device))


FORMAT = "espnet2_ext.lip_reader/2"  # /1 held one head's state_dict; /2 a list, one per head
_FORMATS = ("espnet2_ext.lip_reader/1", FORMAT)


def _sizes(head: LipReadingHead) -> dict:
    return dict(visual_dim=head.conv.in_channels, hidden=head.conv.out_channels, classes=head.out.out_features)


def save_lip_reader(heads: LipReadingHeads, path: str, classes: List[str], overwrite: bool = False) -> None:
    """Write ``heads`` with their class names (the SVS token list) to ``path`` atomically."""
    size = _sizes(heads.heads[0])
    if len(classes) != size["classes"]:
        raise ValueError(f"save_lip_reader: {len(classes)} class names for a head of {size['classes']} classes")
    obj = dict(format=FORMAT, classes=list(classes), visual_dim=size["visual_dim"], hidden=size["hidden"],
               state_dicts=[h.state_dict() for h in heads.heads])
    save_checkpoint(obj, path, overwrite)


def read_lip_reader(path: str, classes: Optional[List[str]] = None) -> dict:
    """The checkpoint written by save_lip_reader: classes, visual_dim, hidden and state_dicts (one
    per head; a /1 file holds one). With ``classes``, the file's class names must equal them."""
    obj = read_checkpoint(path, "lip-reading head", ValueError)
    if not isinstance(obj, dict) or obj.get("format") not in _FORMATS:
        raise ValueError(f"{path}: not a lip-reading head checkpoint (format {FORMAT!r}); "
                         "write one with python -m espnet2_ext.bin.fit_lip_reader")
    if classes is not None and list(classes) != list(obj["classes"]):
        diff = [(i, a, b) for i, (a, b) in enumerate(zip(obj["classes"], classes)) if a != b][:5]
        raise ValueError(f"{path}: fitted on another token list (first differences (id, file, given): {diff}); "
                         "refit it with this token list")
    states = obj["state_dicts"] if "state_dicts" in obj else [obj["state_dict"]]
    return dict(classes=list(obj["classes"]), visual_dim=obj["visual_dim"], hidden=obj["hidden"], state_dicts=states)


def load_lip_reader(heads: LipReadingHeads, path: str, classes: Optional[List[str]] = None) -> List[str]:
    """Load weights written by save_lip_reader into ``heads``; sizes, the number of heads (and, when
    given, the class names) must match. Returns the checkpoint's class names."""
    obj = read_lip_reader(path, classes)
    want = dict(_sizes(heads.heads[0]), heads=len(heads.heads))
    got = dict(visual_dim=obj["visual_dim"], hidden=obj["hidden"], classes=len(obj["classes"]),
               heads=len(obj["state_dicts"]))
    if want != got:
        raise ValueError(f"{path}: head sizes {got} do not fit the configured head {want} "
                         "(lip_encoder_conf.output_dim, lip_reader_conf.hidden / heads, token list)")
    for head, state in zip(heads.heads, obj["state_dicts"]):
        head.load_state_dict(state)
    return obj["classes"]


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
