#!/usr/bin/env python3
"""A PNG strip of the demo corpus: frames of every singer, and the crops the lip reader sees.

    for each singer of demo_corpus.SINGERS: one planned utterance (same plan as the corpus, seed,
      index) --synth_video--> frames; --frames evenly spread over the utterance, phone under each-->
      row of frames (RGB) [+ row of the stage-3 crops (96 x 96 gray, aligned to the mean face,
      when the face mesh is installed)] --> one PNG

    python -m espnet2_ext.bin.plot_singer_strip --out docs/singer_strip.png [--frames 8] [--seed 0]
"""

import argparse
import logging

import cv2
import numpy as np

from espnet2_ext.data.demo_corpus import SINGERS, plan_utterance
from espnet2_ext.data.synth_video import FPS, frame_shapes, mouth_tracks, render_frames, singer_look
from espnet2_ext.utils.fileio import atomic_path


def singer_rows(seed: int, n_frames: int, size: int = 192, crops: bool = True):
    """-> list of (singer name, (size, n * size, 3) RGB row, (96, n * 96) gray crop row or None)."""
    extractor = None
    if crops:
        from espnet2_ext.lip.landmarks import mediapipe_available

        if mediapipe_available():
            from espnet2_ext.lip.landmark_roi import LandmarkRoiExtractor

            extractor = LandmarkRoiExtractor()
        else:
            logging.warning("mediapipe not installed: frames only, no aligned crops")
    rows = []
    for si, (voice, look) in enumerate(SINGERS):
        rng = np.random.default_rng(np.random.SeedSequence([seed, si, 0]))
        utt = plan_utterance(f"{voice.name}_0000", voice, rng)
        n_v = int(round(utt.duration * FPS))
        segs = [(p, st, et) for st, et, p, _, _ in utt.phones]
        frames, _ = render_frames(frame_shapes(mouth_tracks(segs, utt.duration), n_v), rng, size,
                                  singer_look(voice.name, look))
        idx = np.linspace(3, n_v - 4, n_frames).astype(int)
        tiles = []
        for i in idx:
            tile = frames[i].copy()
            t = (i + 0.5) / FPS
            ph = next((p for p, st, et in segs if st <= t < et), "")
            cv2.putText(tile, ph, (4, size - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 0), 1, cv2.LINE_AA)
            tiles.append(tile)
        row = np.concatenate(tiles, axis=1)
        cv2.putText(row, voice.name, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 0), 1, cv2.LINE_AA)
        crop_row = None
        if extractor is not None:
            class _Frames(list):  # in-memory frames in the shape of a GrayVideo
                path, width, height, fps, backend = voice.name, size, size, float(FPS), "memory"

            track = extractor(_Frames(list(frames.mean(-1).astype(np.uint8))))
            crop_row = np.concatenate([track.crops[i] for i in idx], axis=1)
        rows.append((voice.name, row, crop_row))
    return rows


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="PNG to write")
    p.add_argument("--frames", type=int, default=8, help="frames per singer")
    p.add_argument("--seed", type=int, default=0, help="corpus seed (the strip shows utterance 0 of each singer)")
    p.add_argument("--no_crops", action="store_true", help="frames only")
    a = p.parse_args(argv)
    blocks = []
    for _, row, crop_row in singer_rows(a.seed, a.frames, crops=not a.no_crops):
        blocks.append(row)
        if crop_row is not None:
            k = row.shape[1] // a.frames  # each crop under its frame, enlarged to the frame's size
            big = cv2.resize(crop_row, (k * a.frames, k), interpolation=cv2.INTER_NEAREST)
            blocks.append(np.repeat(big[..., None], 3, axis=-1))
    img = np.concatenate(blocks, axis=0)
    with atomic_path(a.out, suffix=".png") as tmp:
        if not cv2.imwrite(str(tmp), img[..., ::-1]):
            raise OSError(f"{a.out}: cannot write the PNG")
    logging.info("%s: %d singers x %d frames", a.out, len(SINGERS), a.frames)


if __name__ == "__main__":
    main()
