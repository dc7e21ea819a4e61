"""Lyrics -> phones: Chinese characters and pinyin, the proxy characters of pinyin syllables, and the
one-line errors that name the file, the line and the character."""

import pytest
from pypinyin import Style, lazy_pinyin

from espnet2_ext.annotate.lyrics import LyricsError, parse_line, parse_pinyin, proxy_char, read_lyrics
from espnet2_ext.data.demo_lyrics import LYRICS, NEW_LYRICS
from espnet2_ext.data.phones import PhoneError, lyric_to_phones, lyric_to_syllables


def test_parse_pinyin_agrees_with_pypinyin_on_every_demo_syllable():
    for line in LYRICS + NEW_LYRICS:
        for tone3, syl in zip(lazy_pinyin(line, style=Style.TONE3), lyric_to_syllables(line)):
            assert parse_pinyin(tone3) == syl, tone3


@pytest.mark.parametrize("token, want", [("yuè", ("", "ve")), ("lü", ("l", "v")), ("lv4", ("l", "v")),
                                         ("wo", ("", "uo")), ("yi", ("", "i")), ("jun", ("j", "vn")),
                                         ("gui", ("g", "uei")), ("liu", ("l", "iou")), ("lun", ("l", "uen")),
                                         ("zhuang", ("zh", "uang")), ("Er2", ("", "er"))])
def test_parse_pinyin_spellings(token, want):
    assert parse_pinyin(token) == want


@pytest.mark.parametrize("token", ["nihao", "abc", "x1y", "hng"])
def test_parse_pinyin_refuses_what_is_not_one_syllable(token):
    with pytest.raises(PhoneError, match=repr(token)):
        parse_pinyin(token)


def test_pinyin_line_gives_the_phones_of_the_characters_and_proxies_that_read_back():
    chars = parse_line("月亮照在小河上")
    pinyin = parse_line("yue4 liang4 zhao4 zai4 xiao3 he2 shang4")
    assert [s.phones for s in pinyin] == [s.phones for s in chars] == lyric_to_phones("月亮照在小河上")
    assert [s.label for s in chars] == list("月亮照在小河上")
    proxies = "".join(s.label for s in pinyin)  # the reader turns the words tier back with pypinyin
    assert lyric_to_phones(proxies) == lyric_to_phones("月亮照在小河上")
    assert proxy_char(("sh", "ang")) is not None


def test_read_lyrics_skips_blank_and_comment_lines_and_keeps_line_numbers(tmp_path):
    p = tmp_path / "song.txt"
    p.write_text("# title\n\n月亮照在小河上\nwo zai yuan fang\n", encoding="utf-8")
    lines = read_lyrics(p)
    assert [x.no for x in lines] == [3, 4] and lines[1].phones == ["uo", "z", "ai", "van", "f", "ang"]


@pytest.mark.parametrize("text, match", [
    ("月亮照在小河上\n我在远方想着ABC\n", r"song\.txt:2: lyric line .*character 'A' has no pinyin"),
    ("hello world\n", r"song\.txt:1: .*'hello' is not a pinyin syllable"),
    ("\n# nothing\n", r"song\.txt: no lyric line"),
])
def test_bad_lyrics_are_one_line_naming_file_and_line(tmp_path, text, match):
    p = tmp_path / "song.txt"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(LyricsError, match=match) as e:
        read_lyrics(p)
    assert "\n" not in str(e.value)


def test_lyrics_not_utf8_is_named(tmp_path):
    p = tmp_path / "song.txt"
    p.write_bytes("月亮".encode("gbk"))
    with pytest.raises(LyricsError, match=r"song\.txt: not UTF-8"):
        read_lyrics(p)
