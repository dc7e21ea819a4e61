"""Writes a tiny dump directory in the format of docs/data_contract.md, for task-level tests."""

import json
from pathlib import Path
from typing import Dict, List

import kaldiio
import numpy as np
import soundfile as sf

FS = 22050
HOP = 256
PHONES = ["SP", "n", "i", "h", "ao", "AP", "a"]

# (phones of one note, midi) per note
_NOTES = [(["SP"], 0), (["n", "i"], 60), (["h", "ao"], 62), (["AP"], 0), (["a"], 64), (["SP"], 0)]


def fbank_conf() -> Dict:
    return dict(fs=FS, n_fft=1024, hop_length=HOP, win_length=1024, n_mels=80, fmin=0, fmax=8000)


def write_tiny_dump(root: Path, n_utts: int = 4, seed: int = 0) -> Path:
    """Write ``n_utts`` utterances (about 1 s each) with wav, label, score, spembs, pitch, lip and
    their references (ref_wav.scp, ref_utt: setting 1)."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    (root / "wav").mkdir(parents=True, exist_ok=True)
    (root / "score").mkdir(exist_ok=True)
    (root / "lip").mkdir(exist_ok=True)
    utts = sorted(f"spk{i % 2}_utt{i:02d}" for i in range(n_utts))
    lines: Dict[str, List[str]] = {k: [] for k in ("wav.scp", "text", "label", "score.scp", "utt2spk", "lip.scp")}
    spembs, pitch = {}, {}
    for utt in utts:
        durs = rng.uniform(0.06, 0.2, size=sum(len(p) for p, _ in _NOTES))
        t, label, notes, text, k = 0.0, [], [], [], 0
        for phs, midi in _NOTES:
            st = t
            for ph in phs:
                label += [f"{t:.4f}", f"{t + durs[k]:.4f}", ph]
                text.append(ph)
                t += durs[k]
                k += 1
            notes.append([round(st, 4), round(t, 4), "x" if midi else phs[0], midi, "_".join(phs)])
        n = int(t * FS)
        wav = 0.1 * np.sin(2 * np.pi * 220 * np.arange(n) / FS) + 0.01 * rng.standard_normal(n)
        sf.write(root / "wav" / f"{utt}.wav", wav.astype(np.float32), FS, subtype="PCM_16")
        with open(root / "score" / f"{utt}.json", "w") as f:
            json.dump({"tempo": 120, "item_list": ["st", "et", "lyric", "midi", "phns"], "note": notes}, f)
        t_v = int(round(t * 25))
        np.save(root / "lip" / f"{utt}.npy", rng.integers(0, 255, size=(t_v, 96, 96), dtype=np.uint8))
        spembs[utt] = rng.standard_normal(256).astype(np.float32)
        pitch[utt] = np.full((1 + n // HOP, 1), 220.0, dtype=np.float32)
        lines["wav.scp"].append(f"{utt} {root / 'wav' / utt}.wav")
        lines["text"].append(f"{utt} {' '.join(text)}")
        lines["label"].append(f"{utt} {' '.join(label)}")
        lines["score.scp"].append(f"{utt} {root / 'score' / utt}.json")
        lines["utt2spk"].append(f"{utt} {utt.split('_')[0]}")
        lines["lip.scp"].append(f"{utt} {root / 'lip' / utt}.npy")
    # setting 1: each utterance's own recording is its reference (data/reference_sets.py)
    lines["ref_wav.scp"] = list(lines["wav.scp"])
    lines["ref_utt"] = [f"{u} {u}" for u in utts]
    for name, rows in lines.items():
        (root / name).write_text("\n".join(sorted(rows)) + "\n")
    with kaldiio.WriteHelper(f"ark,scp:{root}/spembs.ark,{root}/spembs.scp") as w:
        for utt in utts:
            w(utt, spembs[utt])
    with kaldiio.WriteHelper(f"ark,scp:{root}/pitch.ark,{root}/pitch.scp") as w:
        for utt in utts:
            w(utt, pitch[utt])
    (root / "tokens.txt").write_text("\n".join(["<blank>", "<unk>"] + PHONES + ["<sos/eos>"]) + "\n")
    return root


def data_args(root: Path, prefix: str) -> List[str]:
    """``--{prefix}_data_path_and_name_and_type`` arguments for every training stream of the dump
    (espnet2_ext/tasks/dump_streams.py)."""
    from espnet2_ext.tasks.dump_streams import triples

    out = []
    for path, name, typ in triples(root, "train"):
        out += [f"--{prefix}_data_path_and_name_and_type", f"{path},{name},{typ}"]
    return out
