"""Sub-pixel face registration and its fusion with the mouth prior."""

import cv2
import numpy as np

cv2.setNumThreads(1)

from espnet2_ext.lip.register import FaceRegistrar, fuse_with_prior  # noqa: E402


def test_registration_recovers_subpixel_translation():
    import skimage.data

    img = cv2.cvtColor(skimage.data.astronaut()[30:230, 124:324], cv2.COLOR_RGB2GRAY)
    box = (40.0, 40.0, 110.0, 110.0)
    reg = FaceRegistrar()
    _, ok = reg.update(img, box)
    assert ok
    rng = np.random.default_rng(0)
    truth = np.cumsum(rng.uniform(-1.5, 1.5, (20, 2)), axis=0)
    for i, (dx, dy) in enumerate(truth):
        frame = cv2.warpAffine(img, np.float32([[1, 0, dx], [0, 1, dy]]), img.shape[::-1], flags=cv2.INTER_CUBIC,
                               borderMode=cv2.BORDER_REFLECT)
        frame = np.clip(frame * (1 + 0.1 * np.sin(i)), 0, 255).astype(np.uint8)  # lighting change
        est, ok = reg.update(frame, None if i % 5 == 0 else box)  # the box is not needed once locked
        assert ok
        assert np.abs(est - (dx, dy)).max() < 0.35, (i, est, (dx, dy))
    # a blank frame is not registered and keeps the last estimate
    est, ok = reg.update(np.full_like(img, 128), box)
    assert not ok and np.allclose(est, truth[-1], atol=0.35)


def test_fusion_removes_prior_jitter_and_keeps_its_offset():
    rng = np.random.default_rng(1)
    n = 100
    motion = np.stack([3 * np.sin(np.arange(n) / 9), 2 * np.cos(np.arange(n) / 7)], 1)
    mouth = motion + (80.0, 140.0)
    prior = mouth + rng.normal(0, 2.0, (n, 2))  # a jittery detector
    ok = np.ones(n, bool)
    ok[40:45] = False
    fused, fok = fuse_with_prior(prior, ok, motion, ok, window=51)
    assert np.array_equal(fok, ok)
    err = np.hypot(*(fused[ok] - mouth[ok]).T)
    assert np.median(err) < 0.6 and np.median(err) < 0.3 * np.median(np.hypot(*(prior - mouth).T))
    assert np.isnan(fused[~ok]).all()
