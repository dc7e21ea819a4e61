"""Control decoding sets that break the lip video, to show the timing comes from the lips.

    dump/raw/test --copy text/label/score/spembs/...--> dump/raw/test_lip<mode>/
        lip.scp -> new crops in <out>/data/lip/<utt>.npy:
          shuffle: the utterance's own frames in a random temporal order (same frames, no timing)
          swap:    the frames of another utterance of the set, cut or padded (last frame held)
                   to the original number of frames (a real but unrelated performance)

A model whose duration accuracy comes from the video must lose it on these sets; an audio-only
model is unaffected. ``video.scp`` is dropped: there is no video that matches these crops.
"""

import shutil
from pathlib import Path
from typing import Dict

import numpy as np

from espnet2_ext.utils.fileio import atomic_dir, read_scp

MODES = ("shuffle", "swap")
_COPIED = ("text", "label", "score.scp", "utt2spk", "spk2utt", "spembs.scp", "pitch.scp", "wav.scp",
           "ref_utt", "ref_wav.scp")  # the references: the utterances' own recordings (setting 1)


def control_frames(lips: Dict[str, np.ndarray], mode: str, seed: int = 0) -> Dict[str, np.ndarray]:
    """utt -> (T_v, H, W) crops -> utt -> control crops of the same shape."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    rng = np.random.default_rng(seed)
    utts = sorted(lips)
    out = {}
    for i, utt in enumerate(utts):
        x = lips[utt]
        if mode == "shuffle":
            out[utt] = x[rng.permutation(len(x))]
            continue
        if len(utts) < 2:
            raise ValueError("mode 'swap' needs at least two utterances")
        other = lips[utts[(i + 1 + int(rng.integers(len(utts) - 1))) % len(utts)]]
        if len(other) >= len(x):
            out[utt] = other[: len(x)]
        else:
            pad = np.repeat(other[-1:], len(x) - len(other), axis=0)
            out[utt] = np.concatenate([other, pad], axis=0)
    return out


def make_lip_control_set(dump_dir: Path, out_dir: Path, mode: str, seed: int = 0) -> None:
    """Write the control set of ``dump_dir`` into ``out_dir`` (atomically: via ``<out_dir>.tmp``)."""
    dump_dir, out_dir = Path(dump_dir), Path(out_dir)
    lip_scp = dump_dir / "lip.scp"
    if not lip_scp.is_file():
        raise FileNotFoundError(f"{lip_scp}: missing (run stage 3 first)")
    lips = {}
    for utt, path in read_scp(lip_scp):
        try:
            lips[utt] = np.load(path)
        except (OSError, ValueError) as e:
            raise ValueError(f"{lip_scp}: cannot read crops of {utt} from {path}: {e}") from e
    control = control_frames(lips, mode, seed)
    with atomic_dir(out_dir) as tmp:
        (tmp / "data" / "lip").mkdir(parents=True)
        for name in _COPIED:
            if (dump_dir / name).is_file():
                shutil.copy(dump_dir / name, tmp / name)
        lines = []
        for utt in sorted(control):
            path = (out_dir / "data" / "lip" / f"{utt}.npy").resolve()
            np.save(tmp / "data" / "lip" / f"{utt}.npy", control[utt])
            lines.append(f"{utt} {path}\n")
        (tmp / "lip.scp").write_text("".join(lines))
