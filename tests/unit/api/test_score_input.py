"""Lyrics and notes of a user -> phones and per-phone MIDI (espnet2_ext/api/score_input.py), no model."""

import pytest

from espnet2_ext.api.score_input import ScoreInputError, note_to_midi, parse_lyrics, parse_notes, phone_inputs
from espnet2_ext.data.phones import lyric_to_phones


def _phones(sylls):
    return [s.phones for s in sylls]


def test_characters_follow_the_data_prep_rules_and_get_outer_rests():
    sylls = parse_lyrics("月亮照在 小河上")
    assert _phones(sylls) == [["SP"]] + lyric_to_phones("月亮照在小河上") + [["SP"]]
    assert _phones(parse_lyrics("AP 月亮 SP")) == [["AP"], ["ve"], ["l", "iang"], ["SP"]]


def test_pinyin_gives_the_phones_of_the_characters():
    assert _phones(parse_lyrics("yue4 liang zhao4 zai xiao he2 shang")) == _phones(parse_lyrics("月亮照在小河上"))
    assert _phones(parse_lyrics("lv nü you wei", pad=False)) == [["l", "v"], ["n", "v"], ["iou"], ["uei"]]


def test_note_names_and_numbers():
    assert parse_notes("C4 F#3, Bb4 60 A3") == [60, 54, 70, 60, 57]
    assert note_to_midi("E♭4", 1) == 63
    for bad, msg in (("C7", "MIDI 96, outside"), ("H4", "not a MIDI number"), ("30", "MIDI 30, outside")):
        with pytest.raises(ScoreInputError, match=msg):
            parse_notes(bad)


def test_phone_inputs_put_each_note_on_its_syllable_and_zero_on_rests():
    phones, midi, counts = phone_inputs(parse_lyrics("你 AP 好"), [60, 62])
    assert phones == ["SP", "n", "i", "AP", "h", "ao", "SP"]
    assert midi == [0, 60, 60, 0, 62, 62, 0] and counts == [1, 2, 1, 2, 1]
    with pytest.raises(ScoreInputError, match="3 notes for 2 sung syllables"):
        phone_inputs(parse_lyrics("你好"), [60, 62, 64])
