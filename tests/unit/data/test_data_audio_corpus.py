"""Audio-only corpora for stage one (audio_corpus.py, opencpop.py, m4singer.py): the demo
synthesiser's songs in each layout parse back to the phones they were sung from; every kind of bad
line is one error naming its file and line (M4Singer: meta.json and the item's index)."""

import json
import random
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from espnet2_ext.bin import prepare_stage_one_corpora
from espnet2_ext.data.audio_corpus import (MIDI_MAX, PhoneMapError, corpus_spelling, map_phones, note_name_to_midi,
                                           parse_corpora, prepare_corpus, read_corpus)
from espnet2_ext.data.demo_corpus import (AUDIO_ONLY_INDEX, AUDIO_ONLY_SINGERS, LYRIC_SETS, LYRIC_STREAMS, LYRICS,
                                          add_slurs, make_audio_only_corpus, plan_utterance)
from espnet2_ext.data.m4singer import held_out
from espnet2_ext.data.phones import PHONES, lyric_to_phones
from espnet2_ext.data.visualsinger import CorpusError
from tests.support.paths import RECIPE
from tests.support.shell import run

FS = 16000  # the corpora's rate here; the data dirs are written at 22050 Hz (resampled)


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    root = tmp_path_factory.mktemp("audio_only")
    make_audio_only_corpus(root / "cpop", "opencpop", utts_per_singer=3, fs=FS)
    make_audio_only_corpus(root / "m4", "m4singer", singers=["singerI", "singerJ"], utts_per_singer=2, fs=FS)
    return root


@pytest.fixture
def copy(corpora, tmp_path):
    def _copy(name):
        dst = tmp_path / name
        shutil.copytree(corpora / name, dst)
        return dst
    return _copy


def _planned_text(singer: str, ui: int) -> list:
    """The project's phones the generator sang utterance ``ui`` of ``singer`` from (slurs repeated)."""
    si = AUDIO_ONLY_INDEX[singer]
    rng = np.random.default_rng(np.random.SeedSequence([0, si, ui, 2, *LYRIC_STREAMS["demo"][1]]))
    utt = plan_utterance("x", AUDIO_ONLY_SINGERS[si], rng, LYRIC_SETS["demo"])
    return [ph for _, _, ph, *_ in add_slurs(utt, rng)]


def _check_record(rec, planned):
    assert [p for *_, p in rec.phones] == planned
    assert all(p in PHONES for *_, p in rec.phones)
    assert rec.phones[0][0] == 0 and all(a[1] == b[0] for a, b in zip(rec.phones, rec.phones[1:]))
    assert abs(rec.phones[-1][1] - sf.info(str(rec.wav)).duration) < 1e-3
    # espnet's SVSPreprocessor walks the notes' phones along the label: the same sequence
    assert [p for n in rec.notes for p in n[4].split("_")] == planned
    for prev, note in zip(rec.notes, rec.notes[1:]):
        assert prev[1] == note[0]
        if note[2] == "—":  # a slur: the final of the note before, sung on another note
            assert note[4] == prev[4].split("_")[-1] and note[3] > 0
    assert all(n[3] == 0 for n in rec.notes if n[2] in ("SP", "AP"))


def test_opencpop_layout_parses_back_to_the_phones_it_was_sung_from(corpora):
    txt = (corpora / "cpop" / "segments" / "train.txt").read_text()
    assert " y " in txt or " w " in txt, "the generator writes glides as Opencpop does"
    recs = read_corpus("opencpop", "opencpop", corpora / "cpop")
    assert [r.utt for r in recs] == ["opencpop-2001000001", "opencpop-2001000002", "opencpop-2001000003"]
    assert {r.spk for r in recs} == {"opencpop"}
    for ui, rec in enumerate(recs):
        _check_record(rec, _planned_text("singerH", ui))
    assert any(n[2] == "—" for r in recs for n in r.notes), "no slur in the fixture"
    lyrics = {ln.split("|")[0]: ln.split("|")[1] for ln in txt.splitlines()}
    assert "".join(n[2] for n in recs[0].notes if n[2] not in ("SP", "AP", "—")) == lyrics["2001000001"]


def test_m4singer_layout_parses_back_to_the_phones_it_was_sung_from(corpora):
    meta = json.loads((corpora / "m4" / "meta.json").read_text())
    assert meta[0]["item_name"] == "singerI#练习曲 一#0000" and "<SP>" in meta[0]["phs"]
    recs = read_corpus("m4singer", "m4singer", corpora / "m4")
    assert {r.spk for r in recs} == {"m4singer-singerI", "m4singer-singerJ"}
    assert recs[0].utt == "m4singer-singerI-U7EC3U4E60U66F2U0020U4E00-0000"
    for rec in recs:
        singer, ui = rec.utt.split("-")[1], int(rec.utt.split("-")[-1])
        _check_record(rec, _planned_text(singer, ui))


