"""Bad input: each one a single line naming the song (and the lyric line where it applies); the
other songs go on."""

import pytest

from espnet2_ext.annotate.pipeline import Options, Problem, prepare_song, scan_performances, utt_id
from espnet2_ext.utils.ffmpeg import ffmpeg_file, run_ffmpeg


def make_video(path, seconds=3.0, audio="sine", face=False):
    """A gray (no face) 96x96 25 fps video with a sine tone, silence, or no audio track."""
    args = ["-f", "lavfi", "-i", f"color=c=gray:s=96x96:d={seconds}:r=25"]
    if audio == "sine":
        args += ["-f", "lavfi", "-i", f"sine=frequency=220:duration={seconds}:sample_rate=16000"]
    elif audio == "silence":
        args += ["-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", str(seconds)]
    args += ["-c:v", "libx264", "-pix_fmt", "yuv420p"] + (["-c:a", "aac", "-shortest"] if audio else [])
    run_ffmpeg(args + [ffmpeg_file(path)], "test video")


@pytest.fixture
def song(tmp_path):
    def make(name, lyrics="月亮照在小河上\n", **kw):
        d = tmp_path / "perf" / "singerX"
        d.mkdir(parents=True, exist_ok=True)
        make_video(d / f"{name}.mp4", **kw)
        (d / f"{name}.txt").write_text(lyrics, encoding="utf-8")
        songs, problems = scan_performances(tmp_path / "perf")
        return next(s for s in songs if s.name == name)
    return make


def one_line(p):
    assert isinstance(p, Problem), p
    text = str(p)
    assert "\n" not in text and text.startswith("singerX/")
    return text


def test_scan_names_the_files_that_do_not_pair(tmp_path):
    d = tmp_path / "perf" / "singerX"
    d.mkdir(parents=True)
    (d / "a.txt").write_text("月亮\n", encoding="utf-8")
    make_video(d / "b.mp4", 1.0)
    (tmp_path / "perf" / "bad name").mkdir()
    (tmp_path / "perf" / "bad name" / "c.txt").write_text("月亮\n", encoding="utf-8")
    songs, problems = scan_performances(tmp_path / "perf")
    assert songs == []
    text = sorted(str(p) for p in problems)
    assert text[0].startswith("bad name/c: the singer folder name 'bad name' holds whitespace")
    assert text[1] == "singerX/a: no video a.mp4 beside a.txt" and text[2] == "singerX/b: no lyrics b.txt beside b.mp4"


def test_character_without_pinyin_names_the_lyric_line(song, tmp_path):
    p = prepare_song(song("s1", "月亮照在小河上\n我在远方想着X\n"), Options(lips="off"), tmp_path)
    assert "s1.txt:2: lyric line '我在远方想着X'" in one_line(p) and "'X' has no pinyin" in str(p)


def test_song_under_two_seconds(song, tmp_path):
    assert "under 2 s" in one_line(prepare_song(song("short", seconds=1.5), Options(lips="off"), tmp_path))


def test_no_singing_found(song, tmp_path):
    assert "no singing found" in one_line(prepare_song(song("quiet", audio="silence"), Options(lips="off"), tmp_path))


def test_lyrics_that_cannot_fit_the_audio(song, tmp_path):
    text = one_line(prepare_song(song("long", "月亮照在小河上\n" * 30, seconds=2.5), Options(lips="off"), tmp_path))
    assert "lyrics (30 lines, 210 syllables) cannot fit the audio" in text


def test_no_face_excludes_the_song(song, tmp_path):
    assert "no face in the video" in one_line(prepare_song(song("noface"), Options(lips="auto"), tmp_path))


def test_video_without_audio_and_unreadable_files(song, tmp_path):
    assert "no audio track" in one_line(prepare_song(song("mute", audio=None), Options(lips="off"), tmp_path))
    s = song("broken")
    s.video.write_bytes(b"not a video at all")
    assert "unreadable" in one_line(prepare_song(s, Options(lips="off"), tmp_path))


def test_utterance_ids_are_kaldi_safe():
    assert utt_id("singerE", "singerE_song00", 3) == "singerE_song00_003"
    assert utt_id("singerE", "My Song (live)", 1) == "singerE_My-Song-live_001"
    assert utt_id("s", "月亮", 2).startswith("s_song-") and " " not in utt_id("s", "月 亮", 2)


def test_separator_hook_runs_the_users_command_and_names_a_failing_one(song, tmp_path):
    from espnet2_ext.annotate.audio import AudioError, load_song_audio

    s = song("sep")
    cache = tmp_path / "work" / "sep.wav"
    a = load_song_audio(s.video, separator="cp", cache=cache, vad=False)  # "cp <mix.wav> <vocals.wav>"
    assert cache.is_file() and a.duration == pytest.approx(3.0, abs=0.1)
    with pytest.raises(AudioError, match=r"sep\.mp4: the separator failed \(exit 1"):
        load_song_audio(s.video, separator="false {input} {output}", cache=tmp_path / "work" / "x.wav", vad=False)
