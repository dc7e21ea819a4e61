"""A user's video -> the lip stream of the model (stage 3's crops), at 25 fps whatever the input.

    in.mp4 (any fps, any size, audio or not) --probe (utils/media.py)-->
      no cut: read as is (stage 3's reader resamples another frame rate to 25 fps by timestamp,
              lip/video_io.py, so perform and stage 3 see the same frames)
      a [start, end) cut: ffmpeg cut + fps filter -> a temporary file at 25 fps
      --stage 3's crop function (lip_crops: the one import of the lip ROI extractor)-->
      (T_v, 96, 96) uint8 crops, T_v = round(25 x seconds)

Errors (VideoError) name the video: missing or unreadable, no detectable face (with the frames),
too short for its phones, too long without --segments / --start / --end.
"""

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np

from espnet2_ext.api.errors import InputError
from espnet2_ext.lip.video_io import EXPECTED_FPS
from espnet2_ext.utils.frames import frame_ranges
from espnet2_ext.utils.media import VideoInfo, probe_video, to_fps

VIDEO_FPS = EXPECTED_FPS  # the rate of the lip stream in training (stage 3) and of the model's video_fps
MIN_SECONDS_PER_PHONE = 0.04  # one video frame per phone at least


class VideoError(InputError):
    """A video that cannot give a lip stream."""


def make_lip_extractor(roi_conf: Optional[dict] = None):
    """Stage 3's mouth-crop extractor, built by the function stage 3 calls (lip/front_end.py) from
    the explicit front end a pack records: video path -> track with ``.crops``. A front end that
    cannot run here is a VideoError saying what to install."""
    from espnet2_ext.lip.front_end import build_extractor

    try:
        return build_extractor(roi_conf)
    except (ImportError, ValueError) as e:
        raise VideoError(f"lip front end {dict(roi_conf or {}).get('front_end', 'auto')}: {e}") from e


def lip_errors():
    """The extractor's error classes: (unreadable video, no face)."""
    from espnet2_ext.lip.roi import NoFaceError
    from espnet2_ext.lip.video_io import VideoReadError

    return VideoReadError, NoFaceError


@dataclass
class Clip:
    """The lip stream of one sung line of a video."""

    video: Path  # the user's file
    start: float  # seconds into it where the line (and crops[0]) begins
    crops: np.ndarray  # (T_v, 96, 96) uint8 at VIDEO_FPS
    info: VideoInfo

    @property
    def seconds(self) -> float:
        return len(self.crops) / VIDEO_FPS


def _faceless_frames(extractor, src: Path) -> str:
    """'; no face in frames 0-12, 40-49' from the extractor's detection pass, when it has one."""
    track = getattr(extractor, "track", None)
    if track is None:
        return ""
    from espnet2_ext.lip.video_io import GrayVideo

    raw = track(GrayVideo(src))[0]
    missing = np.isnan(np.asarray(raw, float)[:, 0])
    return f"; no face in frames {frame_ranges(missing)} (0-based at {VIDEO_FPS:g} fps)" if missing.any() else ""


def inspect_video(path: Union[str, Path]) -> VideoInfo:
    """VideoInfo of ``path``; VideoError when it is missing or unreadable."""
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path}: video file not found")
    try:
        info = probe_video(path)
    except ValueError as e:
        raise VideoError(str(e)) from e
    if info.duration <= 0 or info.fps <= 0:
        raise VideoError(f"{path}: unreadable video (duration {info.duration} s, {info.fps} fps)")
    return info


def check_length(path, seconds: float, n_phones: int, where: str = "") -> None:
    """VideoError when ``seconds`` of video give under MIN_SECONDS_PER_PHONE per phone."""
    if seconds < MIN_SECONDS_PER_PHONE * n_phones:
        raise VideoError(f"{path}{where}: {seconds:.2f} s of video for {n_phones} phones; each phone needs at least "
                         f"{MIN_SECONDS_PER_PHONE * 1000:.0f} ms (one video frame): give a longer video or fewer "
                         "syllables")


def read_clip(extractor, path: Union[str, Path], info: VideoInfo, start: Optional[float] = None,
              end: Optional[float] = None) -> Clip:
    """Crops of ``path`` (or of its [start, end) part) at VIDEO_FPS through ``extractor``."""
    path = Path(path)
    read_error, no_face = lip_errors()
    with tempfile.TemporaryDirectory(prefix="perform_clip_") as tmp:
        src = path
        if start is not None or end is not None:
            src = Path(tmp) / "clip25.mp4"
            logging.info("%s: %.3f fps%s -> %g fps", path, info.fps,
                         f", [{start or 0:.2f}, {end if end is not None else info.duration:.2f}) s"
                         if start is not None or end is not None else "", VIDEO_FPS)
            try:
                to_fps(path, src, VIDEO_FPS, start, end)
            except RuntimeError as e:
                raise VideoError(f"{path}: unreadable video ({e})") from e
        try:
            track = extractor(str(src))
        except read_error as e:
            raise VideoError(f"{path}: unreadable video ({e})") from e
        except no_face as e:
            raise VideoError(f"{path}: no detectable face ({str(e).replace(str(src), 'the video')}"
                             f"{_faceless_frames(extractor, src)})") from e
    missing = ~np.asarray(track.detected, bool)
    if missing.any():
        logging.warning("%s: no face detected in frames %s (of %d, 0-based at %g fps): the mouth track is "
                        "interpolated there", path, frame_ranges(missing), len(missing), VIDEO_FPS)
    return Clip(path, float(start or 0.0), np.asarray(track.crops), info)
