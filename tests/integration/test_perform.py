"""perform / Performer on a demo-corpus video with a tiny system trained here (tests/support/perform_fixture.py)."""

import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.support.perform_fixture import demo_utterance, lyrics_and_notes, stage_1_to_3, train_tiny_system
from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.slow

torch.set_num_threads(1)


RECIPE = REPO_ROOT / "egs2" / "visualsinger" / "svs1"


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    from espnet2_ext.api import Performer
    from espnet2_ext.bin import pack_model

    root = tmp_path_factory.mktemp("perform")
    exp = train_tiny_system(root)
    corpus, utt = demo_utterance(root / "corpus")
    base = corpus / "singerA" / utt.utt
    lyrics, notes = lyrics_and_notes(utt)
    # two lines of singerE, whom the demo's training set never shows, through the recipe's stages 1-3
    held = [demo_utterance(root / "corpus", i, singer=4)[1] for i in range(2)]
    data = stage_1_to_3(corpus, "singerE", [u.utt for u in held], root / "data" / "test")
    # the tiny dump had no stage 3 of its own: this run's record stands for its training set's
    shutil.copy(data / "lip_report.json", root / "dump" / "lip_report.json")
    pack = root / "packed" / "performsinger.zip"
    pack_model.main(["--exp_dir", str(exp), "--out", str(pack), "--vocoder", "griffin_lim",
                     "--lip_report", str(data / "lip_report.json"),
                     "--decode_config", str(RECIPE / "conf" / "decode_fast.yaml")])
    performer = Performer.from_pretrained(exp, vocoder="griffin_lim")
    return dict(root=root, exp=exp, corpus=corpus, utt=utt, video=base.with_suffix(".mp4"),
                wav=base.with_suffix(".wav"), lyrics=lyrics, notes=notes, performer=performer, held=held,
                data=data, pack=pack)


def _stage7_durations(s) -> dict:
    """Stage 7's decoder, as the recipe calls it (conf/decode_fast.yaml), on the held-out lines:
    {utt: durations}."""
    from espnet2_ext.bin import visual_svs_inference

    out = s["root"] / "decode"
    if not (out / "durations").is_file():
        exp = s["exp"]
        visual_svs_inference.main(["--config", str(RECIPE / "conf" / "decode_fast.yaml"),
                                   "--model_file", str(exp / "valid.loss_synth.ave.pth"), "--train_config",
                                   str(exp / "config.yaml"), "--data_dir", str(s["data"]), "--output_dir", str(out),
                                   "--vocoder", "griffin_lim", "--progress", "false", "--mux_video", "false"])
    lines = (out / "durations").read_text().split("\n")
    return {ln.split()[0]: [int(x) for x in ln.split()[1:]] for ln in lines if ln.strip()}


def test_perform_from_the_pack_cuts_stage_3s_crops_and_gives_stage_7s_durations(system):
    """Lines of a singer the training never saw; stage 3 with the recipe's default front end (the
    face mesh: CI installs it, so nothing here skips): the pack's performer cuts byte-identical crops
    and decodes stage 7's durations on every line."""
    from espnet2_ext.api import Performer
    from espnet2_ext.lip.landmarks import mediapipe_available

    assert mediapipe_available(), "the face mesh must run here (pip install --no-deps -r requirements-nodeps.txt)"
    performer = Performer.from_pretrained(system["pack"])
    assert performer.roi_conf["front_end"] == "mediapipe" and performer.vocoder_name == "griffin_lim"
    stage7 = _stage7_durations(system)
    assert len(stage7) == len(system["held"])
    for u in system["held"]:
        base = system["corpus"] / "singerE" / u.utt
        lyrics, notes = lyrics_and_notes(u)
        perf = performer(base.with_suffix(".mp4"), lyrics, notes, base.with_suffix(".wav"))
        stage3 = np.load(system["data"] / "data" / "lip" / f"{u.utt}.npy")
        assert perf.crops.dtype == stage3.dtype and perf.crops.shape == stage3.shape
        assert np.array_equal(perf.crops, stage3), f"{u.utt}: {np.abs(perf.crops.astype(int) - stage3).mean():.2f} grey levels"
        assert perf.durations.tolist() == stage7[u.utt]
        assert perf.lip_confidence is not None and 0.0 <= perf.lip_confidence <= 1.0
        assert perf.frame_confidence.shape == (len(stage3),)


