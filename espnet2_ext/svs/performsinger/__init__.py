"""PerformSinger (paper sec. 3): one module per component.

phoneme_encoder (eq. 1-2), speaker (eq. 3, d-vector projection), vcfm (eq. 4-6), duration
(duration predictor + length regulator, L_D), style (RVQ style extractor, L_C), performsinger
(the AbsSVS model, eq. 7), stage_init (two-stage training), masks (padding helpers), needs
(what the system needs from the recipe, decode-time options).
"""
