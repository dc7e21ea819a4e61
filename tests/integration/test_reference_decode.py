"""The reference recording reaches the style extractor at decoding; timing can be imposed.

A stage-one model (no video) trained for one epoch on the tiny dump is decoded through the
recipe's entry point with different ``ref_wav.scp`` tables and the same ``spembs.scp``.
"""

import shutil
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import soundfile as sf
import torch

import espnet2_ext  # noqa: F401
from espnet2_ext.tasks.visual_svs import VisualSVSTask
from tests.support.configs import shrunk_config, train
from tests.support.tiny_dump import write_tiny_dump
from tests.support.paths import CONF

pytestmark = pytest.mark.slow

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def stage_one(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("refdecode")
    dump = write_tiny_dump(tmp / "dump")
    exp = tmp / "exp"
    train(shrunk_config("train_stylesinger.yaml", tmp), dump, exp)
    return dict(tmp=tmp, dump=dump, exp=exp)


def _decode(setup, data_dir: Path, out: Path, extra=()):
    from espnet2_ext.bin.visual_svs_inference import main as infer_main

    exp = setup["exp"]
    infer_main(["--config", str(CONF / "decode_fast.yaml"), "--model_file", str(exp / "1epoch.pth"),
                "--train_config", str(exp / "config.yaml"), "--vocoder", "griffin_lim", "--progress", "false",
                "--data_dir", str(data_dir), "--output_dir", str(out), *extra])
    return {k: np.asarray(v) for k, v in kaldiio.load_scp(str(out / "feats.scp")).items()}


def _other_references(setup, name: str) -> Path:
    """A copy of the dump whose utterances take another utterance's recording (spembs.scp unchanged)."""
    src = setup["dump"]
    dst = setup["tmp"] / name
    if not dst.exists():
        shutil.copytree(src, dst)
        rows = [ln.split() for ln in (src / "wav.scp").read_text().splitlines()]
        utts, wavs = [u for u, _ in rows], [w for _, w in rows]
        shifted = wavs[1:] + wavs[:1]
        (dst / "ref_wav.scp").write_text("".join(f"{u} {w}\n" for u, w in zip(utts, shifted)))
        (dst / "ref_utt").write_text("".join(f"{u} {Path(w).stem}\n" for u, w in zip(utts, shifted)))
    return dst


def test_another_reference_with_the_same_dvector_changes_the_mel(stage_one):
    own = _decode(stage_one, stage_one["dump"], stage_one["tmp"] / "own")
    other = _decode(stage_one, _other_references(stage_one, "other"), stage_one["tmp"] / "other")
    tmp = stage_one["tmp"]
    assert (tmp / "dump" / "spembs.scp").read_text() == (tmp / "other" / "spembs.scp").read_text()  # same d-vectors
    assert sorted(own) == sorted(other)
    for utt in own:
        assert own[utt].shape == other[utt].shape  # same timing (the reference is not read for it)
        assert not np.allclose(own[utt], other[utt], atol=1e-4), utt


def test_the_same_reference_twice_gives_identical_output(stage_one):
    a = _decode(stage_one, stage_one["dump"], stage_one["tmp"] / "twice_a")
    b = _decode(stage_one, stage_one["dump"], stage_one["tmp"] / "twice_b")
    for utt in a:
        np.testing.assert_array_equal(a[utt], b[utt])
    timing = (stage_one["tmp"] / "twice_a" / "timing").read_text().split()
    assert timing[1] == "predictor"


def test_a_decode_set_without_references_is_an_error_naming_it(stage_one, tmp_path):
    from espnet2_ext.bin.visual_svs_inference import main as infer_main

    bare = tmp_path / "bare"
    shutil.copytree(stage_one["dump"], bare)
    (bare / "ref_wav.scp").unlink()
    with pytest.raises(FileNotFoundError, match=rf"--data_dir {bare}: no reference recordings"):
        _decode(stage_one, bare, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    exp = stage_one["exp"]
    with pytest.raises(ValueError, match="no reference recordings: pass --ref_wav_scp"):
        infer_main(["--model_file", str(exp / "1epoch.pth"), "--train_config", str(exp / "config.yaml"),
                    "--output_dir", str(tmp_path / "out2"),
                    "--data_path_and_name_and_type", f"{bare}/text,text,text"])
    # a reference table that misses an utterance names the table and the utterance
    (bare / "ref_wav.scp").write_text((stage_one["dump"] / "ref_wav.scp").read_text().splitlines()[0] + "\n")
    with pytest.raises(ValueError, match=r"ref_wav.scp: no reference recording for spk"):
        _decode(stage_one, bare, tmp_path / "out3")


def test_fixed_durations_are_imposed(stage_one, tmp_path):
    dump = stage_one["dump"]
    texts = {ln.split()[0]: ln.split()[1:] for ln in (dump / "text").read_text().splitlines()}
    fixed = tmp_path / "durations"
    fixed.write_text("".join(f"{u} {' '.join(str(3 + i % 4) for i in range(len(p)))}\n" for u, p in texts.items()))
    feats = _decode(stage_one, dump, tmp_path / "fixed", ["--fixed_durations", str(fixed)])
    assert (tmp_path / "fixed" / "durations").read_text() == fixed.read_text()
    for u, p in texts.items():
        assert feats[u].shape[0] == sum(3 + i % 4 for i in range(len(p)))
    assert (tmp_path / "fixed" / "timing").read_text().split()[1] == f"fixed:{fixed}"
    bad = tmp_path / "bad_durations"
    bad.write_text("".join(f"{u} 3 3\n" for u in texts))
    with pytest.raises(ValueError, match="2 phone durations for"):
        _decode(stage_one, dump, tmp_path / "bad", ["--fixed_durations", str(bad)])


def test_reference_mel_downmixes_and_resamples(stage_one, tmp_path):
    """A stereo 44.1 kHz copy of a reference gives (nearly) the mel of the mono 22.05 kHz original."""
    from espnet2_ext.features.format_wav import resample
    from espnet2_ext.features.reference import load_reference

    exp = stage_one["exp"]
    model, _ = VisualSVSTask.build_model_from_file(exp / "config.yaml", exp / "1epoch.pth")
    wav_path = (stage_one["dump"] / "wav.scp").read_text().split()[1]
    wav, fs = sf.read(wav_path, dtype="float32")
    up = resample(wav, fs, 2 * fs)
    sf.write(tmp_path / "stereo.wav", np.stack([up, up], axis=1), 2 * fs, subtype="FLOAT")
    a, b = load_reference(model, wav_path), load_reference(model, tmp_path / "stereo.wav")
    assert a.mel.shape == b.mel.shape and a.mel.shape[1] == 80 and a.f0.shape == (a.mel.shape[0],)
    assert float((a.mel - b.mel).abs().mean()) < 0.05 * float(a.mel.abs().mean())
    assert float((a.f0 > 0).float().mean()) > 0.5  # a 220 Hz tone: voiced


def test_stage_7_decodes_and_dubs_with_awkward_paths(stage_one, tmp_path):
    """Videos and references whose paths hold a space, Chinese characters and a leading '-'."""
    from espnet2_ext.utils.ffmpeg import ffmpeg_file, run_ffmpeg
    from espnet2_ext.utils.media import probe_video

    weird = tmp_path / "-歌 手 set"
    shutil.copytree(stage_one["dump"], weird)
    refs = weird / "-参考 声音"
    refs.mkdir()
    video = weird / "-演唱 视频.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "color=c=gray:s=96x96:r=25:d=3", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                ffmpeg_file(video)], "a test video")
    rows = [ln.split(maxsplit=1) for ln in (weird / "wav.scp").read_text().splitlines()]
    for utt, wav in rows:
        shutil.copy(wav, refs / f"-{utt} 录音.wav")
    (weird / "ref_wav.scp").write_text("".join(f"{u} {refs / f'-{u} 录音.wav'}\n" for u, _ in rows))
    (weird / "video.scp").write_text("".join(f"{u} {video}\n" for u, _ in rows))
    out = tmp_path / "-输出 dir"
    feats = _decode(stage_one, weird, out, ["--video_dir", str(out / "视频"), "--wav_dir", str(out / "wav")])
    reference = _decode(stage_one, stage_one["dump"], tmp_path / "plain")
    for utt, _ in rows:
        np.testing.assert_array_equal(feats[utt], reference[utt])  # the same recordings, read from odd names
        info = probe_video(out / "视频" / f"{utt}.mp4")
        assert info.has_audio and info.width == 96
