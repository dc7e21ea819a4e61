"""--segments lines against the video: a line that ends after it is an error naming the file, the
line and the video's duration (one video frame of tolerance), found before anything is sung."""

import pytest

from espnet2_ext.api.segments import END_TOLERANCE, SegmentsError, check_segments, read_segments


def _segments(tmp_path, text):
    path = tmp_path / "lines.txt"
    path.write_text(text, encoding="utf-8")
    return path, read_segments(path)


def test_a_line_ending_after_the_video_names_file_line_and_duration(tmp_path):
    path, segs = _segments(tmp_path, "# a song\n0 3.5 月亮 | A3 B3\n4 12 照在 | C4 C4\n")
    with pytest.raises(SegmentsError) as e:
        check_segments(segs, path, "clip.mp4", 5.0)
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path}:3: ends at 12 s, after the end of clip.mp4 (5.00 s)")


def test_every_line_is_checked_not_only_the_first(tmp_path):
    path, segs = _segments(tmp_path, "0 1 月 | A3\n1 2 亮 | B3\n2 3 照 | C4\n3 6 在 | C4\n")
    with pytest.raises(SegmentsError, match=r"lines.txt:4: ends at 6 s"):
        check_segments(segs, path, "clip.mp4", 5.0)


def test_one_video_frame_of_rounding_is_allowed_and_clamped(tmp_path):
    path, segs = _segments(tmp_path, f"1 {5.0 + END_TOLERANCE:g} 月亮 | A3 B3\n")
    (seg,) = check_segments(segs, path, "clip.mp4", 5.0)
    assert END_TOLERANCE == pytest.approx(0.04)
    assert (seg.start, seg.end, seg.line) == (1.0, 5.0, 1)
    path, segs = _segments(tmp_path, "1 5.05 月亮 | A3 B3\n")
    with pytest.raises(SegmentsError, match=r"lines.txt:1: ends at 5.05 s, after the end of clip.mp4 \(5.00 s\)"):
        check_segments(segs, path, "clip.mp4", 5.0)


def test_start_after_the_video_and_too_long_lines(tmp_path):
    path, segs = _segments(tmp_path, "0 1 月 | A3\n6 7 亮 | B3\n")
    with pytest.raises(SegmentsError, match=r"lines.txt:2: starts at 6 s, after the end of clip.mp4 \(5.00 s\)"):
        check_segments(segs, path, "clip.mp4", 5.0)
    path, segs = _segments(tmp_path, "0 4 月 | A3\n")
    with pytest.raises(SegmentsError, match=r"lines.txt:1: 4.0 s, longer than --max_seconds 3"):
        check_segments(segs, path, "clip.mp4", 5.0, max_seconds=3)
    assert check_segments(segs, path, "clip.mp4", 5.0) == segs
