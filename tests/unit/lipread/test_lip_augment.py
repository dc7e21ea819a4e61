"""Training-crop degradations of lip-reading pretraining and the head fit (lipread/data.py augment)."""

import numpy as np
import pytest

from espnet2_ext.lipread.data import check_augment, crop_normalise
from espnet2_ext.lipread.head_fit import check_conf
from espnet2_ext.lipread.trainer import train


def _crops(seed=0, n=6):
    rng = np.random.default_rng(seed)
    base = (rng.random((96, 96)) * 255).astype(np.uint8)  # texture with fine detail
    return np.stack([np.roll(base, i, axis=1) for i in range(n)])


def _detail(x):
    """Mean squared difference of horizontal neighbours: what a blur removes."""
    return float(np.mean(np.diff(x, axis=-1) ** 2))


def test_without_blur_the_crops_and_the_random_stream_are_unchanged():
    lip = _crops()
    a_rng, b_rng = np.random.default_rng(3), np.random.default_rng(3)
    a = crop_normalise(lip, train=True, rng=a_rng)
    b = crop_normalise(lip, train=True, rng=b_rng, augment=check_augment({}, "x"))
    assert np.array_equal(a, b)
    assert a_rng.random() == b_rng.random()  # blur_prob 0 draws nothing: old runs keep their crops


def test_blur_removes_detail_with_one_sigma_for_every_frame():
    lip = _crops()
    aug = check_augment({"blur_prob": 1.0, "blur_sigma": [2.0, 2.0]}, "x")
    sharp = crop_normalise(lip, train=True, rng=np.random.default_rng(0))
    blurred = crop_normalise(lip, train=True, rng=np.random.default_rng(0), augment=aug)
    assert _detail(blurred) < 0.2 * _detail(sharp)
    per_frame = [_detail(f) for f in blurred]
    assert max(per_frame) < 1.2 * min(per_frame)  # the same blur on each frame of the utterance
    # evaluation crops are never degraded
    assert np.array_equal(crop_normalise(lip, train=False, augment=aug), crop_normalise(lip, train=False))


def test_bad_augment_options_name_where_they_came_from():
    with pytest.raises(ValueError, match=r"conf/x.yaml: unknown augment keys \['noise'\]"):
        check_augment({"noise": 3}, "conf/x.yaml")
    with pytest.raises(ValueError, match="conf/x.yaml: augment needs"):
        check_augment({"blur_prob": 1.5}, "conf/x.yaml")
    with pytest.raises(ValueError, match="conf/x.yaml: augment needs"):
        check_augment({"blur_sigma": [2.0, 1.0]}, "conf/x.yaml")
    with pytest.raises(ValueError, match="lip-reading head fit: unknown augment keys"):
        check_conf({"augment": {"sigma": 1}})


def test_pretraining_refuses_a_bad_augment_before_writing_anything(tmp_path):
    from types import SimpleNamespace

    out = tmp_path / "exp"
    args = SimpleNamespace(config="conf/lip.yaml", out_dir=str(out), resume=False, train_lip_scp="", train_label="",
                           valid_lip_scp="", valid_label="")
    with pytest.raises(ValueError, match="conf/lip.yaml: unknown augment keys"):
        train(args, {"augment": {"blurr_prob": 0.5}})
    assert not (out / "checkpoint.pth").exists()
