"""Stage 2 tools: wav formatting, F0 length, d-vectors separate singers, reference sets."""

import logging

import kaldiio
import numpy as np
import pytest
import soundfile as sf
import torch

from espnet2_ext.bin import extract_f0, format_wav, make_reference_sets
from espnet2_ext.data.demo_corpus import SINGERS, plan_utterance
from espnet2_ext.data.synth_audio import synthesize
from espnet2_ext.features.dvector import dvector
from espnet2_ext.features.f0 import extract_f0 as f0_of

torch.set_num_threads(1)
FS = 22050


def _sing(si, ui, seed=0):
    voice = SINGERS[si][0]
    rng = np.random.default_rng(np.random.SeedSequence([seed, si, ui]))
    u = plan_utterance(f"{voice.name}_{ui:04d}", voice, rng)
    segs = [(p, st, et, m) for st, et, p, m, _ in u.phones]
    return synthesize(segs, [s for *_, s in u.phones], voice, FS, int(round(u.duration * FS)), rng), u


@pytest.mark.parametrize("n", [1000, 22050, 22050 * 3 + 17, 512])
def test_f0_length(n):
    wav = 0.3 * np.sin(2 * np.pi * 220 * np.arange(n) / FS)
    f0 = f0_of(wav, FS, 256)
    assert f0.shape == (1 + n // 256, 1) and f0.dtype == np.float32


def test_f0_follows_notes():
    wav, u = _sing(0, 0)
    f0 = f0_of(wav, FS, 256)[:, 0]
    errs = []
    for st, et, p, m, _ in u.phones:
        if m > 0 and et - st > 0.3 and p not in ("n", "m", "l", "r"):
            a, b = int((st + 0.1) * FS / 256), int((et - 0.05) * FS / 256)
            v = f0[a:b][f0[a:b] > 0]
            assert len(v) > 0.7 * (b - a), p
            errs.append(abs(12 * np.log2(np.median(v) / (440 * 2 ** ((m - 69) / 12)))))
    assert errs and np.median(errs) < 0.5


def test_format_wav_and_extract_f0_cli(tmp_path, caplog):
    sf.write(tmp_path / "a.wav", np.stack([np.zeros(16000), 0.1 * np.ones(16000)], 1), 16000)
    (tmp_path / "in.scp").write_text(f"u1 {tmp_path / 'a.wav'}\n")
    with caplog.at_level(logging.INFO):
        format_wav.main(["--in_scp", str(tmp_path / "in.scp"), "--out_dir", str(tmp_path / "w"),
                         "--out_scp", str(tmp_path / "wav.scp"), "--fs", str(FS)])
    assert any("resampling" in r.message for r in caplog.records)
    out, fs = sf.read(tmp_path / "w" / "u1.wav")
    assert fs == FS and out.ndim == 1 and abs(len(out) - FS) <= 1 and sf.info(tmp_path / "w" / "u1.wav").subtype == "PCM_16"
    extract_f0.main(["--wav_scp", str(tmp_path / "wav.scp"), "--fs", str(FS), "--hop_length", "256",
                     "--out_ark", str(tmp_path / "p.ark"), "--out_scp", str(tmp_path / "p.scp")])
    f0 = dict(kaldiio.load_scp(str(tmp_path / "p.scp")))["u1"]
    assert f0.shape == (1 + len(out) // 256, 1)
    (tmp_path / "bad.scp").write_text(f"u2 {tmp_path / 'missing.wav'}\n")
    with pytest.raises(SystemExit):
        format_wav.main(["--in_scp", str(tmp_path / "bad.scp"), "--out_dir", str(tmp_path / "w"),
                         "--out_scp", str(tmp_path / "x.scp"), "--fs", str(FS)])


def test_dvectors_separate_singers():
    embs = {si: [dvector(_sing(si, ui)[0], FS) for ui in range(3)] for si in (0, 1, 2, 3)}
    intra, inter = [], []
    keys = [(si, k) for si in embs for k in range(3)]
    for i, (s1, k1) in enumerate(keys):
        for s2, k2 in keys[i + 1:]:
            c = float(np.dot(embs[s1][k1], embs[s2][k2]))
            (intra if s1 == s2 else inter).append(c)
    assert np.mean(intra) > np.mean(inter) + 0.02
    assert dvector(np.zeros(FS // 10, np.float32), FS).shape == (256,)  # silent, short audio


def test_reference_sets(tmp_path):
    def dump(d, spks):
        d.mkdir()
        utts = [f"{s}_{i:04d}" for s in spks for i in range(2)]
        (d / "utt2spk").write_text("".join(f"{u} {u.split('_')[0]}\n" for u in utts))
        with kaldiio.WriteHelper(f"ark,scp:{d}/e.ark,{d}/spembs.scp") as w:
            for u in utts:
                w(u, np.full(256, hash(u) % 97, np.float32))
        (d / "text").write_text("".join(f"{u} a\n" for u in utts))
        (d / "wav.scp").write_text("".join(f"{u} {d.name}/wav/{u}.wav\n" for u in utts))
    dump(tmp_path / "test", ["singerA", "singerB"])
    dump(tmp_path / "ood", ["singerE"])
    for setting in (2, 3, 4):
        out = tmp_path / f"ref{setting}"
        make_reference_sets.main(["--dump_dir", str(tmp_path / "test"), "--out_dir", str(out), "--setting",
                                  str(setting), "--pool_dir", str(tmp_path / "ood")])
        refs = dict(ln.split() for ln in (out / "ref_utt").read_text().splitlines())
        assert sorted(refs) == sorted(ln.split()[0] for ln in (tmp_path / "test" / "utt2spk").read_text().splitlines())
        for u, r in refs.items():
            if setting == 2:
                assert r != u and r.split("_")[0] == u.split("_")[0]
            elif setting == 3:
                assert r.split("_")[0] != u.split("_")[0] and r.split("_")[0] != "singerE"
            else:
                assert r.startswith("singerE")
        emb = dict(kaldiio.load_scp(str(out / "spembs.scp")))
        assert all(np.array_equal(emb[u], np.full(256, hash(r) % 97, np.float32)) for u, r in refs.items())
        assert (out / "text").is_file()
        wavs = dict(ln.split() for ln in (out / "ref_wav.scp").read_text().splitlines())
        assert all(wavs[u].endswith(f"/wav/{r}.wav") for u, r in refs.items())
    # setting 1: in place, each utterance its own reference
    make_reference_sets.main(["--dump_dir", str(tmp_path / "test"), "--setting", "1"])
    own = dict(ln.split() for ln in (tmp_path / "test" / "ref_utt").read_text().splitlines())
    assert own and all(u == r for u, r in own.items())
    assert (tmp_path / "test" / "ref_wav.scp").read_text() == (tmp_path / "test" / "wav.scp").read_text()
    with pytest.raises(SystemExit):  # setting 1 writes in place: an --out_dir is a mistake
        make_reference_sets.main(["--dump_dir", str(tmp_path / "test"), "--setting", "1",
                                  "--out_dir", str(tmp_path / "x")])


@pytest.mark.parametrize("kind", ["nan", "silent"])
def test_corrupt_or_silent_recording_is_an_error_naming_the_file(tmp_path, caplog, kind):
    wav = 0.2 * np.sin(np.arange(16000) / 10.0)
    if kind == "nan":
        wav[100:120] = np.nan
    else:
        wav[:] = 0.0
    sf.write(tmp_path / "bad.wav", wav, 16000, subtype="FLOAT")
    (tmp_path / "in.scp").write_text(f"u1 {tmp_path / 'bad.wav'}\n")
    with caplog.at_level(logging.ERROR), pytest.raises(SystemExit):
        format_wav.main(["--in_scp", str(tmp_path / "in.scp"), "--out_dir", str(tmp_path / "w"),
                         "--out_scp", str(tmp_path / "wav.scp"), "--fs", str(FS)])
    msg = " ".join(r.getMessage() for r in caplog.records)
    assert str(tmp_path / "bad.wav") in msg and ("NaN" in msg if kind == "nan" else "silent" in msg)
    assert not (tmp_path / "w" / "u1.wav").exists() and not (tmp_path / "wav.scp").exists()
