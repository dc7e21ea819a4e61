"""Demo corpus generator: determinism, label consistency, visemes, layout parser."""

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from espnet2_ext.data.demo_corpus import make_demo_corpus
from espnet2_ext.data.synth_face import SINGER_FACES, FaceLook, build_face
from espnet2_ext.data.synth_mouth import render_mouth
from espnet2_ext.data.synth_video import GT_COLUMNS, frame_shapes, mouth_tracks, render_frames
from espnet2_ext.data.textgrid_io import read_textgrid
from espnet2_ext.data.visualsinger import prepare, validate_data_dir

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    kw = dict(num_singers=2, num_ood=0, utts_per_singer=2)
    stats = make_demo_corpus(root / "s0a", seed=0, **kw)
    make_demo_corpus(root / "s0b", seed=0, nj=2, **kw)  # in 2 processes: the same corpus
    make_demo_corpus(root / "s1", seed=1, **kw)
    return root, stats


def _files(d):
    return sorted(p.relative_to(d) for p in d.rglob("*") if p.is_file() and p.name != ".done")


def test_same_seed_identical_bytes_whatever_the_processes(corpora):
    root, stats = corpora
    assert stats["utterances"] == 4 and stats["seconds"] > 0
    files = _files(root / "s0a")
    assert len(files) == 4 * 5 and files == _files(root / "s0b")
    for f in files:
        assert (root / "s0a" / f).read_bytes() == (root / "s0b" / f).read_bytes(), f


def test_reuse_keeps_a_corpus_of_the_same_options_and_refuses_other_ones(corpora):
    root, stats = corpora
    kw = dict(num_singers=2, num_ood=0, utts_per_singer=2)
    before = {f: (root / "s0a" / f).stat().st_mtime_ns for f in _files(root / "s0a")}
    assert json.loads((root / "s0a" / ".done").read_text())["options"]["video_difficulty"] == "hard"
    assert make_demo_corpus(root / "s0a", seed=0, reuse=True, **kw) == stats  # nothing regenerated
    with pytest.raises(ValueError, match=r"s0a/\.done.*video_difficulty='hard' there, 'easy' asked"):
        make_demo_corpus(root / "s0a", seed=0, reuse=True, video_difficulty="easy", **kw)
    with pytest.raises(ValueError, match=r"seed=0 there, 1 asked"):
        make_demo_corpus(root / "s0a", seed=1, reuse=True, overwrite=True, **kw)
    assert {f: (root / "s0a" / f).stat().st_mtime_ns for f in _files(root / "s0a")} == before


def test_reuse_refuses_a_corpus_that_records_no_options(tmp_path):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / ".done").write_text("{'utterances': 4, 'seconds': 9.1, 'elapsed': 3.0}\n")
    with pytest.raises(ValueError, match=r"c/\.done: records no generation options"):
        make_demo_corpus(tmp_path / "c", num_singers=1, num_ood=0, utts_per_singer=1, reuse=True)


def test_different_seed_differs(corpora):
    root, _ = corpora
    for ext in (".wav", ".TextGrid", ".notes", ".mouth.npy", ".mp4"):
        a = (root / "s0a" / "singerA" / f"singerA_0000{ext}").read_bytes()
        b = (root / "s1" / "singerA" / f"singerA_0000{ext}").read_bytes()
        assert a != b, ext


def test_labels_consistent_and_durations_sum(corpora, tmp_path):
    root, _ = corpora
    counts = prepare(root / "s0a", tmp_path / "data", ood_singers=[], progress=False)
    assert sum(counts.values()) == 4
    for d in (tmp_path / "data").iterdir():
        validate_data_dir(d)
        for line in (d / "score.scp").read_text().splitlines():
            utt, path = line.split()
            spk = utt.split("_")[0]
            tg = read_textgrid(root / "s0a" / spk / f"{utt}.TextGrid")
            tg_phones = [iv.text for iv in tg["phones"]]
            notes = [ln.split()[0] for ln in (root / "s0a" / spk / f"{utt}.notes").read_text().splitlines()]
            score = json.loads(open(path).read())["note"]
            score_phones = [p for n in score for p in n[4].split("_")]
            assert tg_phones == notes == score_phones
            assert all(len(n[4].split("_")) <= 4 for n in score)
            wav, fs = sf.read(root / "s0a" / spk / f"{utt}.wav")
            dur = sum(iv.xmax - iv.xmin for iv in tg["phones"])
            assert abs(dur - len(wav) / fs) < 1e-4
            assert 2.5 <= dur <= 5.5
            mouth = np.load(root / "s0a" / spk / f"{utt}.mouth.npy")
            assert mouth.shape == (int(round(dur * 25)), len(GT_COLUMNS)) and mouth.dtype == np.float32
            assert np.abs(mouth[:, 6]).max() <= 15.0 + 3.5  # roll within +/-15 degrees (+ the photo's own)
            midis = [n[3] for n in score if n[4] not in ("SP", "AP")]
            assert all(36 <= m <= 79 for m in midis)


