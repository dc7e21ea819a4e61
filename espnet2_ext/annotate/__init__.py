"""Corpus building from raw performance videos and their lyrics (docs/annotate.md)."""
