"""perform --from_utt: the inputs of one utterance of a stage-1 data dir (api/data_utt.py), on a
tiny data dir written here."""

import json

import pytest

from espnet2_ext.api.data_utt import read_data_utt
from espnet2_ext.api.errors import InputError
from espnet2_ext.bin.perform import check_sources, fill_from_utt, get_parser
from espnet2_ext.data.textgrid_io import write_textgrid


def _utt(d, utt, words, notes):
    media = d.parent / "corpus" / utt
    media.parent.mkdir(parents=True, exist_ok=True)
    t = [(i * 0.5, (i + 1) * 0.5, w) for i, w in enumerate(words)]
    write_textgrid(media.with_suffix(".TextGrid"), [("words", t), ("phones", t)], len(words) * 0.5)
    score = d / "score" / f"{utt}.json"
    score.parent.mkdir(parents=True, exist_ok=True)
    score.write_text(json.dumps({"tempo": 120, "note": [[0, 0.5, w, m, w] for w, m in zip(words, notes)]}))
    return media.with_suffix(".mp4"), media.with_suffix(".wav"), score


@pytest.fixture
def data_dir(tmp_path):
    d = tmp_path / "data" / "test_ood"
    rows = {"u1": (["SP", "雨", "水", "SP"], [0, 60, 62, 0], "SP y u sh ui SP"),
            "u2": (["AP", "月", "亮", "SP"], [0, 64, 65, 0], "AP y ve l iang SP")}
    tables = {"video.scp": [], "wav.scp": [], "score.scp": [], "text": []}
    for utt, (words, notes, phones) in rows.items():
        video, wav, score = _utt(d, utt, words, notes)
        tables["video.scp"].append(f"{utt} {video}\n")
        tables["wav.scp"].append(f"{utt} {wav}\n")
        tables["score.scp"].append(f"{utt} {score}\n")
        tables["text"].append(f"{utt} {phones}\n")
    for name, lines in tables.items():
        (d / name).write_text("".join(lines), encoding="utf-8")
    return d


def test_one_named_utterance(data_dir):
    u = read_data_utt(data_dir, "u2")
    assert (u.utt, u.lyrics, u.notes) == ("u2", "月 亮", "64 65")
    assert u.video.endswith("corpus/u2.mp4") and u.reference.endswith("corpus/u2.wav")


def test_without_a_name_the_first_the_token_list_covers(data_dir):
    tokens = {"SP", "AP", "y", "ve", "l", "iang"}  # not u1's "u", "sh", "ui"
    assert read_data_utt(data_dir, tokens=tokens).utt == "u2"
    with pytest.raises(InputError, match=r"text: no utterance whose phones"):
        read_data_utt(data_dir, tokens={"SP"})


def test_bad_inputs_name_the_file(data_dir, tmp_path):
    with pytest.raises(InputError, match=r"video.scp: no utterance 'u9'"):
        read_data_utt(data_dir, "u9")
    with pytest.raises(InputError, match="not a directory"):
        read_data_utt(tmp_path / "nowhere", "u1")
    (data_dir / "score" / "u1.json").write_text("{}")
    with pytest.raises(InputError, match=r"u1.json: not an espnet score json"):
        read_data_utt(data_dir, "u1")
    (data_dir / "wav.scp").write_text("u1\n")
    with pytest.raises(InputError, match=r"wav.scp:1: expected"):
        read_data_utt(data_dir, "u2")


def test_perform_takes_its_inputs_from_the_utterance(data_dir):
    a = get_parser().parse_args(["--model", "m.zip", "--out", "o", "--from_utt", str(data_dir), "u1"])
    check_sources(a)
    fill_from_utt(a)
    assert (a.lyrics, a.notes) == ("雨 水", "60 62") and a.video.endswith("u1.mp4")


@pytest.mark.parametrize("args,msg", [
    ([], "pass --video and --reference"),
    (["--video", "v.mp4"], "pass --reference"),
    (["--from_utt", "d", "u1", "--lyrics", "x"], "drop --lyrics"),
    (["--from_utt", "d", "u1", "u2"], "at most one UTT"),
])
def test_perform_refuses_mixed_or_missing_sources(args, msg):
    with pytest.raises(InputError, match=msg):
        check_sources(get_parser().parse_args(["--model", "m.zip", "--out", "o"] + args))
