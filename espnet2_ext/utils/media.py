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
from typing import Optional, Union

from espnet2_ext.utils.ffmpeg import FFmpegError, ffmpeg_error, ffmpeg_exe, ffmpeg_file, ffmpeg_reason, ffmpeg_to, \
    run_ffmpeg  # noqa: F401 - media's callers import them from here

PathLike = Union[str, os.PathLike]

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
