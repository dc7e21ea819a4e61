"""Phone set, lyric -> phones, TextGrid reading/writing."""

import pytest

from espnet2_ext.data.phones import FINALS, INITIALS, PhoneError, lyric_to_phones, normalize_phone
from espnet2_ext.data.textgrid_io import TextGridError, read_textgrid, write_textgrid


def test_phone_set_sizes():
    assert len(INITIALS) == 21
    assert {"v", "ve", "van", "vn", "iou", "uei", "uen"} <= set(FINALS)


def test_lyric_to_phones_strict_pinyin():
    assert lyric_to_phones("你好") == [["n", "i"], ["h", "ao"]]
    assert lyric_to_phones("月亮，我") == [["ve"], ["l", "iang"], ["uo"]]
    assert lyric_to_phones("六贵") == [["l", "iou"], ["g", "uei"]]


def test_lyric_without_pinyin_raises():
    with pytest.raises(PhoneError, match="'x'"):
        lyric_to_phones("你x好")
    with pytest.raises(PhoneError, match="empty"):
        lyric_to_phones("，。")


def test_normalize_phone_aliases():
    assert normalize_phone("sil") == "SP" and normalize_phone("") == "SP" and normalize_phone("<SP>") == "SP"
    assert normalize_phone("br") == "AP" and normalize_phone("breath") == "AP"
    with pytest.raises(PhoneError):
        normalize_phone("qq")


def test_textgrid_round_trip(tmp_path):
    p = tmp_path / "a.TextGrid"
    write_textgrid(p, [("words", [(0, 0.5, "SP"), (0.5, 1.2, "你")]),
                       ("phones", [(0, 0.5, "SP"), (0.5, 0.6, "n"), (0.6, 1.2, "i")])], 1.2)
    tg = read_textgrid(p)
    assert [iv.text for iv in tg["phones"]] == ["SP", "n", "i"]
    assert tg["words"][1].text == "你" and tg["phones"][2].xmax == pytest.approx(1.2)
    assert tg["phones"][1].line > tg["phones"][0].line


SHORT = '''File type = "ooTextFile"
Object class = "TextGrid"

0
1.0
<exists>
1
"IntervalTier"
"phones"
0
1.0
2
0
0.4
"sil"
0.4
1.0
"a"
'''


def test_textgrid_short_format_and_garbage(tmp_path):
    p = tmp_path / "s.TextGrid"
    p.write_text(SHORT)
    tg = read_textgrid(p)
    assert [(iv.xmin, iv.xmax, iv.text) for iv in tg["phones"]] == [(0, 0.4, "sil"), (0.4, 1.0, "a")]
    bad = tmp_path / "bad.TextGrid"
    bad.write_text("hello")
    with pytest.raises(TextGridError, match="bad.TextGrid"):
        read_textgrid(bad)


def test_textgrid_truncated_is_an_error_naming_the_file(tmp_path):
    good = tmp_path / "g.TextGrid"
    write_textgrid(good, [("phones", [(0, 0.5, "SP"), (0.5, 1.0, "a")])], 1.0)
    cut = tmp_path / "cut.TextGrid"
    cut.write_text("\n".join(good.read_text().splitlines()[:-4]) + "\n")
    with pytest.raises(TextGridError, match="cut.TextGrid"):
        read_textgrid(cut)


def test_textgrid_lines_point_at_interval_texts(tmp_path):
    p = tmp_path / "a.TextGrid"
    write_textgrid(p, [("words", [(0, 1.0, "你")]), ("phones", [(0, 0.5, "n"), (0.5, 1.0, "i")])], 1.0)
    lines = p.read_text(encoding="utf-8").splitlines()
    tg = read_textgrid(p)
    for iv in tg["phones"] + tg["words"]:
        assert f'"{iv.text}"' in lines[iv.line - 1]
