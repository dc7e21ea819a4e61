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
