"""How well do a lip encoder and its lip-reading heads read a set's timing, without the SVS model?

    lip.scp crops (T_v, 96, 96) --centre crop 88--> frozen LipEncoder --> VF (T_v, D)
        (head_fit.CachedViews, one view: the features the head fit validates on)
    VF --LipReadingHeads--> log of the heads' mean posterior (T_v, C)
        --> frame accuracy (head_fit.evaluate: argmax = the class covering most of the frame)
        --phone_logp over the label's phone sequence--> (N, T_v)
        --svs/alignment.posterior_durations (monotonic Viterbi, sub-frame boundaries, >= 1 mel frame per phone)
        --> predicted durations (N,) in mel frames
    label (seconds) --metrics.duration.label_to_frames--> true durations (N,) in mel frames
    --metrics.duration.duration_scores--> duration MAE (mel frames; x video_fps / frame_rate in
       video frames), fraction of inner boundaries within 40 ms

The alignment is the one of PerformSinger's ``duration_source: lipreader`` with the duration prior
off (``duration_prior.weight: 0``): the lips alone place the boundaries, so the numbers measure the
lip reader and not the acoustic model's duration predictor. The one difference: every phone gets
at least one mel frame (the model asks that of the phones with a note, midi > 0, read from the score).
"""

from typing import Dict, List, Sequence

import numpy as np
import torch

from espnet2_ext.lipread.head_fit import CachedViews, evaluate, token_vocab
from espnet2_ext.lipread.data import read_label
from espnet2_ext.metrics.duration import duration_scores, label_to_frames
from espnet2_ext.svs.lip_reading_head import phone_logp
from espnet2_ext.svs.alignment import posterior_durations


def phone_ids(phones: Sequence[str], vocab: Dict[str, int], where: str) -> torch.Tensor:
    """Class ids (N,) of a label's phones; a phone outside the heads' classes is an error naming ``where``."""
    unknown = sorted({p for p in phones if p not in vocab})
    if unknown:
        raise ValueError(f"{where}: phones {unknown} are not classes of the lip-reading heads "
                         "(fitted on another token list?)")
    return torch.tensor([vocab[p] for p in phones], dtype=torch.long)


def lip_durations(class_logp: torch.Tensor, phones: torch.Tensor, frame_rate: float,
                  video_fps: float) -> np.ndarray:
    """class_logp (T_v, C) log posteriors, phones (N,) class ids -> durations (N,) in mel frames:
    forced alignment of the phone sequence through the posteriors, no duration prior."""
    n, t = int(phones.shape[0]), int(class_logp.shape[0])
    pmask = torch.ones(1, n, dtype=torch.bool)
    vmask = torch.ones(1, t, dtype=torch.bool)
    logp = phone_logp(class_logp[None], phones[None], pmask, vmask)  # (1, N, T_v)
    d = posterior_durations(logp, pmask, vmask, frame_rate, video_fps, min_frames=torch.ones(1, n, dtype=torch.long))
    return d[0].numpy()


def utterance_scores(class_logp: torch.Tensor, segments, vocab: Dict[str, int], fs: int, hop_length: int,
                     video_fps: float, where: str) -> Dict[str, float]:
    """One utterance: duration MAE and inner-boundary hit rate of the heads' forced alignment."""
    phones = phone_ids([ph for _, _, ph in segments], vocab, where)
    fields = [x for st, et, ph in segments for x in (st, et, ph)]
    true = label_to_frames(fields, fs, hop_length)
    pred = lip_durations(class_logp, phones, fs / hop_length, video_fps)
    return duration_scores(pred, true, fs, hop_length)


def evaluate_lip_reader(encoder: torch.nn.Module, heads: torch.nn.Module, classes: List[str], lip_scp: str,
                        label: str, fs: int = 22050, hop_length: int = 256, video_fps: float = 25.0,
                        batch_size: int = 16) -> dict:
    """Frame accuracy, duration MAE and boundary hits of ``heads`` (LipReadingHeads) on ``encoder``'s
    features of one set. -> {"summary": {...}, "utts": {utt: {...}}}; the summary's duration scores are
    means over utterances (as stage 8's aggregate), the frame accuracy is over all labelled frames."""
    vocab = token_vocab(classes)
    encoder.eval()
    heads.eval()
    views = CachedViews(encoder, lip_scp, label, vocab, 1, None, video_fps, np.random.default_rng(0), lip_scp)
    frame = evaluate(heads, views, batch_size)  # the head fit's valid_loss / valid_frame_acc
    labels = read_label(label)
    utts = {}
    with torch.no_grad():
        for utt, vf, _ in views.items:
            class_logp = heads(vf[None], torch.tensor([vf.shape[0]]))[0]  # (T_v, C)
            utts[utt] = utterance_scores(class_logp, labels[utt], vocab, fs, hop_length, video_fps, f"{label}: {utt}")
    mae = float(np.mean([s["dur_mae_frames"] for s in utts.values()]))
    hit = [s["boundary_hit_40ms"] for s in utts.values() if s["boundary_hit_40ms"] is not None]
    summary = dict(utterances=len(utts), frame_acc=frame["valid_frame_acc"], frame_loss=frame["valid_loss"],
                   dur_mae_mel_frames=mae, dur_mae_video_frames=mae * video_fps * hop_length / fs,
                   boundary_hit_40ms=float(np.mean(hit)) if hit else None, duration_prior="off (weight 0)")
    return dict(summary=summary, utts=utts)
