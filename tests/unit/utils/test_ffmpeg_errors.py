"""ffmpeg's failures as one line: what failed, its files and the last line of ffmpeg's stderr that says
why (the whole stderr only at DEBUG); a failed job leaves no output behind. ffmpeg's own wording
changes between its versions: beyond the stderr samples below, the tests look for its errno texts."""

import logging

import numpy as np
import pytest
import soundfile as sf

from espnet2_ext.utils.media import FFmpegError, ffmpeg_reason, mux_video, probe_video, run_ffmpeg, to_fps

# What ffmpeg 7 writes when a -map names a stream the input lacks.
MAP_STDERR = """Stream map '' matches no streams.
To ignore this, add a trailing '?' to the map.
Failed to set value '0:v:0' for option 'map': Invalid argument
Error parsing options for output file file:/tmp/x/o.mp4.
Error opening output files: Invalid argument
"""


@pytest.fixture
def media(tmp_path):
    video = tmp_path / "clip.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "color=c=gray:s=32x32:r=25:d=1", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                "-threads", "1", str(video)], "test video")
    wav = tmp_path / "voice.wav"
    sf.write(wav, np.zeros(16000, np.float32), 16000)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    return video, wav, broken


def _files(d):
    return sorted(p.name for p in d.iterdir())


def test_the_reason_is_the_last_line_that_gives_one():
    assert ffmpeg_reason(MAP_STDERR) == "Stream map '' matches no streams."
    assert ffmpeg_reason("[in#1 @ 0x5562603151c0] Error opening input: No such file or directory\n"
                         "Error opening input file file:/x/no.wav.\n"
                         "Error opening input files: No such file or directory\n") == \
        "Error opening input: No such file or directory"
    assert ffmpeg_reason("[out#0/mp4 @ 0x55a9] Error opening output file:/x/nodir/o.mp4: No such file or directory\n"
                         "Error opening output file file:/x/nodir/o.mp4.\nError opening output files: No such file "
                         "or directory\n") == "Error opening output /x/nodir/o.mp4: No such file or directory"
    assert ffmpeg_reason("Conversion failed!\n") == "Conversion failed!"  # nothing better: the last line
    assert ffmpeg_reason("") == ""


def test_mux_of_a_missing_wav_is_one_line_and_writes_nothing(tmp_path, media, caplog):
    video, _, _ = media
    out = tmp_path / "out.mp4"
    before = _files(tmp_path)
    with caplog.at_level(logging.DEBUG), pytest.raises(FFmpegError) as e:
        mux_video(video, tmp_path / "没有.wav", out)
    msg = str(e.value)
    assert msg.startswith(f"muxing {tmp_path / '没有.wav'} onto {video} -> {out}: ffmpeg failed: ")
    assert "\n" not in msg and msg.endswith("No such file or directory")
    assert isinstance(e.value, RuntimeError)
    assert _files(tmp_path) == before  # no out.mp4, no temporary file
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any(m.count("\n") >= 2 and "No such file or directory" in m for m in debug)  # the whole stderr


def test_a_failed_output_names_the_output_not_its_temporary_file(tmp_path, media):
    video, wav, _ = media
    out = tmp_path / "no dir" / "out.mp4"
    with pytest.raises(FFmpegError) as e:
        mux_video(video, wav, out)
    msg = str(e.value)
    assert msg.startswith(f"muxing {wav} onto {video} -> {out}: ffmpeg failed: ")
    assert "\n" not in msg and ".tmp" not in msg and f"{out}: No such file or directory" in msg


def test_reading_a_broken_video_is_one_line(tmp_path, media):
    _, _, broken = media
    dst = tmp_path / "clip25.mp4"
    before = _files(tmp_path)
    with pytest.raises(FFmpegError) as e:
        to_fps(broken, dst, 25.0, 0.0, 1.0)
    msg = str(e.value)
    assert msg.startswith(f"reading {broken} at 25 fps: ffmpeg failed: ")
    assert "\n" not in msg and msg.endswith("Invalid data found when processing input")
    assert _files(tmp_path) == before
    with pytest.raises(ValueError) as e:
        probe_video(broken)
    msg = str(e.value)
    assert msg.startswith(f"{broken}: unreadable video (ffmpeg finds no video stream: ")
    assert "\n" not in msg and msg.endswith("Invalid data found when processing input)")
