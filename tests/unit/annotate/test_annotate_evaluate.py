"""annotate/evaluate.py: an annotated corpus scored against a song's truth (cuts, boundaries, rest edges, notes)."""

import pytest

from espnet2_ext.annotate.evaluate import score_song, summarise
from espnet2_ext.data.textgrid_io import write_textgrid

# one line "ni hao" in a song: rest 0-1.0, n 1.0-1.1, i 1.1-1.5, rest 1.5-1.6, h 1.6-1.7, ao 1.7-2.2, rest to 3.0
TRUTH = {"lines": [{"text": "你好", "start": 1.0, "end": 2.2}],
         "phones": [[0.0, 1.0, "SP", 0, -1], [1.0, 1.1, "n", 60, 0], [1.1, 1.5, "i", 60, 0], [1.5, 1.6, "SP", 0, -1],
                    [1.6, 1.7, "h", 62, 1], [1.7, 2.2, "ao", 62, 1], [2.2, 3.0, "SP", 0, -1]],
         "syllables": [[1.0, 1.5, "你", 60, 0], [1.6, 2.2, "好", 62, 0]]}


def _corpus(tmp_path, phones, notes, start=0.9, end=2.3):
    """One utterance cut from ``start`` to ``end`` of the song; phones in song time."""
    d = tmp_path / "singerE"
    d.mkdir(parents=True, exist_ok=True)
    local = [(a - start, b - start, p) for a, b, p in phones]
    write_textgrid(d / "u1.TextGrid", [("words", local), ("phones", local)], end - start)
    (d / "u1.notes").write_text("".join(f"{p} {n}\n" for (_, _, p), n in zip(phones, notes)), encoding="utf-8")
    return [("u1", start, end)]


def test_rest_edges_are_the_signed_errors_next_to_rests_only(tmp_path):
    # every onset after a rest 20 ms early, every offset before one 10 ms late, the inner boundaries exact
    phones = [(0.9, 0.98, "SP"), (0.98, 1.1, "n"), (1.1, 1.51, "i"), (1.51, 1.58, "SP"), (1.58, 1.7, "h"),
              (1.7, 2.21, "ao"), (2.21, 2.3, "SP")]
    utts = _corpus(tmp_path, phones, [0, 60, 60, 0, 62, 62, 0])
    r = summarise([score_song(tmp_path, "singerE/song", utts, TRUTH)])
    assert r["rest_onset_err_ms_mean"] == pytest.approx(-20.0, abs=1e-3)  # n and h
    assert r["rest_offset_err_ms_mean"] == pytest.approx(10.0, abs=1e-3)  # i and ao
    assert r["boundaries"] == 8 and r["boundaries_within_20ms"] == 1.0
    assert r["cut_err_ms_max"] == pytest.approx(100.0, abs=1e-3) and r["lines_whole"] == 1.0
    assert r["notes_exact"] == 1.0


def test_a_wrong_note_and_a_line_cut_through_are_counted(tmp_path):
    phones = [(0.9, 1.0, "SP"), (1.0, 1.1, "n"), (1.1, 1.5, "i"), (1.5, 1.6, "SP"), (1.6, 1.7, "h"), (1.7, 2.2, "ao"),
              (2.2, 2.3, "SP")]
    r = summarise([score_song(tmp_path, "singerE/song", _corpus(tmp_path, phones, [0, 60, 60, 0, 61, 61, 0]), TRUTH)])
    assert r["notes_exact"] == 0.5 and r["rest_onset_err_ms_mean"] == pytest.approx(0.0, abs=1e-6)
    r = summarise([score_song(tmp_path, "singerE/song", _corpus(tmp_path, phones[:3], [0, 60, 60], end=1.55), TRUTH)])
    assert r["lines_whole"] == 0.0 and r["boundaries"] == 0 and r["rest_onset_err_ms_mean"] is None


def test_cached_demo_songs_makes_the_songs_once_per_arguments(tmp_path, monkeypatch):
    from espnet2_ext.data import demo_songs

    calls = []
    monkeypatch.setattr(demo_songs, "make_demo_songs", lambda out, **kw: calls.append(kw))
    args = dict(singers=["singerE"], songs_per_singer=1, seed=3, seconds=(20.0, 30.0))
    assert demo_songs.cached_demo_songs(tmp_path / "songs", tmp_path / "songs.json", nj=2, **args)
    assert not demo_songs.cached_demo_songs(tmp_path / "songs", tmp_path / "songs.json", nj=1, **args)  # nj: same songs
    assert demo_songs.cached_demo_songs(tmp_path / "songs", tmp_path / "songs.json", **{**args, "seed": 4})
    assert [c["seed"] for c in calls] == [3, 4] and all(c["overwrite"] for c in calls)
