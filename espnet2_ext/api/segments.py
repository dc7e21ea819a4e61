"""The --segments file of a whole song: one sung line per line, cut out of one long video.

    # comment
    <start> <end> <lyrics> | <notes>        start / end in seconds or m:ss(.s)
    12.4 17.9 月亮照在小河上 | A3 B3 C4 C4 D4 E4 D4

-> [Segment(start, end, lyrics, notes, line)]; errors name file:line.
check_segments(segments, path, video, duration, max_seconds) then checks every line against the
video (before any is sung): each one must lie inside it, give or take one video frame.
"""

from dataclasses import dataclass, replace
from pathlib import Path
from typing import List, Optional, Union

from espnet2_ext.api.errors import InputError


END_TOLERANCE = 0.04  # s: one video frame at 25 fps; a line may end this far past the video (rounding)


class SegmentsError(InputError):
    """A --segments file that cannot be read, or a line of it outside the video."""


@dataclass
class Segment:
    start: float
    end: float
    lyrics: str
    notes: str
    line: int

    @property
    def where(self) -> str:
        return f"line {self.line}"


def _seconds(tok: str, path: Path, no: int) -> float:
    try:
        parts = [float(x) for x in tok.split(":")]
    except ValueError:
        raise SegmentsError(f"{path}:{no}: {tok!r} is not a time (seconds, or m:ss.s)") from None
    value = 0.0
    for x in parts:
        value = value * 60 + x
    return value


def read_segments(path: Union[str, Path]) -> List[Segment]:
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise SegmentsError(f"{path}: cannot read the segments file ({e})") from e
    out: List[Segment] = []
    for no, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        head, sep, notes = line.partition("|")
        parts = head.split(maxsplit=2)
        if not sep or len(parts) != 3 or not notes.strip():
            raise SegmentsError(f"{path}:{no}: expected '<start> <end> <lyrics> | <notes>', got {line.strip()!r}")
        st, et = _seconds(parts[0], path, no), _seconds(parts[1], path, no)
        if not 0 <= st < et:
            raise SegmentsError(f"{path}:{no}: the line must start at or after 0 and end after it starts "
                                f"(got {st:g} .. {et:g} s)")
        if out and st < out[-1].end:
            raise SegmentsError(f"{path}:{no}: starts at {st:g} s, before line {out[-1].line} ends ({out[-1].end:g} s)")
        out.append(Segment(st, et, parts[2].strip(), notes.strip(), no))
    if not out:
        raise SegmentsError(f"{path}: no segment lines")
    return out


def check_segments(segments: List[Segment], path: Union[str, Path], video: Union[str, Path], duration: float,
                   max_seconds: Optional[float] = None, tolerance: float = END_TOLERANCE) -> List[Segment]:
    """SegmentsError naming ``path``:line for the first line longer than ``max_seconds``, starting at or
    after the end of the ``duration``-second ``video`` or ending more than ``tolerance`` after it.

    Returns the lines with an end within the tolerance past the video set to its end."""
    out = []
    for s in segments:
        where = f"{path}:{s.line}"
        if max_seconds is not None and s.end - s.start > max_seconds:
            raise SegmentsError(f"{where}: {s.end - s.start:.1f} s, longer than --max_seconds {max_seconds:g}: "
                                "split the line")
        if s.start >= duration:
            raise SegmentsError(f"{where}: starts at {s.start:g} s, after the end of {video} ({duration:.2f} s)")
        if s.end > duration + tolerance:
            raise SegmentsError(f"{where}: ends at {s.end:g} s, after the end of {video} ({duration:.2f} s): "
                                "end the line within the video")
        out.append(replace(s, end=min(s.end, duration)))
    return out
