"""FFmpeg calls of the project: always an argument list (no shell), always absolute paths.

    probe_video(path)                    -> VideoInfo(fps, duration, width, height, has_audio)
    to_fps(src, dst, fps, start, end)    (T_v', H, W) video at ``fps`` (frames picked by their
                                         timestamps, ffmpeg's fps filter), optionally cut to
                                         [start, end) seconds; no audio
    mux_video(video, wav, out)           ``wav`` as the audio track of ``video`` -> ``out``

Paths go to ffmpeg absolute, so that a file whose name starts with ``-`` is never read as an
option, and spaces or non-ASCII characters reach it unchanged (no shell quoting is involved).
"""

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Union

PathLike = Union[str, os.PathLike]


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _abs(path: PathLike) -> str:
    return str(Path(path).absolute())


def run_ffmpeg(args: List[str], what: str) -> subprocess.CompletedProcess:
    """Run ``ffmpeg <args>`` (a list); RuntimeError naming ``what`` with ffmpeg's message on failure."""
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", *args], capture_output=True, text=True,
                          errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed to {what}: {proc.stderr.strip()[-400:]}")
    return proc


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
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", _abs(path)], capture_output=True,
                          text=True, errors="replace")
    err = proc.stderr
    video = next((ln for ln in err.splitlines() if " Video:" in ln), None)
    if video is None:
        raise ValueError(f"{path}: unreadable video (ffmpeg finds no video stream: {err.strip()[-200:]})")
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
    args += ["-i", _abs(src)]
    if end is not None:
        args += ["-t", f"{end - (start or 0.0):.6f}"]
    args += ["-map", "0:v:0", "-an", "-vf", f"fps={fps:g}", "-c:v", "libx264", "-preset", "ultrafast",
             "-qp", "0", "-pix_fmt", "yuv420p", "-threads", "1", "-y", _abs(dst)]
    run_ffmpeg(args, f"read {src} at {fps:g} fps")


def mux_video(video: PathLike, wav: PathLike, out: PathLike) -> None:
    """Put ``wav`` as the audio track of ``video`` (its own audio, if any, is dropped); write
    ``out`` atomically."""
    out = Path(out).absolute()
    tmp = out.with_name(out.stem + ".tmp.mp4")
    try:
        run_ffmpeg(["-y", "-loglevel", "error", "-i", _abs(video), "-i", _abs(wav), "-map", "0:v:0", "-map", "1:a:0",
                    "-c:v", "copy", "-c:a", "aac", "-shortest", str(tmp)], f"mux {wav} onto {video}")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
