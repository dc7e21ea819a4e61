"""perform's input checks, before any model loads: each bad input is one error line naming it, exit
status 1, and nothing is written (the model given is a file that does not exist, and loading is
replaced by a failure, so a check that came after loading would fail these tests)."""

import logging
import subprocess
import sys

import pytest

from espnet2_ext.bin import perform
from espnet2_ext.utils.media import FFmpegError, run_ffmpeg
from tests.support.paths import REPO_ROOT

SECONDS = 5.0


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 5 s, 25 fps grey video."""
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", f"color=c=gray:s=32x32:r=25:d={SECONDS:g}", "-c:v", "libx264", "-pix_fmt",
                "yuv420p", "-threads", "1", str(path)], "test video")
    return path


@pytest.fixture
def no_model(monkeypatch):
    def load(a):
        raise AssertionError("the model was loaded before the inputs were checked")

    monkeypatch.setattr(perform, "_load", load)


def _perform(caplog, *argv):
    """(exit status, the ERROR lines logged)."""
    caplog.clear()
    with caplog.at_level(logging.INFO), pytest.raises(SystemExit) as e:
        perform.main(["--model", "missing.zip", "--reference", "voice.wav", *map(str, argv)])
    return e.value.code, [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def _one_error(caplog, *argv) -> str:
    code, errors = _perform(caplog, *argv)
    assert code == 1 and len(errors) == 1, errors
    assert "\n" not in errors[0]
    return errors[0]


def test_a_segments_line_ending_after_the_video(tmp_path, clip, caplog, no_model):
    lines = tmp_path / "lines.txt"
    lines.write_text("0 3.5 月亮 | A3 B3\n4 12 照在 | C4 C4\n", encoding="utf-8")
    out = tmp_path / "out"
    msg = _one_error(caplog, "--video", clip, "--segments", lines, "--out", out)
    assert msg.startswith(f"{lines}:2: ends at 12 s, after the end of {clip} (5.00 s)")
    assert not out.exists()


def test_an_end_after_the_video(tmp_path, clip, caplog, no_model):
    out = tmp_path / "out"
    msg = _one_error(caplog, "--video", clip, "--lyrics", "月亮", "--notes", "A3 B3", "--start", "4", "--end", "12",
                     "--out", out)
    assert msg == f"--end 12: after the end of {clip} (5.00 s)"
    assert not out.exists()


def test_out_naming_a_file(tmp_path, clip, caplog, no_model):
    out = tmp_path / "out.mp4"
    out.write_text("mine")
    msg = _one_error(caplog, "--video", clip, "--lyrics", "月亮", "--notes", "A3 B3", "--out", out)
    assert msg.startswith(f"--out {out}: exists and is not a directory")
    assert out.read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]
    msg = _one_error(caplog, "--video", clip, "--lyrics", "月亮", "--notes", "A3 B3", "--out", out / "sub",
                     "--overwrite")
    assert msg.startswith(f"--out {out / 'sub'}: {out} exists and is not a directory")
    assert out.read_text() == "mine"


def test_existing_outputs_without_overwrite(tmp_path, clip, caplog, no_model):
    out = tmp_path / "out"
    out.mkdir()
    (out / "clip.json").write_text("old")
    msg = _one_error(caplog, "--video", clip, "--lyrics", "月亮", "--notes", "A3 B3", "--out", out)
    assert msg == f"{out / 'clip.json'} exists: pass --overwrite to replace it, or another --out / --name"
    assert [p.name for p in out.iterdir()] == ["clip.json"] and (out / "clip.json").read_text() == "old"


def test_an_unreadable_video_is_one_line(tmp_path, caplog, no_model):
    video = tmp_path / "broken.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    out = tmp_path / "out"
    msg = _one_error(caplog, "--video", video, "--lyrics", "月亮", "--notes", "A3 B3", "--out", out)
    assert msg.startswith(f"{video}: unreadable video (ffmpeg finds no video stream: ")
    assert not out.exists()


def test_an_ffmpeg_failure_is_one_line_and_exit_status_1(monkeypatch, caplog):
    def fail(a):
        raise FFmpegError("muxing a.wav onto b.mp4 -> out/b.mp4: ffmpeg failed: Error opening input: No such file")

    monkeypatch.setattr(perform, "run", fail)
    code, errors = _perform(caplog, "--video", "b.mp4", "--lyrics", "月亮", "--notes", "A3 B3", "--out", "out")
    assert code == 1 and errors == ["muxing a.wav onto b.mp4 -> out/b.mp4: ffmpeg failed: Error opening input: "
                                    "No such file"]


def test_the_command_prints_one_line(tmp_path, clip):
    """The real command line: one stderr line, no traceback, exit status 1."""
    out = tmp_path / "out.mp4"
    out.write_text("mine")
    p = subprocess.run([sys.executable, "-m", "espnet2_ext.bin.perform", "--model", str(tmp_path / "missing.zip"),
                        "--video", str(clip), "--reference", "voice.wav", "--lyrics", "月亮", "--notes", "A3 B3",
                        "--out", str(out)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    errors = [ln for ln in p.stderr.splitlines() if "ERROR" in ln]
    assert len(errors) == 1 and errors[0].endswith(f"--out {out}: exists and is not a directory: pass a directory "
                                                   "for the outputs (made when missing)")
    assert out.read_text() == "mine" and p.stdout == ""


def test_a_failed_mux_leaves_no_output(tmp_path, monkeypatch):
    """write_outputs failing after the wav (ffmpeg muxing): what it wrote goes; older outputs stay."""
    from espnet2_ext.api import outputs

    def write_outputs(perfs, video, seconds, out_dir, name, *rest):
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / f"{name}.wav").write_text("new")
        (out_dir / f"{name}.json").write_text("new")
        raise FFmpegError(f"muxing {out_dir / name}.wav onto {video} -> {out_dir / name}.mp4: ffmpeg failed: x")

    monkeypatch.setattr(outputs, "write_outputs", write_outputs)
    performer = type("P", (), {"source": "m", "vocoder_name": "v"})()
    a = perform.get_parser().parse_args(["--model", "m", "--out", str(tmp_path / "new"), "--overwrite"])
    with pytest.raises(FFmpegError):
        perform._write(a, [object()], tmp_path / "clip.mp4", 1.0, "clip", performer, {})
    assert not (tmp_path / "new").exists()
    old = tmp_path / "old"
    old.mkdir()
    (old / "clip.json").write_text("old")
    a.out = str(old)
    with pytest.raises(FFmpegError):
        perform._write(a, [object()], tmp_path / "clip.mp4", 1.0, "clip", performer, {})
    assert [p.name for p in old.iterdir()] == ["clip.json"]
