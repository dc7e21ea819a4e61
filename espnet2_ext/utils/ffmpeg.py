"""Running the ffmpeg binary shipped by imageio-ffmpeg: argument lists only, and any file name.

    ffmpeg_file(path)                 -> "file:/abs/path" (the form every file argument takes)
    run_ffmpeg([...], what=...)       [exe, "-nostdin", "-y", "-loglevel", "error", *args]
                                      --subprocess.run, never a shell--> RuntimeError on failure,
                                      naming ``what`` and the end of ffmpeg's stderr
    ffmpeg_to(out, [...], what=...)   run_ffmpeg with the output written beside ``out`` and renamed
                                      over it on success (nothing half-written is left)

Without a shell, spaces, quotes and non-ASCII characters in a name reach ffmpeg untouched. What is
left is ffmpeg's own reading of its arguments: one starting with ``-`` is an option, ``-`` alone is
a pipe and ``name:rest`` is a protocol URL (``concat:``, ``http:``). An absolute path under the
``file:`` protocol is none of these, so ``ffmpeg_file`` is applied to every path handed to ffmpeg.
"""

import os
import subprocess
from pathlib import Path
from typing import List, Optional, Sequence, Union

from espnet2_ext.utils.fileio import atomic_path

PathLike = Union[str, os.PathLike]


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary of the imageio-ffmpeg package."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg_file(path: PathLike) -> str:
    """``path`` as an ffmpeg argument that can only mean that file (``-x.mp4``, ``a:b.wav`` included)."""
    return "file:" + os.path.abspath(os.fspath(path))


def ffmpeg_cmd(args: Sequence[str]) -> List[str]:
    """The full argument list: quiet, never prompting (``-nostdin``), overwriting its own output."""
    return [ffmpeg_exe(), "-nostdin", "-hide_banner", "-y", "-loglevel", "error", *[str(a) for a in args]]


def run_ffmpeg(args: Sequence[str], what: str, input: Optional[bytes] = None) -> subprocess.CompletedProcess:
    """Run ffmpeg with ``args`` (paths already through ``ffmpeg_file``); RuntimeError naming ``what``.

    ``input`` is fed to stdin (for ``-i -``), in which case ``-nostdin`` is left out.
    """
    cmd = ffmpeg_cmd(args)
    if input is not None:
        cmd.remove("-nostdin")
    proc = subprocess.run(cmd, input=input, capture_output=True)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", errors="replace").strip()
        raise RuntimeError(f"{what}: ffmpeg failed (exit {proc.returncode}): {err[-500:]}")
    return proc


def ffmpeg_to(out: PathLike, args: Sequence[str], what: str, input: Optional[bytes] = None) -> Path:
    """Run ffmpeg with ``args`` followed by a temporary output beside ``out`` (same extension, so
    ffmpeg picks the same container), then rename it to ``out``; returns ``out``."""
    out = Path(out)
    with atomic_path(out, suffix=out.suffix) as tmp:
        run_ffmpeg([*args, ffmpeg_file(tmp)], what, input=input)
    return out
