"""What the project asks ffmpeg about media files, on top of utils/ffmpeg.py (argument lists, ``file:`` paths).

    probe_video(path)                    -> VideoInfo(fps, duration, width, height, has_audio)
    to_fps(src, dst, fps, start, end)    (T_v', H, W) video at ``fps`` (frames picked by their
                                         timestamps, ffmpeg's fps filter), optionally cut to
                                         [start, end) seconds; no audio
    mux_video(video, wav, out)           ``wav`` as the audio track of ``video`` -> ``out``
    run_ffmpeg([...], what=...)          one ffmpeg run (utils/ffmpeg.py's argument list)

A failure is one FFmpegError line (a RuntimeError): what failed, naming its files, and the last
line of ffmpeg's stderr that says why (``ffmpeg_reason``); the whole stderr is logged at DEBUG.
Every path goes through ``ffmpeg_file`` (``file:/abs/path``), so that a file whose name starts
with ``-`` or holds a ``:`` is never read as an option or a protocol, and spaces or non-ASCII
characters reach ffmpeg unchanged (no shell quoting is involved).
"""

import logging
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Union

from espnet2_ext.utils.ffmpeg import ffmpeg_cmd, ffmpeg_exe, ffmpeg_file
from espnet2_ext.utils.fileio import atomic_path

PathLike = Union[str, os.PathLike]

# Lines around ffmpeg's reason for a failure that add nothing to it: its summaries ("Error opening
# input files: ...", "Conversion failed!"), the line naming the file and hints.
_BOILERPLATE = re.compile(r"^(conversion failed|at least one output file must be specified|exiting normally|"
                          r"error opening (input|output) files?\b|error parsing options for|failed to set value|"
                          r"to ignore this, add a trailing)", re.IGNORECASE)
_PREFIX = re.compile(r"^\[[^\]]* @ (0x)?[0-9a-fA-F]+\]\s*")  # "[in#0 @ 0x55d0c2a4b6c0] "


class FFmpegError(RuntimeError):
    """ffmpeg failed: one line naming the job, its files and ffmpeg's reason."""


def ffmpeg_reason(stderr: str) -> str:
    """The last line of ffmpeg's ``stderr`` that says what went wrong (not its closing boilerplate),
    without the ``[demuxer @ 0x...]`` prefix and the ``file:`` of our paths; "" when there is none."""
    lines = [_PREFIX.sub("", ln).replace("file:/", "/").strip() for ln in stderr.splitlines()]
    lines = [ln for ln in lines if ln]
    reasons = [ln for ln in lines if not _BOILERPLATE.match(ln)]
    return (reasons or lines or [""])[-1]


def ffmpeg_error(what: str, returncode: int, stderr: Union[str, bytes]) -> FFmpegError:
    """The FFmpegError of a failed run (``what``: the job and its files); ``stderr`` whole at DEBUG."""
    if isinstance(stderr, bytes):
        stderr = stderr.decode("utf-8", errors="replace")
    logging.debug("%s: ffmpeg exited with %s; its stderr:\n%s", what, returncode, stderr.rstrip())
    reason = ffmpeg_reason(stderr)
    return FFmpegError(f"{what}: ffmpeg failed" + (f": {reason}" if reason else f" (exit {returncode})"))


def run_ffmpeg(args: Sequence[str], what: str, input: Optional[bytes] = None) -> subprocess.CompletedProcess:
    """Run ffmpeg with ``args`` (paths through ``ffmpeg_file``; ``input`` fed to stdin, for ``-i -``);
    FFmpegError naming ``what`` when it fails."""
    cmd = ffmpeg_cmd(args)
    if input is not None:
        cmd.remove("-nostdin")
    proc = subprocess.run(cmd, input=input, capture_output=True)
    if proc.returncode != 0:
        raise ffmpeg_error(what, proc.returncode, proc.stderr)
    return proc


def ffmpeg_to(out: PathLike, args: Sequence[str], what: str, input: Optional[bytes] = None) -> Path:
    """run_ffmpeg with ``args`` and a temporary output beside ``out`` (same extension), renamed to
    ``out`` on success: a failure leaves nothing there."""
    out = Path(out)
    with atomic_path(out, suffix=out.suffix) as tmp:
        try:
            run_ffmpeg([*args, ffmpeg_file(tmp)], what, input=input)
        except FFmpegError as e:  # ffmpeg's reason names the temporary file: name ``out`` instead
            raise FFmpegError(str(e).replace(os.path.abspath(tmp), os.path.abspath(out))) from e
    return out


@dataclass
class VideoInfo:
    """What ffmpeg says of a media file's first video stream."""

    fps: float
    duration: float
    width: int
    height: int
    has_audio: bool


def probe_video(path: PathLike) -> VideoInfo:
    """Frame rate, duration, size and whether an audio stream exists; ValueError naming the file."""
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", ffmpeg_file(path)], capture_output=True,
                          text=True, errors="replace")
    err = proc.stderr
    video = next((ln for ln in err.splitlines() if " Video:" in ln), None)
    if video is None:
        logging.debug("probing %s: ffmpeg's stderr:\n%s", path, err.rstrip())
        raise ValueError(f"{path}: unreadable video (ffmpeg finds no video stream: "
                         f"{ffmpeg_reason(err) or 'no reason given'})")
    fps = re.search(r"([\d.]+) fps", video) or re.search(r"([\d.]+) tbr", video)
    size = re.search(r"\b(\d{2,5})x(\d{2,5})\b", video)
    dur = re.search(r"Duration: (\d+):(\d+):([\d.]+)", err)
    if not (fps and size and dur):
        raise ValueError(f"{path}: unreadable video (no frame rate, size or duration in {video.strip()!r})")
    h, m, s = dur.groups()
    return VideoInfo(float(fps.group(1)), int(h) * 3600 + int(m) * 60 + float(s), int(size.group(1)),
                     int(size.group(2)), any(" Audio:" in ln for ln in err.splitlines()))


def to_fps(src: PathLike, dst: PathLike, fps: float = 25.0, start: Optional[float] = None,
           end: Optional[float] = None) -> None:
    """Write ``src`` (or its [start, end) part) at ``fps`` to ``dst`` (lossless-quality H.264, no audio).

    The fps filter keeps, for each output time k / fps, the input frame shown at that time (by
    the input's timestamps), so a 30 fps video read at 25 fps stays in time."""
    args = []
    if start is not None:
        args += ["-ss", f"{start:.6f}"]
    args += ["-i", ffmpeg_file(src)]
    if end is not None:
        args += ["-t", f"{end - (start or 0.0):.6f}"]
    args += ["-map", "0:v:0", "-an", "-vf", f"fps={fps:g}", "-c:v", "libx264", "-preset", "ultrafast",
             "-qp", "0", "-pix_fmt", "yuv420p", "-threads", "1"]
    ffmpeg_to(dst, args, f"reading {src} at {fps:g} fps")


def mux_video(video: PathLike, wav: PathLike, out: PathLike) -> None:
    """Put ``wav`` as the audio track of ``video`` (its own audio, if any, is dropped); write
    ``out`` atomically."""
    ffmpeg_to(out, ["-i", ffmpeg_file(video), "-i", ffmpeg_file(wav), "-map", "0:v:0", "-map", "1:a:0",
                    "-c:v", "copy", "-c:a", "aac", "-shortest"], what=f"muxing {wav} onto {video} -> {out}")


__all__ = ["FFmpegError", "VideoInfo", "ffmpeg_exe", "ffmpeg_reason", "ffmpeg_to", "mux_video", "probe_video",
           "run_ffmpeg", "to_fps"]
