"""Lip ROI extraction on small synthetic talking-face videos built from skimage's astronaut photo.

The astronaut's face (a real face) is cropped, scaled to 176 px, given a drawn mouth whose opening
varies, and translated by a few pixels per frame; the true mouth centre of every frame is known.
"""

import json
import logging

import cv2
import numpy as np
import pytest

cv2.setNumThreads(1)

from espnet2_ext.bin import extract_lip_roi  # noqa: E402
from espnet2_ext.lip.roi import LipRoiExtractor, NoFaceError, crop_square  # noqa: E402
from espnet2_ext.lip.video_io import GrayVideo, VideoReadError  # noqa: E402

SIZE = 176
CROP = (124, 30, 200)  # x0, y0, side of the face crop in the astronaut photo
MOUTH = (224.0, 146.0)  # the real mouth centre in the photo


def face_frames(n: int, blank=(), seed: int = 0):
    """-> RGB frames (n, SIZE, SIZE, 3) uint8 and true mouth centres (n, 2) float32."""
    import skimage.data

    rng = np.random.default_rng(seed)
    x0, y0, s = CROP
    k = SIZE / s
    face = cv2.resize(skimage.data.astronaut()[y0:y0 + s, x0:x0 + s], (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    mx, my = (MOUTH[0] - x0) * k, (MOUTH[1] - y0) * k
    t = np.arange(n)
    dx = 4.0 * np.sin(2 * np.pi * t / 30 + rng.uniform(0, 6)) + rng.normal(0, 0.3, n)
    dy = 3.0 * np.sin(2 * np.pi * t / 22 + rng.uniform(0, 6))
    frames = np.empty((n, SIZE, SIZE, 3), np.uint8)
    centres = np.empty((n, 2), np.float32)
    for i in range(n):
        img = face.copy()
        opening = 2 + 10 * abs(np.sin(i / 3))
        cv2.ellipse(img, (round(mx), round(my)), (22, round(4 + opening / 2)), 0, 0, 360, (170, 70, 80), -1, cv2.LINE_AA)
        cv2.ellipse(img, (round(mx), round(my)), (17, max(1, round(opening / 2))), 0, 0, 360, (40, 12, 20), -1,
                    cv2.LINE_AA)
        m = np.float32([[1, 0, dx[i]], [0, 1, dy[i]]])
        img = cv2.warpAffine(img, m, (SIZE, SIZE), borderMode=cv2.BORDER_REFLECT)
        frames[i] = np.clip(img * (1.0 + 0.1 * np.sin(i / 7)), 0, 255).astype(np.uint8)  # lighting change
        centres[i] = (mx + dx[i], my + dy[i])
    for i in blank:
        frames[i] = 128
    return frames, centres


def write_mp4(frames: np.ndarray, path) -> None:
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, frames.shape[1:3][::-1])
    assert w.isOpened()
    for f in frames:
        w.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    w.release()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("videos")
    vids = {}
    fr, gt = face_frames(40, seed=1)
    write_mp4(fr, d / "s1_face.mp4")
    np.save(d / "s1_face.mouth.npy", gt)
    vids["s1_face"] = (d / "s1_face.mp4", gt)
    blank = list(range(15, 23))
    fr, gt = face_frames(40, blank=blank, seed=2)
    write_mp4(fr, d / "s1_blank.mp4")
    np.save(d / "s1_blank.mouth.npy", gt)
    vids["s1_blank"] = (d / "s1_blank.mp4", gt)
    noise = np.random.default_rng(0).integers(0, 255, (20, SIZE, SIZE, 3), dtype=np.uint8)
    noise = cv2.GaussianBlur(noise.reshape(20 * SIZE, SIZE, 3), (0, 0), 3).reshape(noise.shape)
    write_mp4(noise, d / "s1_noface.mp4")
    vids["s1_noface"] = (d / "s1_noface.mp4", None)
    (d / "s1_corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    vids["s1_corrupt"] = (d / "s1_corrupt.mp4", None)
    return d, vids


def errors(track, gt):
    err = np.hypot(*(track.smoothed[:, :2] - gt).T)
    return err, err / track.smoothed[:, 2]


def test_detection_and_centre_error_within_targets(corpus):
    _, vids = corpus
    path, gt = vids["s1_face"]
    tr = LipRoiExtractor()(path)
    assert tr.crops.shape == (40, 96, 96) and tr.crops.dtype == np.uint8
    assert tr.detected.mean() >= 0.95
    _, frac = errors(tr, gt)
    assert np.median(frac) <= 0.04 and np.percentile(frac, 95) <= 0.08, (np.median(frac), np.percentile(frac, 95))
    # face width in a plausible range for a 176 px face crop, and the crop side follows it
    assert 60 < np.median(tr.smoothed[:, 2]) < 130
    # the dark mouth interior sits at the centre of the crop
    c = tr.crops.astype(np.float32)
    assert c[:, 40:56, 40:56].mean() < c[:, :, :16].mean() - 20


def test_interpolation_over_blanked_frames(corpus):
    _, vids = corpus
    path, gt = vids["s1_blank"]
    tr = LipRoiExtractor()(path)
    assert not tr.detected[15:23].any()
    assert tr.detected[:15].all() and tr.detected[23:].all()
    assert (~tr.accepted).sum() >= 8
    _, frac = errors(tr, gt)
    assert frac[15:23].max() <= 0.10, frac[15:23]
    # interpolated track is linear between neighbours, not a copy of the blank frame's nothing
    assert np.isfinite(tr.smoothed).all()


def test_no_face_raises(corpus):
    _, vids = corpus
    with pytest.raises(NoFaceError, match="s1_noface.mp4"):
        LipRoiExtractor()(vids["s1_noface"][0])


def test_corrupt_and_missing_video_errors_name_the_file(corpus, tmp_path):
    _, vids = corpus
    with pytest.raises(VideoReadError, match="s1_corrupt.mp4"):
        list(GrayVideo(vids["s1_corrupt"][0]))
    with pytest.raises(VideoReadError, match="nothere.mp4"):
        GrayVideo(tmp_path / "nothere.mp4")


def test_crop_square_geometry():
    img = np.zeros((100, 120), np.uint8)
    img[40:61, 50:71] = 255  # 21 px square centred at (60, 50)
    out = crop_square(img, 60.0, 50.0, 42.0, 96)
    assert out.shape == (96, 96) and out.dtype == np.uint8
    ys, xs = np.nonzero(out > 127)
    assert abs(xs.mean() - 47.5) < 1.0 and abs(ys.mean() - 47.5) < 1.0
    assert 44 <= xs.max() - xs.min() + 1 <= 52  # half of the crop side


def run_cli(tmp_path, vids, names, *extra):
    scp = tmp_path / "video.scp"
    scp.write_text("".join(f"{u} {vids[u][0]}\n" for u in names))
    gt = tmp_path / "mouth_gt.scp"
    gt.write_text("".join(f"{u} {str(vids[u][0])[:-4]}.mouth.npy\n" for u in names if vids[u][1] is not None))
    out = tmp_path / "lip"
    argv = ["--video_scp", str(scp), "--mouth_gt_scp", str(gt), "--out_dir", str(out),
            "--out_scp", str(tmp_path / "lip.scp"), "--report", str(tmp_path / "report.json"), *extra]
    extract_lip_roi.main(argv)
    return out


def test_cli_excludes_no_face_and_corrupt(corpus, tmp_path, caplog):
    _, vids = corpus
    names = ["s1_blank", "s1_corrupt", "s1_face", "s1_noface"]
    with caplog.at_level(logging.WARNING):
        out = run_cli(tmp_path, vids, names)
    scp = dict(line.split() for line in (tmp_path / "lip.scp").read_text().splitlines())
    assert sorted(scp) == ["s1_blank", "s1_face"]
    for _u, p in scp.items():
        a = np.load(p)
        assert a.shape == (40, 96, 96) and a.dtype == np.uint8
    assert not list(out.glob("*.tmp")) and sorted(x.name for x in out.iterdir()) == ["s1_blank.npy", "s1_face.npy"]
    rep = json.loads((tmp_path / "report.json").read_text())
    assert rep["num_utts"] == 4
    reasons = {e["utt"]: e["reason"] for e in rep["excluded"]}
    assert set(reasons) == {"s1_corrupt", "s1_noface"}
    assert "s1_corrupt.mp4" in reasons["s1_corrupt"] and "no face" in reasons["s1_noface"]
    assert "s1_noface" in caplog.text and "s1_corrupt.mp4" in caplog.text
    assert 0.85 <= rep["detection_rate"] < 1.0  # 8 of 80 frames blanked
    assert rep["interpolated_frames"] >= 8
    assert rep["center_err_frac_median"] <= 0.04 and rep["center_err_frac_p95"] <= 0.08
    assert rep["center_err_px_median"] <= rep["center_err_px_p95"]
    assert 60 < rep["face_width_px_median"] < 130


def test_cli_strict_corrupt_is_fatal(corpus, tmp_path, caplog):
    _, vids = corpus
    with caplog.at_level(logging.ERROR), pytest.raises(SystemExit) as ex:
        run_cli(tmp_path, vids, ["s1_corrupt", "s1_face"], "--strict")
    assert ex.value.code == 1
    assert "s1_corrupt.mp4" in caplog.text
    assert not (tmp_path / "lip.scp").exists()


def test_ffmpeg_fallback_decodes_the_same_frames(corpus):
    _, vids = corpus
    path = vids["s1_face"][0]
    a = np.stack(list(GrayVideo(path)))
    v = GrayVideo(path)
    v.backend = "ffmpeg"  # the path taken when OpenCV cannot open a file
    b = np.stack(list(v))
    assert a.shape == b.shape == (40, SIZE, SIZE)
    assert np.abs(a.astype(np.int16) - b).mean() < 3.0
