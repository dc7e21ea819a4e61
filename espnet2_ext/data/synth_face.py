"""Per-singer faces drawn from the one astronaut photo, with their landmarks.

    skimage astronaut (512 x 512) --face crop (CROP), resize to S x S, its mouth opening in-painted-->
      --skin tone (gain on a feathered skin mask) --lip colour (tint between the lip contours)-->
      --facial hair texture (moustache / beard regions, darkened by a seeded stubble pattern)-->
      --global warp: face width and jaw (x' = cx + (x - cx) k(y))--> --glasses (one singer)-->
      FaceBase: (S, S, 3) uint8 + landmarks (lip contours, eyes, cheeks, chin) in crop pixels

Landmarks of the photo: MediaPipe face mesh 0.10.21 (static image mode, 468 points) on
``skimage.data.astronaut()``, full-image pixels rounded to 0.1 px, stored here so that the generator
does not need mediapipe. Lip contours are the mesh's outer ring 61, 185, 40, 39, 37, 0, 267, 269,
270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146 and inner ring 78, 191, 80, 81, 82, 13,
312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95 (right corner first, the upper lip
to the left corner, then the lower lip back). The photo's mouth is slightly open (teeth show).
"""

import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, Optional, Tuple

import cv2
import numpy as np

CROP = (124, 30, 200)  # x0, y0, side of the face crop in the 512 x 512 photo
LIP_OUTER = np.array([
    (201.8, 139.5), (203.5, 138.6), (206.7, 138.7), (210.6, 138.8), (217.1, 139.3), (223.6, 140.5),
    (230.2, 140.0), (236.8, 140.4), (240.9, 140.8), (244.2, 141.1), (245.9, 142.2), (243.1, 145.8),
    (239.5, 149.3), (234.9, 152.6), (229.3, 154.5), (222.8, 154.9), (216.5, 153.7), (211.2, 151.1),
    (207.1, 147.3), (204.1, 143.4)])
LIP_INNER = np.array([
    (204.7, 140.2), (207.1, 139.5), (210.1, 140.1), (213.7, 141.0), (218.1, 142.0), (223.5, 142.7),
    (229.1, 142.7), (233.6, 142.3), (237.3, 141.8), (240.6, 141.7), (243.0, 142.6), (239.8, 145.5),
    (237.2, 147.0), (233.3, 148.5), (228.6, 149.5), (223.1, 149.6), (217.7, 148.8), (213.2, 147.2),
    (209.6, 145.2), (207.3, 143.4)])
FACE_POINTS = {  # mesh index -> photo pixel
    "r_eye_out": (194.6, 100.9), "r_eye_in": (213.8, 103.6), "l_eye_in": (237.4, 104.8),
    "l_eye_out": (256.7, 104.1), "nose": (224.1, 131.2), "cheek_r": (179.0, 111.1),
    "cheek_l": (270.9, 116.3), "forehead": (227.5, 72.4), "chin": (221.3, 175.5),
}


@dataclass(frozen=True)
class FaceLook:
    """Per-singer appearance.

    lip_rgb: lip colour; mouth_scale: mouth size; skin_gain: RGB gain on the skin; face_width:
    horizontal scale of the face; jaw: extra widening (+) / narrowing (-) of the jaw towards the
    chin; lip_thickness: scale of the lips' thickness; beard: 0 none, 1 moustache, 2 moustache and
    beard; glasses: draw glasses.
    """

    lip_rgb: Tuple[int, int, int] = (178, 72, 84)
    mouth_scale: float = 1.0
    skin_gain: Tuple[float, float, float] = (1.0, 1.0, 1.0)
    face_width: float = 1.0
    jaw: float = 0.0
    lip_thickness: float = 1.0
    beard: int = 0
    glasses: bool = False


# every singer has a face of their own; the held-out singers' (E, F, and G of the new-lyrics set)
# are never seen in training
SINGER_FACES: Dict[str, FaceLook] = {
    "singerA": FaceLook((185, 70, 85), 1.0, (1.04, 1.0, 0.97), 0.95, -0.04, 1.1, 0, False),
    "singerB": FaceLook((150, 78, 76), 1.05, (0.80, 0.70, 0.62), 1.08, 0.08, 1.25, 2, False),
    "singerC": FaceLook((200, 60, 95), 0.95, (1.0, 0.94, 0.88), 1.0, 0.0, 0.9, 0, True),
    "singerD": FaceLook((125, 62, 62), 1.1, (0.60, 0.50, 0.44), 1.04, 0.05, 1.2, 2, False),
    "singerE": FaceLook((175, 88, 90), 1.0, (0.92, 0.86, 0.72), 0.92, -0.06, 1.0, 1, False),
    "singerF": FaceLook((190, 80, 100), 1.0, (1.08, 0.97, 1.0), 1.1, 0.03, 1.15, 0, False),
    "singerG": FaceLook((160, 66, 72), 0.92, (0.72, 0.62, 0.54), 0.97, -0.03, 1.05, 1, False),
}


