"""Cutting at rests between lines, notes from F0, review ranking and the reviewed-TextGrid rule."""

import numpy as np
import pytest

from espnet2_ext.annotate.align import AlignedUnit
from espnet2_ext.annotate.notes import mode_semitone, syllable_notes
from espnet2_ext.annotate.review import (UttReview, is_reviewed, read_written, sha1, write_review, write_written)
from espnet2_ext.annotate.segment import cut_song, group_lines, utterance_units


def test_cuts_at_long_rests_only_and_joins_short_stretches():
    spans = [(1.0, 3.5), (4.0, 6.0), (6.1, 8.5), (9.5, 10.8), (12.0, 14.0)]
    # rests: 0.5 (cut), 0.1 (no cut), 1.0 (cut), 1.2 (cut); line 3 alone is 1.3 s -> joins line 4 across 1.2 s?
    # no: it joins the neighbour across the shorter rest (1.0 s, the lines before)
    assert group_lines(spans, min_rest=0.3, min_seconds=2.0, max_seconds=15.0) == [[0], [1, 2, 3], [4]]


def test_a_stretch_over_the_maximum_is_cut_at_its_longest_rest():
    spans, t = [], 0.5
    for k in range(8):  # 8 lines of 2.7 s, rests of 0.3 s but 0.5 s after the fourth: none cuts at 0.6 s
        spans.append((t, t + 2.7))
        t += 2.7 + (0.5 if k == 3 else 0.3)
    groups = group_lines(spans, min_rest=0.6, max_seconds=15.0)
    assert groups == [[0, 1, 2, 3], [4, 5, 6, 7]]


def _units(spec):
    """[(phone, line, syllable, st, et)] -> AlignedUnits (frames from 10 ms times)."""
    return [AlignedUnit(p, li, s, "phone" if li >= 0 else "gap", st, et, int(round(st * 100)), int(round(et * 100)))
            for p, li, s, st, et in spec]


SONG = _units([("SP", -1, -1, 0.0, 1.013), ("n", 0, 0, 1.013, 1.1), ("i", 0, 0, 1.1, 2.0), ("h", 0, 1, 2.0, 2.1),
               ("ao", 0, 1, 2.1, 3.3), ("SP", -1, -1, 3.3, 3.9), ("AP", -1, -1, 3.9, 4.107), ("uo", 1, 2, 4.107, 6.5),
               ("SP", -1, -1, 6.5, 7.0)])


def test_cut_song_snaps_to_video_frames_inside_the_rests_and_keeps_whole_lines():
    utts = cut_song(SONG, 7.0, pad=0.05)
    assert [u.lines for u in utts] == [[0], [1]]
    for u in utts:
        assert abs(u.start * 25 - round(u.start * 25)) < 1e-6 and abs(u.end * 25 - round(u.end * 25)) < 1e-6
    assert 0.96 - 1e-6 <= utts[0].start <= 1.013 - 0.02 and 3.3 + 0.02 <= utts[0].end <= 3.6
    assert 3.6 <= utts[1].start <= 4.107 - 0.02
    units = utterance_units(SONG, utts[1])
    assert [u.phone for u in units] == ["AP", "uo", "SP"] and units[0].st == 0.0
    assert units[-1].et == pytest.approx(utts[1].end - utts[1].start)


def test_mode_semitone_with_vibrato_and_a_glide():
    t = np.arange(100) / 100
    f0 = 440 * 2 ** ((0.6 * np.sin(2 * np.pi * 5.5 * t)) / 12)  # A4 with a 60-cent vibrato
    f0[:8] = 440 * 2 ** (-3 / 12)  # a glide from F#4
    f0[50:55] = 0
    assert mode_semitone(f0) == (69, 95)
    assert mode_semitone(np.zeros(5)) == (0, 0)


def test_syllable_notes_initial_shares_the_note_and_unvoiced_takes_the_neighbour():
    f0 = np.zeros(700)
    f0[110:200] = 261.63  # C4 on "n i"
    f0[210:330] = 293.66  # D4 on "h ao"
    notes = syllable_notes(SONG, f0)
    assert notes[0][0] == 60 and notes[1][0] == 62 and notes[2][0] == 0  # line 1's only syllable: unvoiced
    f0[420:600] = 329.63
    assert syllable_notes(SONG, f0)[2][0] == 64


def test_reviewed_by_marker_or_by_edit(tmp_path):
    d = tmp_path / "singerA"
    d.mkdir()
    tg = d / "u1.TextGrid"
    tg.write_text("written by the annotator")
    written = {"singerA/u1.TextGrid": sha1(tg)}
    write_written(tmp_path / ".annotate" / "written.tsv", written)
    assert read_written(tmp_path / ".annotate" / "written.tsv") == written
    assert not is_reviewed(tmp_path, "singerA/u1.TextGrid", written)
    (d / "u1.reviewed").touch()
    assert is_reviewed(tmp_path, "singerA/u1.TextGrid", written)
    (d / "u1.reviewed").unlink()
    tg.write_text("corrected in Praat")
    assert is_reviewed(tmp_path, "singerA/u1.TextGrid", written)


def test_review_tsv_worst_first_reviewed_last(tmp_path):
    rows = [UttReview("a", "s/x", 0, 1, -0.5, 0, 0, 0), UttReview("b", "s/x", 1, 2, -3.0, 2, 1, 0),
            UttReview("c", "s/x", 2, 3, -9.0, 0, 0, 0, status="reviewed")]
    write_review(tmp_path / "review.tsv", rows)
    lines = (tmp_path / "review.tsv").read_text().splitlines()
    assert lines[0].startswith("rank\tutt") and [ln.split("\t")[1] for ln in lines[1:]] == ["b", "a", "c"]


def test_shift_rest_edges_lengthens_silences_only_and_keeps_short_phones():
    from espnet2_ext.annotate.align import MIN_UNIT_S, shift_rest_edges

    units = _units([("SP", -1, -1, 0.0, 1.0), ("n", 0, 0, 1.0, 1.1), ("i", 0, 0, 1.1, 2.0), ("SP", -1, -1, 2.0, 2.5),
                    ("AP", -1, -1, 2.5, 2.8), ("h", 0, 1, 2.8, 2.805), ("ao", 0, 1, 2.805, 3.3), ("SP", -1, -1, 3.3, 3.4),
                    ("d", 1, 2, 3.4, 3.405), ("a", 1, 2, 3.405, 4.0)])
    shift_rest_edges(units, 0.01, 0.02)
    spans = [(u.phone, round(u.st, 6), round(u.et, 6)) for u in units]
    assert spans[:4] == [("SP", 0.0, 1.01), ("n", 1.01, 1.1), ("i", 1.1, 1.98), ("SP", 1.98, 2.5)]
    assert spans[4:7] == [("AP", 2.5, 2.8), ("h", 2.8, 2.805), ("ao", 2.805, 3.28)]  # breaths keep their edges
    assert spans[8] == ("d", 3.4, 3.405)  # already shorter than MIN_UNIT_S: left as it is, never reversed
    assert all(a.et == b.st for a, b in zip(units[:-1], units[1:]))
    units = _units([("SP", -1, -1, 0.0, 1.0), ("n", 0, 0, 1.0, 1.1)])
    shift_rest_edges(units, 0.5, 0.0)  # capped: the phone keeps MIN_UNIT_S
    assert units[1].et - units[1].st == pytest.approx(MIN_UNIT_S)