def _dark_area(frame, centre, size=192):
    x, y = centre
    g = frame.astype(np.float32).mean(axis=2)
    roi = g[int(y) - 20:int(y) + 20, int(x) - 30:int(x) + 30]
    return float((roi < 70).sum())


def test_mouth_opening_follows_phones():
    segs = [("SP", 0, 0.4), ("b", 0, 0), ("a", 0.4, 1.0), ("m", 1.0, 1.4), ("a", 1.4, 2.0), ("p", 2.0, 2.4),
            ("u", 2.4, 3.0), ("SP", 3.0, 3.4)]
    segs = [s for s in segs if s[2] > s[1]]
    shapes = frame_shapes(mouth_tracks(segs, 3.4), 85)
    frames, truth = render_frames(shapes, np.random.default_rng(0))
    centres = truth[:, :2]

    def mean_open(a, b):
        return np.mean([_dark_area(frames[i], centres[i]) for i in range(int(a * 25) + 3, int(b * 25) - 3)])

    open_a = (mean_open(0.4, 1.0) + mean_open(1.4, 2.0)) / 2
    closed_m = (mean_open(1.0, 1.4) + mean_open(2.0, 2.4)) / 2
    rest = mean_open(0.0, 0.4)
    assert open_a > 5 * max(closed_m, 1.0)
    assert open_a > 5 * max(rest, 1.0)
    # rounded u is narrower than a (width of the lip region)
    assert shapes[int(2.7 * 25), 2] > 0.8 and shapes[int(0.7 * 25), 0] > 0.8
    # the ground-truth centre moves with the head
    assert np.ptp(centres[:, 0]) > 1.0


def _mouth_box(base):
    x0, y0 = base.outer.min(0) - 4
    x1, y1 = base.outer.max(0) + 12
    return slice(int(y0), int(y1)), slice(int(x0), int(x1))


def test_closed_bilabial_lips_touch_and_open_vowel_shows_cavity():
    look = FaceLook()
    base = build_face(look, 192)
    box = _mouth_box(base)
    closed = base.image.copy()
    tg = render_mouth(closed, base, (0.0, 0.3, 0.0, 0.0, 0.0), look)  # b / p / m
    assert tg["cavity_pixels"] == 0
    assert np.allclose(tg["inner"][1:10, 1], tg["inner"][[19, 18, 17, 16, 15, 14, 13, 12, 11], 1])
    gray_closed = closed[box].astype(np.float32).mean(-1)
    assert (gray_closed < 70).sum() == 0  # no dark opening between the lips
    wide = base.image.copy()
    tg = render_mouth(wide, base, (1.0, 0.55, 0.0, 0.0, 0.0), look)  # a
    gray_wide = wide[box].astype(np.float32).mean(-1)
    assert tg["cavity_pixels"] > 150 and (gray_wide < 70).sum() > 100
    assert (gray_wide > 200).sum() > 20  # teeth show with the opening
    # the photo's own lips are warped, not painted: the lip pixels keep the photo's texture
    assert np.std(gray_closed) > 5


def test_singers_have_faces_of_their_own():
    faces = {k: build_face(v, 96).image.astype(np.float32) for k, v in SINGER_FACES.items()}
    names = sorted(faces)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert np.abs(faces[a] - faces[b]).mean() > 3.0, (a, b)
    assert sum(v.glasses for v in SINGER_FACES.values()) == 1
    assert sum(v.beard > 0 for v in SINGER_FACES.values()) >= 2