def test_the_haar_front_end_cuts_other_crops_so_the_record_matters(system):
    """The control of the test above: the Haar cascades on the same video cut other crops."""
    from espnet2_ext.lip.front_end import build_extractor

    u = system["held"][0]
    video = system["corpus"] / "singerE" / f"{u.utt}.mp4"
    haar = build_extractor({"front_end": "haar", "crop_scale": 0.65})(str(video)).crops
    stage3 = np.load(system["data"] / "data" / "lip" / f"{u.utt}.npy")
    assert haar.shape == stage3.shape and np.abs(haar.astype(int) - stage3).mean() > 5


def test_a_pack_that_needs_the_face_mesh_is_an_error_without_it(system, monkeypatch):
    """No switch to another front end: an error that says what to install."""
    import espnet2_ext.lip.landmarks as lmk
    from espnet2_ext.api import Performer
    from espnet2_ext.api.video import VideoError

    monkeypatch.setattr(lmk, "mediapipe_available", lambda: False)
    with pytest.raises(VideoError, match="mediapipe.*pip install"):
        Performer.from_pretrained(system["pack"])


def test_a_line_read_below_the_threshold_warns_naming_it_and_its_frames(system, caplog):
    import logging

    p = system["performer"]
    kept = p.min_confidence
    try:
        p.min_confidence = 1.01  # no reading reaches it
        with caplog.at_level(logging.WARNING):
            perf = p(system["video"], system["lyrics"], system["notes"], system["wav"], where="line 2")
        assert perf.confident is False
        warned = [r.getMessage() for r in caplog.records if "the lips were read with confidence" in r.getMessage()]
        assert len(warned) == 1 and "(line 2)" in warned[0] and "Frames not read" in warned[0]
        caplog.clear()
        p.min_confidence = 0.0
        with caplog.at_level(logging.WARNING):
            assert p(system["video"], system["lyrics"], system["notes"], system["wav"], timing_only=True).confident
        assert not any("the lips were read" in r.getMessage() for r in caplog.records)
    finally:
        p.min_confidence = kept


def test_a_30_fps_reencode_gives_durations_within_one_video_frame(system, tmp_path):
    from espnet2_ext.utils.media import probe_video, run_ffmpeg

    v30 = tmp_path / "v30.mp4"
    run_ffmpeg(["-i", str(system["video"]), "-vf", "fps=30", "-c:v", "libx264", "-qp", "0", "-y", str(v30)], "re-encode")
    assert abs(probe_video(v30).fps - 30) < 0.01
    p = system["performer"]
    a = p(system["video"], system["lyrics"], system["notes"], system["wav"])
    b = p(v30, system["lyrics"], system["notes"], system["wav"])
    assert len(a.crops) == len(b.crops)
    assert np.max(np.abs(a.boundaries - b.boundaries)) <= 1 / 25 + 1e-6


def _stream_seconds(path: Path) -> tuple:
    """(video, audio) seconds of an mp4: decoded frames / fps, decoded samples / rate."""
    from espnet2_ext.utils.media import ffmpeg_exe, probe_video

    exe = ffmpeg_exe()
    proc = subprocess.run([exe, "-hide_banner", "-i", str(path), "-map", "0:v:0", "-f", "null", "-"],
                          capture_output=True, text=True)
    frames = int(proc.stderr.replace("\r", "\n").split("frame=")[-1].split()[0])
    pcm = subprocess.run([exe, "-hide_banner", "-loglevel", "error", "-i", str(path), "-map", "0:a:0", "-f", "s16le",
                          "-ac", "1", "-ar", "16000", "-"], capture_output=True).stdout
    return frames / probe_video(path).fps, len(pcm) / 2 / 16000


