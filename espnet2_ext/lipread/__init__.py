"""Lip-reading pretraining of the lip encoder (used when no pretrained LRW weights are at hand)."""
