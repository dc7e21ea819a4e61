"""The demo singer's mouth: the photo's own lips warped per frame, with cavity, teeth and tongue.

    mouth shape (open, spread, round, teeth, tongue) + FaceBase (lip contours of the photo)
      --mouth_targets--> target lip contours: inner lips closed onto their mid line, then parted
        by the opening (upper lip 30 %, lower lip and jaw 70 %), width by spread / rounding,
        thickness by the singer's lips and rounding (protrusion), lower lip under the teeth for f
      --two thin-plate splines (upper lip + face above the mouth line; lower lip + jaw below),
        anchored on a fixed ring around the mouth, evaluated on a 4 px grid--> backward maps
      --cv2.remap of the face--> warped lips, skin-coloured edges and shading of the photo
      --between the target inner contours: shaded cavity, upper teeth, lower teeth (wide open),
        tongue low in the mouth and raised to the teeth for d / t / n / l--> mouth region (in place)

A closed mouth (opening 0) has the two inner contours on one line: no cavity pixel (alpha > 0.5).
"""

from typing import Dict, Tuple

import cv2
import numpy as np

from espnet2_ext.data.synth_face import FaceBase, FaceLook

_UPPER = list(range(0, 11))  # contour indices of the upper lip, right corner to left corner
_LOWER = [0] + list(range(19, 9, -1))  # the lower lip, same order (pairs with _UPPER)
_GRID = 4  # px step of the spline evaluation (bilinear in between)


def _tps_fit(dst: np.ndarray, src: np.ndarray, reg: float = 1e-3) -> Tuple[np.ndarray, np.ndarray]:
    """Thin-plate spline f with f(dst_i) = src_i -> (weights (N, 2), affine (3, 2))."""
    n = len(dst)
    d2 = ((dst[:, None] - dst[None]) ** 2).sum(-1)
    k = 0.5 * d2 * np.log(d2 + 1e-12) + reg * np.eye(n)
    p = np.hstack([np.ones((n, 1)), dst])
    a = np.zeros((n + 3, n + 3))
    a[:n, :n], a[:n, n:], a[n:, :n] = k, p, p.T
    sol = np.linalg.solve(a, np.vstack([src, np.zeros((3, 2))]))
    return sol[:n], sol[n:]


