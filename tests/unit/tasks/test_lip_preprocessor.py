"""The training crop and flip of the mouth crops are repeatable from espnet's seed."""

import numpy as np
import pytest

from espnet2_ext.tasks.preprocessor import VisualSVSPreprocessor


def _pre(train: bool) -> VisualSVSPreprocessor:
    return VisualSVSPreprocessor(train=train, fs=22050, hop_length=256)


def _lips(n: int = 4) -> np.ndarray:
    rng = np.random.default_rng(5)
    return rng.integers(0, 256, size=(n, 96, 96), dtype=np.uint8)


def _draws(pre: VisualSVSPreprocessor, seed: int, n: int = 12) -> list:
    np.random.seed(seed)  # what espnet's set_all_random_seed does at every epoch
    lip = _lips()
    return [pre.lip_transform(f"utt{i}", lip) for i in range(n)]


def test_training_crops_follow_the_global_seed():
    pre = _pre(True)
    a, b = _draws(pre, 0), _draws(_pre(True), 0)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))  # a second process, the same seed
    c = _draws(pre, 1)
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))  # another epoch's seed, other crops
    assert len({x.tobytes() for x in a}) > 1  # crops vary within an epoch
    assert a[0].shape == (4, 88, 88)


def test_evaluation_crop_is_the_centre_and_draws_nothing():
    pre = _pre(False)
    np.random.seed(3)
    state = np.random.get_state()[1].copy()
    lip = _lips()
    x = pre.lip_transform("utt", lip)
    assert np.array_equal(np.random.get_state()[1], state)
    want = (lip[:, 4:92, 4:92].astype(np.float32) / 255.0 - pre.lip_mean) / pre.lip_std
    np.testing.assert_allclose(x, want, rtol=1e-6)


def test_a_crop_smaller_than_the_model_input_names_the_utterance():
    with pytest.raises(ValueError, match="utt7: lip ROI 80x80 is smaller than the crop 88x88"):
        _pre(True).lip_transform("utt7", np.zeros((3, 80, 80), np.uint8))
