"""Demo corpus --video_difficulty: "hard" (the default) keeps the corpus's bytes, "easy" renders the
same utterances, faces and mouths without head roll / scale / squeeze, blur, noise and occlusions."""

import hashlib

import numpy as np
import pytest
import torch

from espnet2_ext.data.demo_corpus import make_demo_corpus
from espnet2_ext.data.synth_video import GT_COLUMNS, render_frames

torch.set_num_threads(1)
KW = dict(seed=0, num_singers=1, num_ood=0, utts_per_singer=1, size=96)
# sha256 of the files of make_demo_corpus(**KW), written by the generator before the option existed.
# The video's pixels go through OpenCV's SIMD code paths (warps, blur), which round differently on
# CPUs with other vector units: its hash (AVX2) is checked only where it matches; on every CPU the
# default's video must equal an explicit "hard" one's, and the other files these hashes.
HARD_SHA256 = {
    "singerA_0000.TextGrid": "f09d0ed6727de3f08213366facba8f2f8f1feb6cdaa30341573a84fc2d4d47c6",
    "singerA_0000.mouth.npy": "19d49a24ef80a47af6986b1499051f80ff2e945b0e1b035a732d23c718db0558",
    "singerA_0000.mp4": "a62266b9f596cfca4ecfadbb7136e29f36d18255eae1e27dd2c6dee26c0e2bd4",
    "singerA_0000.notes": "9dbc039c1b47a7367e078083075cea719742b4013af0234c16a743a8e37c071f",
    "singerA_0000.wav": "3d4e4aebfb4cf0f747c86e94262e03c98e262868fd1328b62c7f5df08e639e4b",
}


def _sha(d):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((d / "singerA").iterdir())}


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    root = tmp_path_factory.mktemp("difficulty")
    make_demo_corpus(root / "default", **KW)
    make_demo_corpus(root / "hard", video_difficulty="hard", **KW)
    make_demo_corpus(root / "easy", video_difficulty="easy", **KW)
    return root


def test_hard_default_keeps_the_corpus_bytes(corpora):
    default = _sha(corpora / "default")
    assert default == _sha(corpora / "hard")
    assert {k: v for k, v in default.items() if k != "singerA_0000.mp4"} == \
        {k: v for k, v in HARD_SHA256.items() if k != "singerA_0000.mp4"}
    if torch.backends.cpu.get_cpu_capability() == "AVX2":
        assert default["singerA_0000.mp4"] == HARD_SHA256["singerA_0000.mp4"]


def test_easy_changes_only_the_video(corpora):
    easy, hard = _sha(corpora / "easy"), _sha(corpora / "default")
    for name in ("singerA_0000.wav", "singerA_0000.TextGrid", "singerA_0000.notes"):
        assert easy[name] == hard[name] == HARD_SHA256[name], name
    for name in ("singerA_0000.mp4", "singerA_0000.mouth.npy"):
        assert easy[name] != hard[name], name


def test_easy_frames_are_upright_unoccluded_and_noise_free():
    shapes = np.array([(0.0, 0.3, 0.0, 0.0, 0.0)] * 4 + [(1.0, 0.55, 0.0, 0.0, 0.0)] * 4)
    roll, occ = GT_COLUMNS.index("roll_deg"), GT_COLUMNS.index("occluded")
    hard_f, hard_t = render_frames(shapes, np.random.default_rng(5), 96)
    easy_f, easy_t = render_frames(shapes, np.random.default_rng(5), 96, difficulty="easy")
    # easy: the photo's own eye-line angle in every frame (the head does not roll)
    assert np.ptp(hard_t[:, roll]) > 0.5 and np.ptp(easy_t[:, roll]) < 1e-3 and abs(easy_t[0, roll]) < 5
    assert easy_t[:, occ].sum() == 0
    # the face width is the unscaled one: only translation and lighting move between draws
    assert np.allclose(easy_t[:, GT_COLUMNS.index("face_width_px")],
                       easy_t[0, GT_COLUMNS.index("face_width_px")], atol=1e-3)
    # no sensor noise: two frames of one shape differ only by the smooth lighting / translation
    assert np.abs(np.diff(easy_f[:4].astype(np.int16), axis=0)).mean() < np.abs(
        np.diff(hard_f[:4].astype(np.int16), axis=0)).mean()
    with pytest.raises(ValueError, match="difficulty"):
        render_frames(shapes, np.random.default_rng(5), 96, difficulty="medium")
    with pytest.raises(ValueError, match="--video_difficulty"):
        make_demo_corpus("/nonexistent/never_written", video_difficulty="medium", **KW)
