"""Lip ROI extraction (recipe stage 3): video -> (T_v, 96, 96) uint8 grayscale mouth crops.

    video_io.GrayVideo -> face_detect.FaceDetector (+ register.FaceRegistrar)
      -> smoothing.smooth_track -> roi.LipRoiExtractor (crops) -> report (quality JSON)
"""