def test_cli_outputs_with_awkward_paths(system, tmp_path, monkeypatch):
    """A video and a reference named with a space, Chinese characters and a leading '-'."""
    from praatio import textgrid

    from espnet2_ext.bin.perform import main

    import soundfile as sf

    from espnet2_ext.features.format_wav import resample
    from espnet2_ext.utils.media import mux_video, probe_video

    monkeypatch.chdir(tmp_path)
    mux_video(system["video"], system["wav"], tmp_path / "-我的 视频.mp4")  # a video with its own audio track
    assert probe_video(tmp_path / "-我的 视频.mp4").has_audio
    wav, fs = sf.read(system["wav"], dtype="float32")
    stereo = resample(wav, fs, 44100)
    sf.write(tmp_path / "-参考 声音.wav", np.stack([stereo, 0.5 * stereo], axis=1), 44100)  # any rate, 2 channels
    main(["--model", str(system["exp"]), "--video=-我的 视频.mp4", "--reference=-参考 声音.wav", "--out=-输出 dir",
          "--lyrics", system["lyrics"], "--notes", " ".join(map(str, system["notes"])), "--vocoder", "griffin_lim"])
    out = tmp_path / "-输出 dir"
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f"-我的 视频{s}" for s in (".wav", ".mp4", ".TextGrid", ".json", ".png"))
    mp4 = out / "-我的 视频.mp4"
    v, a = _stream_seconds(mp4)
    assert abs(v - a) <= 0.04, (v, a)
    tg = textgrid.openTextgrid(str(out / "-我的 视频.TextGrid"), includeEmptyIntervals=False)
    phones = [e.label for e in tg.getTier("phones").entries]
    rec = json.loads((out / "-我的 视频.json").read_text())
    line = rec["lines"][0]
    assert phones == [p for p, d in zip(line["phones"], line["durations_frames"]) if d > 0]
    assert 0.0 <= line["lip_confidence"] <= 1.0 and isinstance(line["confident"], bool)
    assert isinstance(line["unread_frames"], str)
    assert rec["vocoder"] == "griffin_lim" and set(rec["lines"][0]["timings_s"]) == {"features", "roi", "model", "vocoder"}
    ends = [e.end for e in tg.getTier("phones").entries]
    assert ends[-1] == pytest.approx(line["boundaries_s"][-1], abs=1e-4)


def test_notes_as_names_numbers_and_musicxml_give_identical_inputs(system, tmp_path):
    import music21

    midi = system["notes"]
    names = " ".join(music21.pitch.Pitch(midi=m).nameWithOctave.replace("-", "b") for m in midi)
    stream = music21.stream.Stream([music21.note.Note(midi=m, quarterLength=0.5 + (i % 3)) for i, m in enumerate(midi)])
    stream.insert(0.25, music21.note.Rest())
    xml = tmp_path / "song.musicxml"
    stream.write("musicxml", fp=str(xml))
    p = system["performer"]
    a = p.prepare(system["lyrics"], " ".join(map(str, midi)))
    b = p.prepare(system["lyrics"], names)
    c = p.prepare(system["lyrics"], str(xml))
    mid = tmp_path / "song.mid"
    stream.write("midi", fp=str(mid))
    d = p.prepare(system["lyrics"], str(mid))
    assert a == b == c == d
    assert a[2] == [m for _, _, _, m, _ in system["utt"].phones]


