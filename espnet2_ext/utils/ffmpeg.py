"""Running the ffmpeg binary shipped by imageio-ffmpeg: argument lists only, and any file name.

    ffmpeg_file(path)                 -> "file:/abs/path" (the form every file argument takes)
    run_ffmpeg([...], what=...)       [exe, "-nostdin", "-y", "-loglevel", "error", *args]
                                      --subprocess.run, never a shell--> FFmpegError (a RuntimeError)
                                      on failure: one line naming ``what`` and ffmpeg's reason (its
                                      last line that gives one); the whole stderr at DEBUG
    ffmpeg_to(out, [...], what=...)   run_ffmpeg with the output written beside ``out`` and renamed
                                      over it on success (nothing half-written is left)

Without a shell, spaces, quotes and non-ASCII characters in a name reach ffmpeg untouched. What is
left is ffmpeg's own reading of its arguments: one starting with ``-`` is an option, ``-`` alone is
a pipe and ``name:rest`` is a protocol URL (``concat:``, ``http:``). An absolute path under the
``file:`` protocol is none of these, so ``ffmpeg_file`` is applied to every path handed to ffmpeg.
"""

import logging
import os
import re
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


# Lines around ffmpeg's reason for a failure that add nothing to it: its summaries ("Error opening
# input files: ...", "Conversion failed!"), the line naming the file and hints.
_BOILERPLATE = re.compile(r"^(conversion failed|error splitting the argument list|at least one output file must be specified|exiting normally|"
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


