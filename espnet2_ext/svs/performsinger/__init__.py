"""PerformSinger (paper sec. 3): one module per component.

phoneme_encoder (eq. 1-2), speaker (eq. 3, d-vector projection), duration (duration predictor +
length regulator, L_D), duration_sources (where inference durations come from, one strategy
each) with duration_prior (the predictor as prior on the video timing), lip_reading (the
lip-reading heads as PerformSinger uses them), style (RVQ style extractor, L_C), frame_modules
(F0 embedding, auxiliary mel decoder), inputs (batch inputs and the style reference), loss (eq. 7
and the alignment auxiliaries), performsinger (the AbsSVS model), stage_init (two-stage training), needs (what the
system needs from the recipe, decode-time options).
The fusion modules (VCFM eq. 4-6, SMA) and their registry are in ``espnet2_ext.svs.fusion``;
masks and alignment helpers shared with the other models in ``espnet2_ext.svs.masks`` and
``espnet2_ext.svs.alignment``.
"""