def test_segments_sing_each_line_at_its_place_in_one_song(system, tmp_path):
    """Two demo utterances back to back in one video, sung from a --segments file."""
    from espnet2_ext.bin.perform import get_parser, run
    from espnet2_ext.utils.media import run_ffmpeg

    _, utt2 = demo_utterance(system["corpus"], index=1)
    video2 = system["corpus"] / "singerA" / f"{utt2.utt}.mp4"
    song = tmp_path / "song.mp4"
    run_ffmpeg(["-i", str(system["video"]), "-i", str(video2), "-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0[v]",
                "-map", "[v]", "-c:v", "libx264", "-qp", "0", "-y", str(song)], "concatenate")
    d1, d2 = system["utt"].duration, utt2.duration
    lyr2, notes2 = lyrics_and_notes(utt2)
    seg = tmp_path / "lines.txt"
    seg.write_text(f"# two lines\n0 {d1:.2f} {system['lyrics']} | {' '.join(map(str, system['notes']))}\n\n"
                   f"{d1:.2f} {d1 + d2:.2f} {lyr2} | {' '.join(map(str, notes2))}\n", encoding="utf-8")
    paths = run(get_parser().parse_args(["--model", str(system["exp"]), "--video", str(song), "--reference",
                                         str(system["wav"]), "--out", str(tmp_path / "o"), "--segments", str(seg),
                                         "--vocoder", "griffin_lim"]))
    rec = json.loads(paths[".json"].read_text())
    assert [ln["start_s"] for ln in rec["lines"]] == [0.0, pytest.approx(d1, abs=1e-3)]
    assert rec["lines"][0]["boundaries_s"][-1] == pytest.approx(d1, abs=0.02)
    assert rec["lines"][1]["boundaries_s"][-1] == pytest.approx(d1 + d2, abs=0.02)
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == sorted(
        f"song{s}" for s in (".wav", ".mp4", ".TextGrid", ".json", ".1.png", ".2.png"))
    v, a = _stream_seconds(paths[".mp4"])
    assert v == pytest.approx(d1 + d2, abs=0.04) and abs(v - a) <= 0.04
    bad = tmp_path / "bad.txt"
    bad.write_text(f"0 1 {system['lyrics']} | 60\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.txt:1: 1 notes for \d+ sung syllables"):
        run(get_parser().parse_args(["--model", str(system["exp"]), "--video", str(song), "--reference",
                                     str(system["wav"]), "--out", str(tmp_path / "o2"), "--segments", str(bad)]))
    assert not (tmp_path / "o2").exists()


