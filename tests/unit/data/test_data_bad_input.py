"""Stage 1 rejects bad corpus input with errors naming the file; no half-written data dir."""

import shutil

import numpy as np
import pytest
import soundfile as sf

from espnet2_ext.data.demo_corpus import make_demo_corpus
from espnet2_ext.data.visualsinger import CorpusError, prepare

UTT = "singerA/singerA_0000"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad") / "corpus"
    make_demo_corpus(root, seed=3, num_singers=1, num_ood=0, utts_per_singer=1)
    return root


@pytest.fixture
def corpus(pristine, tmp_path):
    dst = tmp_path / "corpus"
    shutil.copytree(pristine, dst)
    return dst


def _fails(corpus, tmp_path, pattern, **kw):
    with pytest.raises(CorpusError, match=pattern):
        prepare(corpus, tmp_path / "data", ood_singers=[], progress=False, **kw)
    assert not (tmp_path / "data" / "train").exists()


def test_good_corpus_passes(corpus, tmp_path):
    assert prepare(corpus, tmp_path / "data", ood_singers=[], progress=False)["train"] == 1
    with pytest.raises(FileExistsError):  # never silently overwrite
        prepare(corpus, tmp_path / "data", ood_singers=[], progress=False)


def test_missing_audio(corpus, tmp_path):
    (corpus / f"{UTT}.wav").unlink()
    _fails(corpus, tmp_path, r"singerA_0000\.wav: missing")


def test_corrupt_audio(corpus, tmp_path):
    (corpus / f"{UTT}.wav").write_bytes(b"RIFF1234garbage")
    _fails(corpus, tmp_path, r"singerA_0000\.wav: unreadable")


def test_corrupt_video(corpus, tmp_path):
    data = (corpus / f"{UTT}.mp4").read_bytes()
    (corpus / f"{UTT}.mp4").write_bytes(data[:200])
    _fails(corpus, tmp_path, r"singerA_0000\.mp4")


def test_missing_phones_tier(corpus, tmp_path):
    p = corpus / f"{UTT}.TextGrid"
    p.write_text(p.read_text().replace('name = "phones"', 'name = "phonemes"'))
    _fails(corpus, tmp_path, r"singerA_0000\.TextGrid: no IntervalTier named 'phones'")


def test_phones_disagree_with_words(corpus, tmp_path):
    p = corpus / f"{UTT}.TextGrid"
    lines = p.read_text().splitlines()
    words_end = next(i for i, ln in enumerate(lines) if 'name = "phones"' in ln)
    # change the first lyric character of the words tier
    for i in range(words_end):
        if "text = " in lines[i] and '"SP"' not in lines[i] and '"AP"' not in lines[i]:
            lines[i] = '            text = "狗"'
            break
    p.write_text("\n".join(lines) + "\n")
    _fails(corpus, tmp_path, r"TextGrid:\d+: tier 'phones'.*tier 'words'")


def test_notes_count_and_phone_mismatch(corpus, tmp_path):
    p = corpus / f"{UTT}.notes"
    orig = p.read_text().splitlines()
    p.write_text("\n".join(orig[:-1]) + "\n")
    _fails(corpus, tmp_path, r"\.notes: \d+ note lines but \d+ intervals")
    bad = list(orig)
    k = next(i for i, ln in enumerate(bad) if not ln.startswith(("SP", "AP")))
    bad[k] = "zh " + bad[k].split()[1] if not bad[k].startswith("zh") else "b " + bad[k].split()[1]
    p.write_text("\n".join(bad) + "\n")
    _fails(corpus, tmp_path, rf"\.notes:{k + 1}: phone")


def test_length_mismatch(corpus, tmp_path):
    wav, fs = sf.read(corpus / f"{UTT}.wav")
    sf.write(corpus / f"{UTT}.wav", np.concatenate([wav, np.zeros(fs // 2)]), fs)
    _fails(corpus, tmp_path, r"\.mp4: video lasts .*tolerance 0\.2")


def test_empty_lyrics(corpus, tmp_path):
    p = corpus / f"{UTT}.TextGrid"
    lines = p.read_text().splitlines()
    end = next(i for i, ln in enumerate(lines) if 'name = "phones"' in ln)
    for i in range(end):
        if "text = " in lines[i]:
            lines[i] = '            text = "SP"'
    p.write_text("\n".join(lines) + "\n")
    _fails(corpus, tmp_path, "empty lyrics")


def test_unknown_phone(corpus, tmp_path):
    p = corpus / f"{UTT}.TextGrid"
    txt = p.read_text()
    head, tail = txt.split('name = "phones"')
    tail = tail.replace('text = "SP"', 'text = "xyz"', 1)
    p.write_text(head + 'name = "phones"' + tail)
    _fails(corpus, tmp_path, r"TextGrid:\d+: tier 'phones' interval 1: unknown phone 'xyz'")


def test_other_sample_rate_is_accepted(corpus, tmp_path):
    wav, fs = sf.read(corpus / f"{UTT}.wav")
    sf.write(corpus / f"{UTT}.wav", wav[::2], fs // 2)  # resampled later, in stage 2
    assert prepare(corpus, tmp_path / "data", ood_singers=[], progress=False)["train"] == 1