def _tps_eval(fit, dst: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """(M, 2) points -> (M, 2) f(points)."""
    w, aff = fit
    d2 = (pts[:, None, 0] - dst[None, :, 0]) ** 2 + (pts[:, None, 1] - dst[None, :, 1]) ** 2
    u = 0.5 * d2 * np.log(d2 + 1e-12)
    return u @ w + aff[0] + pts @ aff[1:]


def mouth_targets(base: FaceBase, shape, look: FaceLook) -> Dict[str, np.ndarray]:
    """Mouth shape -> target outer / inner contours (20, 2), jaw drop (px) and opening (px)."""
    o, s, r, t = (float(v) for v in shape[:4])
    u = base.unit * look.mouth_scale
    outer, inner = base.outer, base.inner
    c = (outer[0] + outer[10]) / 2
    half_w = abs(outer[10, 0] - outer[0, 0]) / 2
    wf = 1.0 + 0.22 * (s - 0.35) - 0.25 * r
    mid = (inner[_UPPER] + inner[_LOWER]) / 2  # (11, 2) closed mouth line
    bump = np.sqrt(np.clip(1 - ((mid[:, 0] - c[0]) / half_w) ** 2, 0, 1)) ** 0.8
    gap = 22.0 * o * u * (1 - 0.25 * r)
    top_y = mid[:, 1] - 0.3 * gap * bump
    bot_y = mid[:, 1] + 0.7 * gap * bump
    lt = look.lip_thickness * (1 + 0.35 * r)
    up_th = np.maximum(mid[:, 1] - outer[_UPPER, 1], 0.8 * u)
    lo_th = np.maximum(outer[_LOWER, 1] - mid[:, 1], 1.2 * u)
    o_top = top_y - up_th * look.lip_thickness * (1 + 0.1 * r)  # little room below the nose
    o_bot = bot_y + lo_th * lt - 1.5 * u * t * bump
    x_in = c[0] + (mid[:, 0] - c[0]) * wf * (1 - 0.05 * r)
    x_out_up = c[0] + (outer[_UPPER, 0] - c[0]) * wf
    x_out_lo = c[0] + (outer[_LOWER, 0] - c[0]) * wf
    new_o, new_i = np.empty_like(outer), np.empty_like(inner)
    new_o[_UPPER] = np.stack([x_out_up, o_top], 1)
    new_o[_LOWER[1:-1]] = np.stack([x_out_lo, o_bot], 1)[1:-1]
    new_i[_UPPER] = np.stack([x_in, top_y], 1)
    new_i[_LOWER[1:-1]] = np.stack([x_in, bot_y], 1)[1:-1]
    for k in (0, 10):  # corners: one point shared by both lips
        new_o[k] = (x_out_up[k], mid[k, 1] + (outer[k, 1] - mid[k, 1]) * lt)
        new_i[k] = (x_in[k], mid[k, 1])
    return dict(outer=new_o, inner=new_i, jaw=0.75 * gap, gap=gap, centre=c, half_w=half_w * wf)


def _anchors(base: FaceBase, box, c: np.ndarray, hw: float, upper: bool) -> np.ndarray:
    """Fixed points of one map: the ROI edge on its side, the mouth line beside the corners, and
    the nose (upper) or the jaw sides (lower)."""
    x0, y0, x1, y1 = box
    u = base.unit
    y_edge = y0 if upper else y1
    xs = np.linspace(x0, x1, 6)
    ring = [(x, y_edge) for x in xs] + [(x0, (y0 + y1) / 2), (x1, (y0 + y1) / 2)]
    ring += [(c[0] - 1.9 * hw, c[1]), (c[0] + 1.9 * hw, c[1])]
    if upper:
        n = base.points["nose"]
        ring += [(n[0] - 9 * u, n[1]), (n[0] + 9 * u, n[1]), (n[0], n[1] + 1 * u)]
    else:
        ring += [(c[0] - 2.4 * hw, c[1] + 14 * u), (c[0] + 2.4 * hw, c[1] + 14 * u)]
    return np.asarray(ring, np.float64)


def _maps(base: FaceBase, tg: Dict[str, np.ndarray], box) -> Tuple[np.ndarray, np.ndarray]:
    """Backward maps (h, w, 2) of the upper and the lower spline over the ROI ``box``."""
    x0, y0, x1, y1 = box
    u = base.unit
    chin = base.points["chin"]
    chin_src = np.array([chin, chin + (-18 * u, -5 * u), chin + (18 * u, -5 * u)])
    chin_dst = chin_src + (0.0, tg["jaw"])
    gy, gx = np.mgrid[y0:y1 + _GRID:_GRID, x0:x1 + _GRID:_GRID].astype(np.float64)
    grid = np.stack([gx.ravel(), gy.ravel()], 1)
    out = []
    for upper in (True, False):
        idx = _UPPER if upper else _LOWER
        anc = _anchors(base, box, tg["centre"], tg["half_w"], upper)
        dst = np.concatenate([tg["outer"][idx], tg["inner"][idx], anc] + ([] if upper else [chin_dst]))
        src = np.concatenate([base.outer[idx], base.inner[idx], anc] + ([] if upper else [chin_src]))
        m = _tps_eval(_tps_fit(dst, src), dst, grid).reshape(gx.shape + (2,)).astype(np.float32)
        out.append(cv2.resize(m, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR))
    return out[0], out[1]


def render_mouth(img: np.ndarray, base: FaceBase, shape, look: FaceLook) -> Dict[str, np.ndarray]:
    """Warp the lips of ``base`` into ``img`` (S, S, 3) uint8 (in place, a copy of base.image) for
    one mouth shape (open, spread, round, teeth[, tongue]) -> the target contours, opening and
    ``cavity_pixels`` (pixels more than half covered by the opening)."""
    tg = mouth_targets(base, shape, look)
    tongue = float(shape[4]) if len(shape) > 4 else 0.0
    u = base.unit
    size = img.shape[0]
    c, hw = tg["centre"], tg["half_w"]
    x0, x1 = int(max(0, c[0] - 2.7 * hw)), int(min(size, c[0] + 2.7 * hw))
    y0 = int(max(0, base.points["nose"][1] + 2 * u))
    y1 = int(min(size, base.points["chin"][1] + 30 * u))
    box = (x0, y0, x1, y1)
    m_up, m_lo = _maps(base, tg, box)
    xs = np.arange(x0, x1, dtype=np.float32)
    yy, xx = np.broadcast_arrays(np.arange(y0, y1, dtype=np.float32)[:, None], xs[None, :])  # (h, w) views
    inner = tg["inner"]
    top = np.broadcast_to(np.interp(xs, inner[_UPPER, 0], inner[_UPPER, 1]).astype(np.float32), xx.shape)
    bot = np.broadcast_to(np.interp(xs, inner[_LOWER, 0], inner[_LOWER, 1]).astype(np.float32), xx.shape)
    use_up = (yy < (top + bot) / 2)[..., None]
    m = np.where(use_up, m_up, m_lo)
    roi = cv2.remap(base.image, m[..., 0], m[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    # feather the ROI edge into the unwarped face (no seam where the splines meet the fixed ring)
    h, w = roi.shape[:2]
    ramp = lambda k: np.clip(np.minimum(np.arange(k), np.arange(k)[::-1]) / (6.0 * u), 0, 1)  # noqa: E731
    wgt = (ramp(h)[:, None] * ramp(w)[None, :])[..., None].astype(np.float32)
    roi = roi.astype(np.float32) * wgt + base.image[y0:y1, x0:x1].astype(np.float32) * (1 - wgt)
    gap = bot - top
    in_x = ((xx > inner[0, 0]) & (xx < inner[10, 0])).astype(np.float32)
    alpha = np.clip(yy - top + 0.5, 0, 1) * np.clip(bot - yy + 0.5, 0, 1) * in_x
    tg["cavity_pixels"] = int((alpha > 0.5).sum())
    rows = np.flatnonzero(alpha.max(axis=1) > 0)
    if len(rows):
        cols = np.flatnonzero(alpha.max(axis=0) > 0)
        sl = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))  # the opening's box only
        _fill_cavity(roi[sl], alpha[sl], xx[sl], yy[sl], top[sl], bot[sl], gap[sl], c[0], hw, u,
                     float(shape[0]), tongue)
    if float(shape[3]) > 0.3:  # f: upper teeth resting on the lower lip
        band = (yy >= top - 0.5) & (yy < top + 2.6 * u * float(shape[3])) & (np.abs(xx - c[0]) < 0.6 * hw)
        roi[band] = roi[band] * 0.25 + np.float32([226, 221, 206]) * 0.75
    img[y0:y1, x0:x1] = np.clip(roi, 0, 255).astype(np.uint8)
    return tg


def _fill_cavity(roi, alpha, xx, yy, top, bot, gap, cx, hw, u, opening, tongue) -> None:
    """Shaded cavity, teeth and tongue inside the opening (``alpha`` > 0), in place."""
    depth = np.clip(np.minimum(yy - top, bot - yy) / np.maximum(gap / 2, 1e-3), 0, 1)
    col = np.float32([58, 18, 26])[None, None] * (1 - 0.55 * depth[..., None])
    lat = np.clip(np.abs(xx - cx) / max(hw, 1e-3), 0, 1)
    # tongue low in the mouth
    t_low = (yy > bot - 0.35 * gap) & (lat < 0.75)
    col[t_low] = col[t_low] * 0.3 + np.float32([160, 66, 76]) * 0.7 * (1 - 0.4 * lat[t_low, None])
    if tongue > 0.05:  # tongue tip raised towards the upper teeth (alveolars)
        ty = top + 0.45 * gap
        tip = (((xx - cx) / (0.38 * hw)) ** 2 + ((yy - ty) / np.maximum(0.3 * gap, 1e-3)) ** 2) < 1
        col[tip] = col[tip] * (1 - 0.8 * tongue) + np.float32([188, 92, 104]) * 0.8 * tongue
    up_h = np.minimum(0.32 * gap, 3.2 * u)
    teeth = (yy < top + up_h) & (lat < 0.78)
    shade = (1 - 0.35 * lat ** 2)[..., None]
    col[teeth] = (np.float32([228, 222, 208]) * shade)[teeth]
    if opening > 0.4:
        lo_h = np.minimum(0.16 * gap, 2.2 * u)
        low = (yy > bot - lo_h) & (lat < 0.6)
        col[low] = (np.float32([214, 208, 194]) * shade)[low]
    a = alpha[..., None]
    roi[...] = roi * (1 - a) + col * a