def test_pack_loads_from_another_working_directory(system, tmp_path, monkeypatch):
    from espnet2_ext.api import Performer

    recipe = REPO_ROOT / "egs2" / "visualsinger" / "svs1"
    env = {**os.environ, "PYTHONPATH": str(recipe.parents[2])}
    dump = system["root"] / "recipe_dump"  # stage 9 packs the roi_conf of <dumpdir>/raw/train/lip_report.json
    (dump / "raw" / "train").mkdir(parents=True, exist_ok=True)
    shutil.copy(system["data"] / "lip_report.json", dump / "raw" / "train" / "lip_report.json")
    proc = subprocess.run(["./run.sh", "--stage", "9", "--stop_stage", "9", "--expdir", str(system["root"] / "exp"),
                           "--dumpdir", str(dump)],
                          cwd=recipe, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    pack = system["exp"] / "packed" / "performsinger.zip"
    with zipfile.ZipFile(pack) as zf:
        text = "".join(zf.read(n).decode("utf-8") for n in zf.namelist() if n.endswith(".yaml"))
        assert "meta.yaml" in zf.namelist()
    assert str(system["root"]) not in text and str(recipe) not in text
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(pack, elsewhere / "model.zip")
    monkeypatch.chdir(elsewhere)
    exp_root = system["root"] / "exp"
    exp_root.rename(system["root"] / "exp_away")  # the pack must not need any file of the recipe
    try:
        packed = Performer.from_pretrained("model.zip")
    finally:
        (system["root"] / "exp_away").rename(exp_root)
    assert packed.vocoder_name == "griffin_lim"
    assert packed.decode_conf == system["performer"].decode_conf  # stage 7's decode, precision included
    a = packed(system["video"], system["lyrics"], system["notes"], system["wav"])
    b = system["performer"](system["video"], system["lyrics"], system["notes"], system["wav"])
    assert a.durations.tolist() == b.durations.tolist()
    np.testing.assert_allclose(a.wav, b.wav, atol=1e-5)


def test_precision_is_the_recipes_default_unless_given(system):
    """--precision replaces the decode conf's; without it perform decodes as stage 7's default."""
    from espnet2_ext.api import Performer
    from espnet2_ext.api.performer import DEFAULT_DECODE_CONF

    assert system["performer"].decode_conf["precision"] == DEFAULT_DECODE_CONF["precision"] == "auto"
    exact = Performer.from_pretrained(system["exp"], vocoder="griffin_lim", precision="float32")
    assert exact.decode_conf == {**DEFAULT_DECODE_CONF, "precision": "float32"}
    a = exact(system["video"], system["lyrics"], system["notes"], system["wav"])
    b = system["performer"](system["video"], system["lyrics"], system["notes"], system["wav"])
    assert len(a.wav) == len(b.wav) and np.isfinite(a.wav).all()
    with pytest.raises(ValueError, match=r"precision 'fp16': expected one of \['float32', 'bfloat16', 'auto'\]"):
        Performer.from_pretrained(system["exp"], vocoder="griffin_lim", precision="fp16")


def test_an_exp_dir_loads_from_another_working_directory(system, tmp_path, monkeypatch):
    """An exp dir's config.yaml names its files relative to the recipe dir (as the recipe writes
    it); perform run from elsewhere finds them there."""
    import yaml

    from espnet2_ext.api import Performer

    recipe = tmp_path / "recipe"
    exp = recipe / "exp" / system["exp"].name
    shutil.copytree(system["exp"], exp, ignore=shutil.ignore_patterns("packed"))
    conf = yaml.safe_load((exp / "config.yaml").read_text())
    stats = Path(conf["normalize_conf"]["stats_file"])
    rel = Path("exp") / stats.parent.parent.name / stats.parent.name / stats.name
    (recipe / rel).parent.mkdir(parents=True)
    shutil.copy(stats, recipe / rel)
    conf["normalize_conf"]["stats_file"] = str(rel)
    (exp / "config.yaml").write_text(yaml.safe_dump(conf, sort_keys=False))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    loaded = Performer.from_pretrained(exp, vocoder="griffin_lim")
    a = loaded(system["video"], system["lyrics"], system["notes"], system["wav"])
    b = system["performer"](system["video"], system["lyrics"], system["notes"], system["wav"])
    assert a.durations.tolist() == b.durations.tolist()
    np.testing.assert_allclose(a.wav, b.wav, atol=1e-5)


def _blank_video(path: Path, seconds: float) -> Path:
    from espnet2_ext.utils.media import run_ffmpeg

    run_ffmpeg(["-f", "lavfi", "-i", f"color=c=gray:s=160x160:r=25:d={seconds}", "-c:v", "libx264", "-pix_fmt",
                "yuv420p", "-y", str(path)], "write a blank video")
    return path


@pytest.fixture(scope="module")
def bad_files(system, tmp_path_factory):
    import soundfile as sf

    d = tmp_path_factory.mktemp("bad")
    (d / "text.mp4").write_text("not a video")
    (d / "text.wav").write_text("not audio")
    sf.write(d / "silent.wav", np.zeros(22050 * 2, np.float32), 22050)
    sf.write(d / "short.wav", 0.1 * np.random.default_rng(0).standard_normal(11025).astype(np.float32), 22050)
    with zipfile.ZipFile(d / "broken.zip", "w") as zf:
        zf.writestr("meta.yaml", "files: {model_file: exp/s/model.pth}\nyaml_files: {train_config: exp/s/config.yaml}\n")
        zf.writestr("exp/s/config.yaml", "svs: performsinger\n")
    return dict(dir=d, noface=_blank_video(d / "noface.mp4", 2), tiny=_blank_video(d / "tiny.mp4", 0.2))


BAD = [  # (option overrides, message)
    ({"video": "noface"}, r"noface.mp4: no detectable face \(.*no face .* in any of its 50 frames; no face in frames 0-49"),
    ({"video": "text.mp4"}, r"text.mp4: unreadable video"),
    ({"reference": "text.wav"}, r"text.wav: unreadable reference audio"),
    ({"lyrics": "月亮☃照"}, r"--lyrics: character '☃' .*has no pinyin"),
    ({"lyrics": "yue liang xyz"}, r"--lyrics: syllable 3 'xyz' is not a Mandarin pinyin syllable"),
    ({"notes": "60 62"}, r"--notes: 2 notes for \d+ sung syllables"),
    ({"notes": "C7"}, r"note 1 'C7' is MIDI 96, outside the range 36..84"),
    ({"notes": "H4"}, r"note 1 'H4' is not a MIDI number or a note name"),
    ({"lyrics": "SP AP"}, r"--lyrics: the lyrics are empty"),
    ({"reference": "silent.wav"}, r"silent.wav: the reference is silent"),
    ({"reference": "short.wav"}, r"short.wav: the reference lasts 0.50 s; give at least 1 s"),
    ({"video": "tiny"}, r"tiny.mp4: 0.20 s of video for \d+ phones; each phone needs at least 40 ms"),
    ({"model": "broken.zip"}, r"broken.zip: member 'exp/s/model.pth' \(model_file of meta.yaml\) missing"),
    ({"max_seconds": "1"}, r"longer than --max_seconds 1: pass --segments .* or --start / --end"),
]


@pytest.mark.parametrize("override,message", BAD, ids=[m[:24] for _, m in BAD])
def test_every_bad_input_is_one_clear_error_and_writes_nothing(system, bad_files, tmp_path, override, message):
    from espnet2_ext.api import InputError
    from espnet2_ext.bin.perform import get_parser, run

    opts = {"model": str(system["exp"]), "video": str(system["video"]), "reference": str(system["wav"]),
            "lyrics": system["lyrics"], "notes": " ".join(map(str, system["notes"]))}
    for k, v in override.items():
        opts[k] = str(bad_files[v]) if v in bad_files else str(bad_files["dir"] / v) \
            if (bad_files["dir"] / v).exists() else v
    if "notes" in override and len(system["notes"]) == 1:
        pytest.skip("needs more than one syllable")
    if override.get("notes") in ("C7", "H4"):
        opts["notes"] = override["notes"] + " " + " ".join(map(str, system["notes"][1:]))
    out = tmp_path / "out"
    argv = [f"--{k}={v}" for k, v in opts.items()] + ["--out", str(out), "--vocoder", "griffin_lim"]
    with pytest.raises(InputError, match=message):
        run(get_parser().parse_args(argv))
    assert not out.exists()


def test_an_existing_output_needs_overwrite_and_a_phone_outside_the_token_list_is_named(system, tmp_path):
    from espnet2_ext.api import InputError
    from espnet2_ext.bin.perform import get_parser, run

    out = tmp_path / "out"
    out.mkdir()
    (out / f"{system['video'].stem}.TextGrid").write_text("mine")
    argv = ["--model", str(system["exp"]), "--video", str(system["video"]), "--reference", str(system["wav"]),
            "--lyrics", system["lyrics"], "--notes", " ".join(map(str, system["notes"])), "--out", str(out)]
    with pytest.raises(InputError, match=r"\.TextGrid exists: pass --overwrite"):
        run(get_parser().parse_args(argv))
    assert [p.name for p in out.iterdir()] == [f"{system['video'].stem}.TextGrid"]
    assert (out / f"{system['video'].stem}.TextGrid").read_text() == "mine"
    p = system["performer"]
    saved = p.token2id
    try:
        p.token2id = {k: v for k, v in saved.items() if k != "ian"}
        with pytest.raises(InputError, match=r"syllable \d+ '天' has the phone 'ian', which the model's token list"):
            p.prepare("天", "60")
    finally:
        p.token2id = saved