def test_ground_truth_mouth_centre_follows_the_warped_lips():
    """The face mesh, run on rendered frames, finds the mouth where the ground truth says, closed
    and wide open, under the per-utterance head pose."""
    pytest.importorskip("mediapipe")
    from espnet2_ext.lip.align import mouth_centre
    from espnet2_ext.lip.landmarks import FaceMeshLandmarker

    shapes = np.array([(0.0, 0.3, 0.0, 0.0, 0.0)] * 6 + [(1.0, 0.55, 0.0, 0.0, 0.0)] * 6)
    frames, truth = render_frames(shapes, np.random.default_rng(3))
    lm = FaceMeshLandmarker({"stride": 1})(frames.mean(-1).astype(np.uint8))
    err = np.hypot(*(mouth_centre(lm) - truth[:, :2]).T) / truth[:, 8]
    assert np.nanmax(err) < 0.05
    # opening the jaw moves the true centre down (in the face's own frame)
    assert truth[6:, 1].mean() > truth[:6, 1].mean() + 1.0


def test_bad_process_count_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match="--nj"):
        make_demo_corpus(tmp_path / "c", nj=0, num_singers=1, num_ood=0, utts_per_singer=1)
    assert not (tmp_path / "c").exists()


def _grams(lines, n=3):
    """n-character runs of every utterance an excerpt of two consecutive lines can sing."""
    pairs = [lines[i] + lines[(i + 1) % len(lines)] for i in range(len(lines))]
    return {p[i:i + n] for p in pairs for i in range(len(p) - n + 1)}


def test_new_lyric_lines_share_no_line_or_run_with_the_demo_lines():
    from espnet2_ext.data.demo_lyrics import LYRICS, NEW_LYRICS
    from espnet2_ext.data.phones import lyric_to_phones

    assert len(NEW_LYRICS) == len(LYRICS) and len(set(NEW_LYRICS)) == len(NEW_LYRICS)
    assert not set(NEW_LYRICS) & set(LYRICS)
    assert not _grams(NEW_LYRICS) & _grams(LYRICS)
    old_phones = {p for line in LYRICS for g in lyric_to_phones(line) for p in g}
    assert {p for line in NEW_LYRICS for g in lyric_to_phones(line) for p in g} <= old_phones


def _lyric_strings(data_dir):
    """utt -> the characters it sings (rests dropped), from its score."""
    out = {}
    for line in (data_dir / "score.scp").read_text().splitlines():
        utt, path = line.split()
        notes = json.loads(open(path).read())["note"]
        out[utt] = "".join(n[2] for n in notes if n[2] not in ("SP", "AP", "—"))
    return out


def test_newlyrics_set_sings_no_training_line(corpora, tmp_path):
    """test_newlyrics (seen singers) and test_newlyrics_ood (singerG): no 3-character run of their lyrics occurs
    in train, and the demo corpus' own sets are untouched by preparing them."""
    root, _ = corpora
    nl = root / "newlyrics"
    make_demo_corpus(nl, seed=0, singers=["singerA", "singerB", "singerG"], num_ood=1, utts_per_singer=2,
                     ood_utts_per_singer=1, lyrics="new")
    data = tmp_path / "data"
    prepare(root / "s0a", data, ood_singers=[], progress=False)
    before = {p.name: p.read_bytes() for p in (data / "train").iterdir() if p.is_file()}
    prepare(nl, data, singers=["singerA", "singerB"], set_name="test_newlyrics", overwrite=True, progress=False)
    prepare(nl, data, singers=["singerG"], set_name="test_newlyrics_ood", overwrite=True, progress=False)
    assert {p.name: p.read_bytes() for p in (data / "train").iterdir() if p.is_file()} == before
    train = _lyric_strings(data / "train")
    assert train
    for name, spks in (("test_newlyrics", {"singerA", "singerB"}), ("test_newlyrics_ood", {"singerG"})):
        validate_data_dir(data / name)
        new = _lyric_strings(data / name)
        assert {u.split("_")[0] for u in new} == spks and all("_nl" in u for u in new)
        for utt, text in new.items():
            runs = {text[i:i + 3] for i in range(len(text) - 2)}
            assert runs and not any(r in t for r in runs for t in train.values()), utt
    # the same (seed, singer, index) draws its own timing for the new lines
    a = read_textgrid(root / "s0a" / "singerA" / "singerA_0000.TextGrid")["phones"]
    b = read_textgrid(nl / "singerA" / "singerA_nl0000.TextGrid")["phones"]
    assert [iv.xmax for iv in a][:3] != [iv.xmax for iv in b][:3]
