"""ffmpeg gets argument lists and ``file:`` paths: names with spaces, Chinese characters and a
leading '-' work for muxing, cutting and decoding."""

import numpy as np
import pytest
import soundfile as sf

from espnet2_ext.utils.ffmpeg import ffmpeg_file, ffmpeg_to, run_ffmpeg

FS, FPS, SIZE = 16000, 25, 32


def _video(path, n=10):
    """A silent n-frame H.264 mp4 (grey ramp) written through a stdin pipe."""
    frames = np.linspace(0, 255, n * SIZE * SIZE * 3).astype(np.uint8).reshape(n, SIZE, SIZE, 3)
    ffmpeg_to(path, ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{SIZE}x{SIZE}", "-r", str(FPS), "-i", "-",
                     "-c:v", "libx264", "-pix_fmt", "yuv420p", "-threads", "1"], "test video", input=frames.tobytes())
    return path


def _wav(path, seconds=0.4):
    t = np.arange(int(FS * seconds)) / FS
    sf.write(path, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), FS)
    return path


def _audio_seconds(media, tmp_dir) -> float:
    out = ffmpeg_to(tmp_dir / "-解码 audio.wav", ["-i", ffmpeg_file(media), "-vn", "-ac", "1", "-c:a", "pcm_s16le"],
                    f"decoding {media}")
    info = sf.info(out)
    return info.frames / info.samplerate


@pytest.fixture
def odd_dir(tmp_path):
    d = tmp_path / "-歌 手 dir"
    d.mkdir()
    return d


def test_file_argument_is_absolute_under_the_file_protocol(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert ffmpeg_file("-x y.mp4") == f"file:{tmp_path}/-x y.mp4"
    assert ffmpeg_file("a:b.wav").startswith("file:/")


def test_a_bare_leading_dash_name_is_taken_as_an_option(odd_dir, monkeypatch):
    monkeypatch.chdir(odd_dir)
    wav = _wav(odd_dir / "-参考 ref.wav")
    with pytest.raises(RuntimeError, match="Unrecognized option 'bare.wav'"):  # what ffmpeg_file prevents
        run_ffmpeg(["-i", ffmpeg_file(wav), "-c:a", "pcm_s16le", "-bare.wav"], "bare name")
    run_ffmpeg(["-i", ffmpeg_file(wav), "-c:a", "pcm_s16le", ffmpeg_file("-bare.wav")], "file: name")
    assert sf.info(odd_dir / "-bare.wav").frames == sf.info(wav).frames


def test_mux_video_with_odd_names(odd_dir):
    from espnet2_ext.utils.media import mux_video

    video = _video(odd_dir / "-演唱 video.mp4")
    wav = _wav(odd_dir / "-参考 ref.wav")
    out = odd_dir / "-输出 out.mp4"
    mux_video(str(video), str(wav), out)
    assert out.is_file() and not list(odd_dir.glob("*tmp*"))
    assert _audio_seconds(out, odd_dir) == pytest.approx(0.4, abs=0.06)  # -shortest: 10 frames = 0.4 s


def test_failure_names_the_job_and_leaves_no_partial_output(odd_dir):
    from espnet2_ext.utils.media import mux_video

    out = odd_dir / "-输出 out.mp4"
    with pytest.raises(RuntimeError, match="muxing .*没有.wav"):
        mux_video(str(_video(odd_dir / "-演唱 video.mp4")), str(odd_dir / "没有.wav"), out)
    assert not out.exists() and not list(odd_dir.glob("*tmp*"))


def test_cut_performances_with_odd_names(odd_dir):
    from espnet2_ext.utils.media import mux_video
    from espnet2_ext.data.cut_performances import cut_performances

    singer = odd_dir / "raw" / "-歌手 A"
    singer.mkdir(parents=True)
    mux_video(str(_video(odd_dir / "v.mp4")), str(_wav(odd_dir / "a.wav")), singer / "-第一 首.mp4")
    (singer / "-第一 首.segments").write_text("-句1 0.0 0.2\n", encoding="utf-8")
    for ext in (".TextGrid", ".notes"):
        (singer / f"-句1{ext}").write_text("x", encoding="utf-8")
    corpus = odd_dir / "corpus"
    assert cut_performances(odd_dir / "raw", corpus, fs=FS) == 1
    out = corpus / "-歌手 A" / "-句1"
    assert out.with_suffix(".mp4").is_file() and out.with_suffix(".TextGrid").is_file()
    assert sf.info(out.with_suffix(".wav")).duration == pytest.approx(0.2, abs=0.03)


def test_lip_video_reader_decodes_odd_names_through_ffmpeg(odd_dir):
    from espnet2_ext.lip.video_io import GrayVideo

    video = GrayVideo(_video(odd_dir / "-演唱 video.mp4"))
    video.backend = "ffmpeg"  # the fallback that runs the binary
    frames = list(video)
    assert len(frames) == 10 and frames[0].shape == (SIZE, SIZE)


def test_corpus_video_duration_with_odd_names(odd_dir):
    from espnet2_ext.data.visualsinger import media_duration

    assert media_duration(_video(odd_dir / "-演唱 video.mp4")) == pytest.approx(0.4, abs=0.05)
