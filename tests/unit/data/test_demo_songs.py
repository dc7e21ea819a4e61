"""Song-level demo performances: truth consistent with the lyrics and itself, the mp4 carries the
singing in time, the same seed gives the same bytes."""

import json

import numpy as np
import pytest

from espnet2_ext.data.demo_songs import make_demo_songs, plan_song, read_song_truth
from espnet2_ext.data.phones import lyric_chars, lyric_to_phones
from espnet2_ext.data.textgrid_io import read_textgrid
from espnet2_ext.utils.media import probe_video


def test_plan_song_whole_lines_contiguous_phones_and_rests_between_lines():
    for k in range(5):
        song = plan_song("s", "singerE", np.random.default_rng(k), seconds=(20.0, 30.0))
        assert song.duration >= 20.0 and len(song.lines) >= 3
        t = 0.0
        for st, et, *_ in song.phones:
            assert st == pytest.approx(t) and et > st
            t = et
        assert t == pytest.approx(song.duration)
        chars = [c for line in song.lines for c in lyric_chars(line)]
        assert [c for _, _, c, _, _ in song.syllables] == chars
        sung = [(p, s) for _, _, p, _, s in song.phones if s >= 0]
        groups = [g for line in song.lines for g in lyric_to_phones(line)]
        assert [p for p, _ in sung] == [p for g in groups for p in g]
        for (_, e0), (s1, _) in zip(song.line_spans, song.line_spans[1:]):
            assert s1 - e0 >= 0.12  # a rest between every two lines
        assert song.line_spans[0][0] >= 0.5 and song.duration - song.line_spans[-1][1] >= 0.5
        for st, et, _, midi, li in song.syllables:  # every syllable inside its line's span, with a note
            assert song.line_spans[li][0] <= st < et <= song.line_spans[li][1] + 1e-9 and 36 <= midi <= 79


def test_max_lines_caps_the_song():
    song = plan_song("s", "singerF", np.random.default_rng(0), seconds=(100.0, 100.0), max_lines=2)
    assert len(song.lines) == 2


@pytest.fixture(scope="module")
def songs(tmp_path_factory):
    root = tmp_path_factory.mktemp("songs")
    kw = dict(singers=["singerF"], songs_per_singer=1, seconds=(100.0, 100.0), max_lines=2, size=96)
    make_demo_songs(root / "a", vocals=True, **kw)
    make_demo_songs(root / "b", **kw)
    return root


def test_song_files_truth_and_same_bytes_for_the_same_seed(songs):
    a, b = songs / "a" / "singerF", songs / "b" / "singerF"
    assert sorted(p.name for p in a.iterdir()) == ["singerF_song00.mp4", "singerF_song00.txt", "singerF_song00.wav"]
    assert sorted(p.name for p in b.iterdir()) == ["singerF_song00.mp4", "singerF_song00.txt"]
    for name in ("singerF_song00.mp4", "singerF_song00.txt"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    truth = read_song_truth(songs / "a" / ".truth" / "singerF" / "singerF_song00.json")
    assert [x["text"] for x in truth["lines"]] == (a / "singerF_song00.txt").read_text(encoding="utf-8").split()
    info = probe_video(a / "singerF_song00.mp4")
    assert info.has_audio and info.fps == 25 and info.duration == pytest.approx(truth["duration"], abs=0.05)
    tiers = read_textgrid(songs / "a" / ".truth" / "singerF" / "singerF_song00.TextGrid")
    assert [iv.text for iv in tiers["lines"] if iv.text] == [x["text"] for x in truth["lines"]]
    assert json.loads(json.dumps(truth))["phones"][0][2] == "SP"


def test_video_track_carries_the_vocals_in_time(songs):
    import subprocess

    import imageio_ffmpeg
    import soundfile as sf

    d = songs / "a" / "singerF"
    w, fs = sf.read(str(d / "singerF_song00.wav"))
    p = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i", str(d / "singerF_song00.mp4"),
                        "-vn", "-ac", "1", "-ar", str(fs), "-f", "f32le", "-"], capture_output=True, check=True)
    x = np.frombuffer(p.stdout, np.float32)
    n = min(len(w), len(x)) - 2000
    lags = list(range(-40, 41))
    c = [float(np.dot(w[1000:n], x[1000 + k:n + k])) for k in lags]
    assert lags[int(np.argmax(c))] == 0