def test_data_dir_has_the_visualsinger_tables_without_video_and_resampled_audio(corpora, tmp_path):
    stats = prepare_corpus("m4singer", "m4singer", corpora / "m4", tmp_path / "data", 22050, nj=2)
    assert stats["utterances"] == 4 and stats["speakers"] == 2
    d = tmp_path / "data" / "m4singer_train"
    assert sorted(p.name for p in d.iterdir()) == ["label", "score", "score.scp", "spk2utt", "text", "utt2spk",
                                                   "wav", "wav.scp"]
    run([RECIPE / "utils" / "validate_data_dir.sh", "--no-feats", d], cwd=tmp_path, env={"LC_ALL": "C"}, check=True)
    for line in (d / "wav.scp").read_text().splitlines():
        assert sf.info(line.split()[1]).samplerate == 22050
    assert (d / "spk2utt").read_text().splitlines()[0].startswith("m4singer-singerI m4singer-singerI-")


def test_phone_mapping_covers_every_syllable_of_the_demo_lyrics():
    for line in LYRICS:
        for ini, fin in ([s[0], s[1]] if len(s) == 2 else ["", s[0]] for s in lyric_to_phones(line)):
            spelled = corpus_spelling(ini, fin)
            mapped = [p for p, _, _ in map_phones(spelled, [0] * len(spelled))]
            assert mapped == ([ini, fin] if ini else [fin]), (ini, fin, spelled)


@pytest.mark.parametrize("phones, slurs, want", [
    (["y", "ou"], [0, 0], ["iou"]),
    (["w", "o", "o"], [0, 0, 1], ["uo", "uo"]),
    (["l", "ui", "SP", "g", "un"], [0] * 5, ["l", "uei", "SP", "g", "uen"]),
    (["j", "u", "x", "un", "q", "ue"], [0] * 6, ["j", "v", "x", "vn", "q", "ve"]),
    (["<AP>", "n", "iu", "<SP>"], [0] * 4, ["AP", "n", "iou", "SP"]),
    (["y", "van", "w", "eng"], [0] * 4, ["van", "ueng"]),
])
def test_map_phones(phones, slurs, want):
    assert [p for p, _, _ in map_phones(phones, slurs)] == want


@pytest.mark.parametrize("phones, slurs, index, msg", [
    (["n", "g"], [0, 0], 0, "initial not followed by a final"),
    (["h", "m"], [0, 0], 0, "initial not followed by a final"),
    (["a", "zz"], [0, 0], 1, "not a final"),
    (["y", "uo"], [0, 0], 1, "no syllable yuo"),
    (["SP", "a"], [1, 0], 0, "follows no sung final"),
    (["b", "a", "o"], [0, 0, 1], 2, "does not repeat the final 'a'"),
])
def test_map_phones_names_the_phone_without_a_mapping(phones, slurs, index, msg):
    with pytest.raises(PhoneMapError, match=msg) as e:
        map_phones(phones, slurs)
    assert e.value.index == index and f"phone {index + 1} {phones[index]!r}" in str(e.value)


def test_note_names():
    assert [note_name_to_midi(n) for n in ("C4", "C#4/Db4", "A0", "Bb3", "rest")] == [60, 61, 21, 58, 0]
    with pytest.raises(ValueError, match="out of range"):
        note_name_to_midi("C9")
    with pytest.raises(ValueError, match="unknown note name 'H4'"):
        note_name_to_midi("H4")


def test_m4singer_held_out_items_are_espnets():
    names = [f"s#song#{k:04d}" for k in range(200)]
    order = sorted(names)
    state = random.getstate()
    random.seed(1234)
    random.shuffle(order)  # what espnet's m4singer data_prep.py does
    random.setstate(state)
    assert held_out(names) == set(order[:20])  # 5 % + 5 % of 200 (espnet's 100 + 100 from 2000 items on)
    assert held_out(names[:10]) == set()


def test_parse_corpora():
    assert parse_corpora("opencpop:/a m4singer:/b") == [("opencpop", "opencpop", Path("/a")),
                                                         ("m4singer", "m4singer", Path("/b"))]
    assert parse_corpora("opencpop:/a,extra=opencpop:/c")[1] == ("extra", "opencpop", Path("/c"))
    for spec, msg in (("opencpop:/a opencpop:/c", "two corpora named 'opencpop'"), ("popcs:/a", "unknown layout"),
                      ("Big=opencpop:/a", "lowercase"), ("opencpop", "is not <layout>:<dir>"), ("", "no corpus")):
        with pytest.raises(ValueError, match=msg):
            parse_corpora(spec)


# ----------------------------------------------------------------------------------------------
# One error per bad line, naming the file and the line

def _edit_opencpop(root: Path, lineno: int, edit) -> Path:
    txt = root / "segments" / "train.txt"
    lines = txt.read_text().splitlines(keepends=True)
    fields = lines[lineno - 1].rstrip("\n").split("|")
    lines[lineno - 1] = edit(fields) + "\n"
    txt.write_text("".join(lines))
    return txt


def _set(fields, k, values):
    fields[k] = " ".join(values)
    return "|".join(fields)