def singer_look(name: str, default: Optional[FaceLook] = None) -> FaceLook:
    """The face of singer ``name`` (SINGER_FACES), else ``default`` (else the plain photo)."""
    return SINGER_FACES.get(name, default or FaceLook())


@dataclass
class FaceBase:
    """A singer's face at S x S with its landmarks (crop pixels, after the global warp)."""

    image: np.ndarray  # (S, S, 3) uint8 RGB
    outer: np.ndarray  # (20, 2) outer lip contour
    inner: np.ndarray  # (20, 2) inner lip contour
    points: Dict[str, np.ndarray]  # FACE_POINTS names -> (2,)
    unit: float  # S / 192


def _to_crop(p: np.ndarray, size: int) -> np.ndarray:
    x0, y0, s = CROP
    return (np.asarray(p, np.float64) - (x0, y0)) * (size / s)


def _width_map(size: int, cx: float, y_m: float, y_c: float, look: FaceLook):
    """Global face warp x' = cx + (x - cx) k(y): (forward point map, backward remap grids)."""
    def k(y):
        jaw = np.clip((np.asarray(y, np.float64) - y_m) / max(y_c - y_m, 1.0), 0.0, 1.3)
        return look.face_width * (1.0 + look.jaw * jaw)

    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    map_x = (cx + (xx - cx) / k(yy)).astype(np.float32)
    return (lambda p: np.stack([cx + (p[..., 0] - cx) * k(p[..., 1]), p[..., 1]], -1)), map_x, yy


def _hair_mask(size: int, outer: np.ndarray, pts: Dict[str, np.ndarray], beard: int, seed: int) -> np.ndarray:
    """(S, S) float32 stubble density in the moustache (and beard) regions."""
    u = size / 192.0
    mask = np.zeros((size, size), np.float32)
    top = outer[:11]
    nose_y = pts["nose"][1] + 6 * u
    must = np.concatenate([top + (0, -1.0 * u), [(top[-1, 0] + 3 * u, nose_y), (top[0, 0] - 3 * u, nose_y)]])
    cv2.fillPoly(mask, [np.round(must * 16).astype(np.int32)], 1.0, cv2.LINE_AA, 4)
    if beard >= 2:
        low = outer[10:].tolist() + [outer[0].tolist()]
        chin = pts["chin"]
        jaw = [(pts["cheek_l"][0] - 6 * u, outer[10, 1] + 4 * u), (chin[0] + 24 * u, chin[1] + 2 * u),
               (chin[0], chin[1] + 6 * u), (chin[0] - 24 * u, chin[1] + 2 * u),
               (pts["cheek_r"][0] + 6 * u, outer[0, 1] + 4 * u)]
        poly = np.array(low + jaw)
        cv2.fillPoly(mask, [np.round(poly * 16).astype(np.int32)], 1.0, cv2.LINE_AA, 4)
        cv2.fillPoly(mask, [np.round(outer * 16).astype(np.int32)], 0.0, cv2.LINE_AA, 4)
    rng = np.random.default_rng(seed)
    tex = (rng.random((size, size)) < 0.35).astype(np.float32)
    tex = cv2.GaussianBlur(tex, (0, 0), 0.6 * u)
    return cv2.GaussianBlur(mask, (0, 0), 1.5 * u) * tex


