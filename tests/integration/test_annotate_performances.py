"""annotate_performances end to end on two tiny songs: the corpus layout that stage 1 reads
(checked by its own reader and data-dir writer), segments.tsv, review.tsv, and a re-run that keeps
a TextGrid a person corrected."""

import json
import subprocess
import sys

import pytest

from espnet2_ext.data.demo_songs import make_demo_songs
from espnet2_ext.data.textgrid_io import read_textgrid
from espnet2_ext.data.visualsinger import load_utterance, prepare


def _run(perf, corpus, *extra):
    cmd = [sys.executable, "-m", "espnet2_ext.bin.annotate_performances", "--performances", str(perf), "--out",
           str(corpus), "--stage1_iterations", "5", "--stage2_iterations", "3", "--summary",
           str(corpus.parent / "summary.json"), *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env={"OMP_NUM_THREADS": "1",
                                                                                   "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((corpus.parent / "summary.json").read_text()), proc.stderr


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("annotate")
    perf = root / "perf"
    make_demo_songs(perf, singers=["singerE"], songs_per_singer=2, seconds=(100.0, 100.0), max_lines=2, size=96)
    (perf / "singerE" / "lonely.txt").write_text("月亮\n", encoding="utf-8")  # lyrics without a video
    summary, log = _run(perf, root / "corpus")
    return root, perf, root / "corpus", summary, log


def test_layout_reads_back_with_stage_one(run):
    root, _, corpus, summary, log = run
    assert "min of songs: the aligner learns from the corpus itself" in log  # two short songs: warned
    assert summary["annotated_songs"] == 2 and summary["utterances"] >= 2 and summary["lips"]
    counts = prepare(corpus, root / "data", ood_singers=[], progress=False, set_name="all")
    assert counts == {"all": summary["utterances"]}
    segs = [line.split("\t") for line in (corpus / "segments.tsv").read_text().splitlines()]
    assert len(segs) == summary["utterances"]
    for utt, song, st, et in segs:
        assert song in ("singerE/singerE_song00", "singerE/singerE_song01") and float(et) > float(st)
        tiers = read_textgrid(corpus / "singerE" / f"{utt}.TextGrid")
        assert set(tiers) == {"words", "phones"}
        assert abs(tiers["phones"][-1].xmax - (float(et) - float(st))) < 1e-3
    review = (corpus / "review.tsv").read_text().splitlines()
    assert review[0].split("\t")[:2] == ["rank", "utt"] and len(review) == 1 + len(segs)
    assert (corpus / "problems.txt").read_text() == "singerE/lonely: no video lonely.mp4 beside lonely.txt\n"


def test_rerun_keeps_a_corrected_textgrid(run):
    root, perf, corpus, summary, _ = run
    segs = [line.split("\t") for line in (corpus / "segments.tsv").read_text().splitlines()]
    tg = corpus / "singerE" / f"{segs[0][0]}.TextGrid"
    text = tg.read_text(encoding="utf-8")
    first_phone = text.index('"SP"', text.index('name = "phones"'))
    edited = text[:first_phone] + '"AP"' + text[first_phone + 4:]  # a person's edit in Praat: a breath
    tg.write_text(edited, encoding="utf-8")
    other = corpus / "singerE" / f"{segs[-1][0]}.TextGrid"
    before_other = other.read_bytes()
    summary2, log = _run(perf, corpus, "--lips", "off")
    assert tg.read_text(encoding="utf-8") == edited
    assert tg.with_suffix(".notes").read_text().splitlines()[0] == "AP 0"  # the notes follow the corrected phones
    load_utterance(corpus, "singerE", segs[0][0])
    assert [line.split("\t") for line in (corpus / "segments.tsv").read_text().splitlines()] == segs
    rows = {r.split("\t")[1]: r.split("\t") for r in (corpus / "review.tsv").read_text().splitlines()[1:]}
    assert rows[segs[0][0]][10] == "reviewed"
    assert other.is_file() and (other.read_bytes() == before_other or segs[-1][0] != segs[0][0])
    assert "reviewed utterances: its cuts are kept" in log