OPENCPOP_BAD = {
    "field count": (lambda f: "|".join(f[:6]), r"expected 7 '\|'-separated fields .* got 6"),
    "phone count": (lambda f: _set(f, 5, f[5].split()[:-1]), r"\d+ phns but \d+ phn_dur"),
    "durations": (lambda f: _set(f, 5, [f"{float(d) * 1.1:.6f}" for d in f[5].split()]),
                  r"phone durations add up to .* but 2001000002\.wav lasts .* \(tolerance 50 ms\)"),
    "unknown phone": (lambda f: _set(f, 2, ["zz" if k == 1 else p for k, p in enumerate(f[2].split())]),
                      r"phone 2 'zz': not a final"),
    "note out of range": (lambda f: _set(f, 3, ["C9" if k == 1 else n for k, n in enumerate(f[3].split())]),
                          r"notes 2: note 'C9': MIDI 120 is out of range"),
    "missing wav": (lambda f: "|".join(["2001000009"] + f[1:]), r"missing wav .*segments/wavs/2001000009\.wav"),
}


@pytest.mark.parametrize("kind", sorted(OPENCPOP_BAD))
def test_opencpop_bad_line_is_one_error_naming_file_and_line(copy, kind):
    edit, msg = OPENCPOP_BAD[kind]
    root = copy("cpop")
    txt = _edit_opencpop(root, 2, edit)
    with pytest.raises(CorpusError) as e:
        read_corpus("opencpop", "opencpop", root)
    assert "1 bad line(s)" in str(e.value)
    assert re.search(re.escape(f"{txt}:2: ") + msg, str(e.value)), str(e.value)


def _edit_m4singer(root: Path, k: int, edit) -> Path:
    meta = root / "meta.json"
    items = json.loads(meta.read_text())
    edit(items[k])
    meta.write_text(json.dumps(items, ensure_ascii=False, indent=1))
    return meta


def _scale(item, key, factor):
    item[key] = [round(d * factor, 6) for d in item[key]]


M4SINGER_BAD = {
    "field count": (lambda it: it.pop("ph_dur"), r"missing field\(s\) ph_dur"),
    "phone count": (lambda it: it["is_slur"].pop(), r"\d+ phs but \d+ is_slur"),
    "durations": (lambda it: _scale(it, "ph_dur", 0.8), r"phone durations add up to .* but 0001\.wav lasts"),
    "unknown phone": (lambda it: it["phs"].__setitem__(1, "zh0"), r"phone 2 'zh0'"),
    "note out of range": (lambda it: it["notes"].__setitem__(1, MIDI_MAX + 12), r"notes 2: MIDI 120 is out of range"),
    "missing wav": (lambda it: it.__setitem__("item_name", "singerI#练习曲 一#0007"),
                    r"missing wav .*singerI#练习曲 一/0007\.wav"),
}


@pytest.mark.parametrize("kind", sorted(M4SINGER_BAD))
def test_m4singer_bad_item_is_one_error_naming_the_file_and_item(copy, kind):
    edit, msg = M4SINGER_BAD[kind]
    root = copy("m4")
    meta = _edit_m4singer(root, 1, edit)
    with pytest.raises(CorpusError) as e:
        read_corpus("m4singer", "m4singer", root)
    assert "1 bad line(s)" in str(e.value)
    assert re.search(re.escape(f"{meta}: item 1 (") + r".*\): " + msg, str(e.value)), str(e.value)


def test_every_bad_line_of_every_corpus_is_reported_and_nothing_written(copy, tmp_path, caplog):
    cpop, m4 = copy("cpop"), copy("m4")
    txt = _edit_opencpop(cpop, 1, OPENCPOP_BAD["field count"][0])
    _edit_opencpop(cpop, 3, OPENCPOP_BAD["unknown phone"][0])
    meta = _edit_m4singer(m4, 2, M4SINGER_BAD["note out of range"][0])
    with pytest.raises(SystemExit):
        prepare_stage_one_corpora.main(["--corpora", f"opencpop:{cpop} m4singer:{m4}", "--out", str(tmp_path / "d")])
    errors = caplog.text
    assert f"{txt}:1: expected 7" in errors and f"{txt}:3: phone 2 'zz'" in errors and f"{meta}: item 2 (" in errors
    assert not (tmp_path / "d").exists()


def test_print_corpora_writes_them_out_in_full(capsys, tmp_path):
    prepare_stage_one_corpora.main(["--corpora", f"opencpop:{tmp_path},more=m4singer:{tmp_path}", "--print_corpora"])
    assert capsys.readouterr().out.split() == [f"opencpop=opencpop:{tmp_path}", f"more=m4singer:{tmp_path}"]


def test_generator_options(tmp_path):
    with pytest.raises(ValueError, match="one singer"):
        make_audio_only_corpus(tmp_path / "a", "opencpop", singers=["singerH", "singerI"], utts_per_singer=1)
    with pytest.raises(ValueError, match="audio-only singers"):
        make_audio_only_corpus(tmp_path / "a", "m4singer", singers=["singerA"], utts_per_singer=1)
