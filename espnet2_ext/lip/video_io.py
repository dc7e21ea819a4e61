"""Decoding a video into grayscale frames, with errors that name the file.

    <utt>.mp4 (any FFmpeg-readable container) --cv2.VideoCapture--> BGR frames
      --cvtColor--> (H, W) uint8 gray, one per decoded frame (T_v frames in all)

OpenCV's FFmpeg backend is tried first; when it cannot open a file, the ffmpeg binary shipped by
``imageio-ffmpeg`` decodes it through a raw gray8 pipe. Small videos are kept in memory after the
first pass; large ones are decoded again for each pass (tracking and cropping are two passes).
A video at another frame rate than 25 fps is resampled to 25 fps by timestamp (each output frame
k is the source frame nearest to k / 25 s), so the lip frames keep the audio's clock.
"""

import logging
import subprocess
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import cv2
import numpy as np

EXPECTED_FPS = 25.0


def resample_by_time(frames_ts: Iterator[Tuple[np.ndarray, float]], src_period: float,
                     fps: float = EXPECTED_FPS) -> Iterator[np.ndarray]:
    """(frame, timestamp s) in time order -> frames at k / fps, each the source frame nearest in
    time; the output spans the source (last timestamp + ``src_period``)."""
    prev, k = None, 0
    for frame, t in frames_ts:
        if prev is not None:
            mid = (prev[1] + t) / 2
            while k / fps < mid:
                yield prev[0]
                k += 1
        prev = (frame, t)
    if prev is not None:
        n_out = int(round((prev[1] + src_period) * fps))
        while k < max(n_out, 1):
            yield prev[0]
            k += 1


class VideoReadError(RuntimeError):
    """A video that is missing, cannot be decoded, or holds no frame; the message names the file."""


def _probe_ffmpeg(path: Path) -> Tuple[int, int, float]:
    """(width, height, fps) of the first video stream, from the ffmpeg binary's stderr banner."""
    import imageio_ffmpeg

    proc = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
                          capture_output=True, text=True, errors="replace")
    for line in proc.stderr.splitlines():
        if "Video:" not in line:
            continue
        size, fps = None, 0.0
        for tok in line.split(","):
            tok = tok.strip().split(" ")[0]
            if "x" in tok and all(p.isdigit() for p in tok.split("x")) and size is None:
                size = tuple(int(p) for p in tok.split("x"))
        for part in line.split(","):
            part = part.strip()
            if part.endswith(" fps"):
                fps = float(part[:-4])
        if size:
            return size[0], size[1], fps
    raise VideoReadError(f"{path}: no video stream found by ffmpeg ({proc.stderr.strip()[-200:]})")


class GrayVideo:
    """Re-iterable grayscale frames of one video file.

    Args:
        path: video file (mp4, mkv, avi, ... anything FFmpeg reads).
        cache_bytes: keep decoded frames in memory when T * H * W stays below this many bytes,
            so the second pass does not decode again.
    """

    def __init__(self, path, cache_bytes: int = 256 * 2**20):
        self.path = Path(path)
        if not self.path.is_file():
            raise VideoReadError(f"{self.path}: video file not found")
        self.cache_bytes = cache_bytes
        self._cache: Optional[List[np.ndarray]] = None
        self.backend = "opencv"
        cap = cv2.VideoCapture(str(self.path))
        ok = cap.isOpened()
        if ok:
            self.fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
            self.width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
            self.height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        cap.release()
        if not ok:
            self.backend = "ffmpeg"
            self.width, self.height, self.fps = _probe_ffmpeg(self.path)
        self.source_fps = self.fps
        self.resampled = bool(self.fps) and abs(self.fps - EXPECTED_FPS) > 0.01
        if self.resampled:
            logging.info("%s: %.3f fps: resampled to %g fps by timestamp", self.path, self.fps, EXPECTED_FPS)
            self.fps = EXPECTED_FPS

    def _decode_opencv(self) -> Iterator[Tuple[np.ndarray, float]]:
        """-> ((H, W) uint8, timestamp s): the container's time stamps, or i / fps when they are
        missing or not increasing."""
        cap = cv2.VideoCapture(str(self.path))
        last, i = -1.0, 0
        try:
            while True:
                ok, frame = cap.read()
                if not ok:
                    break
                if frame.ndim == 3:
                    frame = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
                t = float(cap.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0
                if not t > last and self.source_fps:
                    t = i / self.source_fps
                last, i = t, i + 1
                yield frame, t
        finally:
            cap.release()

    def _decode_ffmpeg(self) -> Iterator[Tuple[np.ndarray, float]]:
        import imageio_ffmpeg

        cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i", str(self.path), "-map", "0:v:0",
               "-f", "rawvideo", "-pix_fmt", "gray", "-threads", "1", "-"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        n, n_read = self.width * self.height, 0
        try:
            while True:
                buf = proc.stdout.read(n)
                if len(buf) < n:
                    break
                yield np.frombuffer(buf, np.uint8).reshape(self.height, self.width), n_read / (self.source_fps or 25.0)
                n_read += 1
        finally:
            proc.stdout.close()
            err = proc.stderr.read().decode(errors="replace")
            proc.wait()
            if proc.returncode not in (0, None) and err:
                logging.warning("%s: ffmpeg: %s", self.path, err.strip()[-300:])

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._cache is not None:
            yield from self._cache
            return
        frames, size, n = [], 0, 0
        decoded = self._decode_opencv() if self.backend == "opencv" else self._decode_ffmpeg()
        if self.resampled:
            stream = resample_by_time(decoded, 1.0 / self.source_fps)
        else:
            stream = (f for f, _ in decoded)
        for frame in stream:
            n += 1
            if frames is not None:
                size += frame.nbytes
                if size <= self.cache_bytes:
                    frames.append(frame)
                else:
                    frames = None
            yield frame
        if n == 0:
            raise VideoReadError(f"{self.path}: no decodable video frame (corrupt or not a video)")
        self._cache = frames

    def __repr__(self) -> str:
        return f"GrayVideo({str(self.path)!r}, {self.width}x{self.height}, {self.fps:g} fps, {self.backend})"