@lru_cache(maxsize=8)
def build_face(look: FaceLook, size: int = 192) -> FaceBase:
    """The singer's face (cached per look and size)."""
    import skimage.data

    img = skimage.data.astronaut()
    x0, y0, s = CROP
    face = cv2.resize(img[y0:y0 + s, x0:x0 + s], (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
    outer, inner = _to_crop(LIP_OUTER, size), _to_crop(LIP_INNER, size)
    pts = {k: _to_crop(v, size) for k, v in FACE_POINTS.items()}
    u = size / 192.0
    # the photo's own opening (teeth, dark corners) in-painted from the lips around it: the
    # warped mouth shows only the opening drawn for each frame
    gap = np.zeros((size, size), np.uint8)
    cv2.fillPoly(gap, [np.round(inner * 16).astype(np.int32)], 255, cv2.LINE_8, 4)
    gap = cv2.dilate(gap, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 3)))
    face = cv2.inpaint(face.astype(np.uint8), gap, 3, cv2.INPAINT_TELEA).astype(np.float32)
    # skin tone: YCrCb skin pixels inside an ellipse around the face, feathered
    ycc = cv2.cvtColor(face.astype(np.uint8), cv2.COLOR_RGB2YCrCb)
    skin = ((ycc[..., 1] > 133) & (ycc[..., 1] < 180) & (ycc[..., 2] > 80) & (ycc[..., 2] < 135)).astype(np.float32)
    ell = np.zeros((size, size), np.float32)
    centre = (int(pts["nose"][0]), int(pts["nose"][1] - 5 * u))
    cv2.ellipse(ell, centre, (int(52 * u), int(76 * u)), 0, 0, 360, 1.0, -1)
    skin = cv2.GaussianBlur(skin * ell, (0, 0), 2.0 * u)[..., None]
    face = face * (1 - skin) + face * np.asarray(look.skin_gain, np.float32) * skin
    # lip colour: between the outer contour and the (closed) mid line, luminance kept
    lips = np.zeros((size, size), np.float32)
    cv2.fillPoly(lips, [np.round(outer * 16).astype(np.int32)], 1.0, cv2.LINE_AA, 4)
    lips = cv2.GaussianBlur(lips, (0, 0), 0.7 * u)[..., None]
    lum = face.mean(-1, keepdims=True)
    ref = float((lum[..., 0] * lips[..., 0]).sum() / max(lips.sum(), 1e-6))
    tint = np.asarray(look.lip_rgb, np.float32) * (lum / max(ref, 1.0))
    face = face * (1 - 0.6 * lips) + tint * 0.6 * lips
    if look.beard:
        seed = zlib.crc32(repr(look).encode())
        hair = _hair_mask(size, outer, pts, look.beard, seed)[..., None]
        face = face * (1 - 0.6 * hair) + np.float32(28.0) * 0.6 * hair
    # global warp: face width and jaw
    fwd, map_x, map_y = _width_map(size, float(pts["nose"][0]), float(outer[:, 1].mean()), float(pts["chin"][1]), look)
    face = cv2.remap(np.clip(face, 0, 255).astype(np.uint8), map_x, map_y, cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REFLECT)
    outer, inner = fwd(outer), fwd(inner)
    pts = {k: fwd(v) for k, v in pts.items()}
    if look.glasses:
        _draw_glasses(face, pts, u)
    return FaceBase(face, outer, inner, pts, u)


def _draw_glasses(face: np.ndarray, pts: Dict[str, np.ndarray], u: float) -> None:
    """Two rims, a bridge and the temples, in place (lenses slightly darken the eyes)."""
    sh = 16
    cs = []
    for a, b in (("r_eye_out", "r_eye_in"), ("l_eye_in", "l_eye_out")):
        c = (pts[a] + pts[b]) / 2
        half = abs(pts[b][0] - pts[a][0]) / 2
        cs.append((c, half))
        lens = np.zeros(face.shape[:2], np.uint8)
        axes = (int(round((half + 4 * u) * sh)), int(round((half * 0.7 + 3 * u) * sh)))
        ctr = tuple(int(round(v * sh)) for v in c)
        cv2.ellipse(lens, ctr, axes, 0, 0, 360, 1, -1, cv2.LINE_AA, 4)
        face[lens > 0] = (face[lens > 0] * 0.85).astype(np.uint8)
        cv2.ellipse(face, ctr, axes, 0, 0, 360, (30, 28, 32), max(1, int(round(1.6 * u))), cv2.LINE_AA, 4)
    (c0, h0), (c1, h1) = cs
    p0 = (int(round((c0[0] + h0 + 4 * u) * sh)), int(round((c0[1] - 1 * u) * sh)))
    p1 = (int(round((c1[0] - h1 - 4 * u) * sh)), int(round((c1[1] - 1 * u) * sh)))
    cv2.line(face, p0, p1, (30, 28, 32), max(1, int(round(1.4 * u))), cv2.LINE_AA, 4)
    for c, h, side in ((c0, h0, -1), (c1, h1, 1)):
        a = (int(round((c[0] + side * (h + 4 * u)) * sh)), int(round(c[1] * sh)))
        b = (int(round((c[0] + side * (h + 16 * u)) * sh)), int(round((c[1] - 2 * u) * sh)))
        cv2.line(face, a, b, (30, 28, 32), max(1, int(round(1.4 * u))), cv2.LINE_AA, 4)
