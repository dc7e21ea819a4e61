"""The reference recording of every decode set (the paper's settings 1-4, sec. 5.1).

    setting 1: dump/raw/<set>/ gets ref_utt (<utt> <utt>) and ref_wav.scp (= its wav.scp), in place:
      each utterance's own recording is its reference
    settings 2-4: dump/raw/test --copy--> dump/raw/test_ref<k>/ with spembs.scp replaced by the
      reference's d-vector:
      setting 2: another utterance of the same singer
      setting 3: an utterance of a different (seen) singer of the same set
      setting 4: an utterance of an unseen singer (from --pool_dir, e.g. dump/raw/test_ood)
    + ref_utt: <utt> <reference utt>, ref_wav.scp: <utt> <reference wav>

Decoding (bin/visual_svs_inference.py) reads ref_wav.scp: the reference's mel and F0 go to the
style extractor, spembs.scp (the reference's d-vector) to the speaker input.
"""

import shutil
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from espnet2_ext.utils.fileio import atomic_dir, atomic_write_text, read_scp


def choose_references(utt2spk: Dict[str, str], pool_utt2spk: Dict[str, str], setting: int,
                      seed: int = 0) -> Dict[str, str]:
    """utt -> reference utt for one setting (seeded, deterministic)."""
    rng = np.random.default_rng(seed)
    out = {}
    for utt in sorted(utt2spk):
        spk = utt2spk[utt]
        if setting == 2:
            cands = [u for u, s in pool_utt2spk.items() if s == spk and u != utt]
        elif setting == 3:
            cands = [u for u, s in pool_utt2spk.items() if s != spk]
        elif setting == 4:
            cands = [u for u, s in pool_utt2spk.items() if s not in set(utt2spk.values())]
        else:
            raise ValueError(f"--setting must be 2, 3 or 4, got {setting}")
        if not cands:
            raise ValueError(f"setting {setting}: no reference utterance available for {utt} (singer {spk})")
        out[utt] = sorted(cands)[int(rng.integers(len(cands)))]
    return out


def write_own_references(dump_dir: Path) -> Dict[str, str]:
    """Setting 1 in place: ref_utt (<utt> <utt>) and ref_wav.scp (its wav.scp) in ``dump_dir``."""
    dump_dir = Path(dump_dir)
    if not (dump_dir / "wav.scp").is_file():
        raise ValueError(f"{dump_dir / 'wav.scp'}: missing (run stage 2 first)")
    wavs = dict(read_scp(dump_dir / "wav.scp"))
    atomic_write_text(dump_dir / "ref_utt", "".join(f"{u} {u}\n" for u in sorted(wavs)))
    atomic_write_text(dump_dir / "ref_wav.scp", "".join(f"{u} {wavs[u]}\n" for u in sorted(wavs)))
    return {u: u for u in wavs}


def make_reference_set(dump_dir: Path, out_dir: Path, setting: int, seed: int = 0,
                       pool_dir: Optional[Path] = None, overwrite: bool = False) -> Dict[str, str]:
    """Copy ``dump_dir`` to ``out_dir`` with spembs.scp (and ref_utt) from reference utterances."""
    dump_dir, out_dir = Path(dump_dir), Path(out_dir)
    # settings 2 and 3 draw references from the set itself; only setting 4 uses the pool
    pool_dir = Path(pool_dir) if (pool_dir is not None and setting == 4) else dump_dir
    if setting == 4 and pool_dir == dump_dir:
        raise ValueError("setting 4 needs --pool_dir with unseen singers (e.g. dump/raw/test_ood)")
    for d in {dump_dir, pool_dir}:
        for name in ("utt2spk", "spembs.scp", "wav.scp"):
            if not (d / name).is_file():
                raise ValueError(f"{d / name}: missing (run stage 2 first)")
    if out_dir.exists() and not overwrite:
        raise FileExistsError(f"{out_dir} exists (pass --overwrite true)")
    utt2spk = dict(read_scp(dump_dir / "utt2spk"))
    pool_u2s = dict(read_scp(pool_dir / "utt2spk"))
    pool_emb = dict(read_scp(pool_dir / "spembs.scp"))
    pool_wav = dict(read_scp(pool_dir / "wav.scp"))
    refs = choose_references(utt2spk, pool_u2s, setting, seed)
    for table, name in ((pool_emb, "spembs.scp"), (pool_wav, "wav.scp")):
        missing: List[str] = [r for r in refs.values() if r not in table]
        if missing:
            raise ValueError(f"{pool_dir / name}: no entry for reference {missing[0]}")
    with atomic_dir(out_dir) as tmp:
        shutil.copytree(dump_dir, tmp, symlinks=True, dirs_exist_ok=True)
        (tmp / "spembs.scp").write_text("".join(f"{u} {pool_emb[refs[u]]}\n" for u in sorted(refs)))
        (tmp / "ref_utt").write_text("".join(f"{u} {refs[u]}\n" for u in sorted(refs)))
        (tmp / "ref_wav.scp").write_text("".join(f"{u} {pool_wav[refs[u]]}\n" for u in sorted(refs)))
    return refs
