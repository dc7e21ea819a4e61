"""Control sets with broken lip timing (shuffled frames, another utterance's video)."""

import numpy as np
import pytest

from espnet2_ext.data.lip_control import control_frames, make_lip_control_set


def _lips():
    rng = np.random.default_rng(0)
    return {f"u{i}": rng.integers(0, 255, size=(10 + 5 * i, 4, 4), dtype=np.uint8) for i in range(3)}


def test_shuffle_keeps_the_frames_but_not_their_order():
    lips = _lips()
    out = control_frames(lips, "shuffle", seed=1)
    for utt, x in lips.items():
        assert out[utt].shape == x.shape
        assert sorted(map(bytes, out[utt])) == sorted(map(bytes, x))
        assert not np.array_equal(out[utt], x)


def test_swap_uses_another_utterance_with_the_original_length():
    lips = _lips()
    out = control_frames(lips, "swap", seed=0)
    for utt, x in lips.items():
        assert out[utt].shape == x.shape
        own = {bytes(f) for f in x}
        assert not any(bytes(f) in own for f in out[utt])


def test_control_set_on_disk(tmp_path):
    src = tmp_path / "test"
    (src / "lip").mkdir(parents=True)
    rows = []
    for utt, x in _lips().items():
        np.save(src / "lip" / f"{utt}.npy", x)
        rows.append(f"{utt} {src / 'lip' / utt}.npy\n")
    (src / "lip.scp").write_text("".join(rows))
    (src / "text").write_text("u0 a\nu1 a\nu2 a\n")
    make_lip_control_set(src, tmp_path / "ctl", "shuffle")
    lines = (tmp_path / "ctl" / "lip.scp").read_text().split("\n")
    assert len([l for l in lines if l]) == 3 and (tmp_path / "ctl" / "text").is_file()
    assert not (tmp_path / "ctl" / "video.scp").exists()
    with pytest.raises(FileNotFoundError, match="lip.scp"):
        make_lip_control_set(tmp_path / "nothing", tmp_path / "x", "swap")
