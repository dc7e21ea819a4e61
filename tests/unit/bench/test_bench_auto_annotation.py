"""bench/bench_auto_annotation.py: the performances it writes carry the lyric line of each utterance
(rests left out) and the automatic corpus is split by the set of each utterance's source."""

import importlib.util

from praatio import textgrid
from praatio.utilities.constants import Interval

from tests.support.paths import REPO_ROOT
from tests.support.shell import write


def _bench():
    spec = importlib.util.spec_from_file_location("bench_auto_annotation", REPO_ROOT / "bench" / "bench_auto_annotation.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _utterance(corpus, singer, utt, words):
    d = corpus / singer
    d.mkdir(parents=True, exist_ok=True)
    for ext in (".wav", ".mp4"):
        (d / f"{utt}{ext}").write_bytes(b"x")
    t, entries = 0.0, []
    for w in words:
        entries.append(Interval(t, t + 0.5, w))
        t += 0.5
    tg = textgrid.Textgrid()
    tg.addTier(textgrid.IntervalTier("words", entries, 0, t))
    tg.save(str(d / f"{utt}.TextGrid"), format="long_textgrid", includeBlankSpaces=True)


def test_songs_hold_each_lyric_line_and_the_split_follows_the_source_set(tmp_path):
    bench = _bench()
    recipe, corpus = tmp_path / "recipe", tmp_path / "corpus"
    _utterance(corpus, "singerA", "singerA_0000", ["SP", "秋", "天", "AP", "的", "SP"])
    _utterance(corpus, "singerB", "singerB_0003", ["月", "亮"])
    for name, utt, spk in (("train", "singerA_0000", "singerA"), ("dev", "singerB_0003", "singerB")):
        d = recipe / "data" / name
        write(d / "wav.scp", f"{utt} {corpus / spk / utt}.wav\n")
        write(d / "video.scp", f"{utt} {corpus / spk / utt}.mp4\n")
        write(d / "utt2spk", f"{utt} {spk}\n")
    songs = tmp_path / "songs"
    origin = bench.write_songs(recipe, songs)
    assert origin == {"singerA_0000": "train", "singerB_0003": "dev"}
    assert (songs / "singerA" / "singerA_0000.txt").read_text(encoding="utf-8") == "秋天的\n"
    assert (songs / "singerB" / "singerB_0003.mp4").resolve() == (corpus / "singerB" / "singerB_0003.mp4").resolve()

    auto = tmp_path / "auto"
    for singer, utt in (("singerA", "singerA_singerA_0000_000"), ("singerB", "singerB_singerB_0003_000")):
        for ext in (".wav", ".TextGrid"):
            write(auto / singer / f"{utt}{ext}", "x")
    write(auto / "segments.tsv", "singerA_singerA_0000_000\tsingerA/singerA_0000\t0.1\t1.9\n"
                                 "singerB_singerB_0003_000\tsingerB/singerB_0003\t0.0\t1.0\n")
    bench.split_corpus(auto, origin, tmp_path / "sets")
    assert sorted(p.name for p in (tmp_path / "sets" / "train" / "singerA").iterdir()) == [
        "singerA_singerA_0000_000.TextGrid", "singerA_singerA_0000_000.wav"]
    assert (tmp_path / "sets" / "dev" / "singerB" / "singerB_singerB_0003_000.wav").is_file()
    assert not (tmp_path / "sets" / "dev" / "singerA").exists()


def test_compare_averages_each_arm_over_the_seeds_it_has(tmp_path, capsys):
    import json

    bench = _bench()

    def score(root, name, mae, mcd):
        d = root / "exp" / name / "decode_fast_griffin_lim" / "test"
        d.mkdir(parents=True)
        (d / "scores.json").write_text(json.dumps(dict(mcd=mcd, ffe=0.1, cos=0.8, dur_mae_frames=mae,
                                                       boundary_hit_40ms=0.9)))

    recipe, work = tmp_path / "recipe", tmp_path / "work"
    score(recipe, "svs_performsinger", 2.0, 14.0)
    score(recipe, "svs_performsinger_seed1", 2.2, 14.2)
    score(recipe, "svs_performsinger_seed2", 2.4, 14.4)
    score(work, "svs_performsinger", 2.5, 14.0)
    score(work, "svs_performsinger_seed2", 2.9, 14.2)  # seed 1 missing: averaged over the two it has
    rows = bench.compare(recipe, work, seeds=(0, 1, 2))
    t, a = rows["svs_performsinger"]["test"]["true"], rows["svs_performsinger"]["test"]["automatic"]
    assert t["seeds"] == [0, 1, 2] and abs(t["dur_mae_frames"] - 2.2) < 1e-9 and abs(t["sd"]["dur_mae_frames"] - 0.2) < 1e-9
    assert a["seeds"] == [0, 2] and abs(a["dur_mae_frames"] - 2.7) < 1e-9
    out = capsys.readouterr().out
    assert "2.20 ± 0.20" in out and "1.23x the true annotation's (beyond 15 %)" in out
    assert "svs_stylesinger" not in rows  # no scores of the baseline: no row
