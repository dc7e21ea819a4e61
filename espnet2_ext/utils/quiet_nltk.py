"""Stop nltk from trying to download corpora at import time.

``g2p_en`` (pulled in by espnet's text frontends) calls ``nltk.download`` on import. Without
network access that prints a page of connection errors. This project never uses English g2p, so
the download is replaced by a no-op that reports "not available".
"""

import sys


def silence_nltk_downloads() -> None:
    """Make ``nltk.download`` a silent no-op (it is only ever called for optional g2p data)."""
    try:
        import nltk
    except ImportError:  # nltk absent: nothing to silence
        return
    if getattr(nltk.download, "_espnet2_ext_silenced", False):
        return

    def _no_download(*args, **kwargs):
        return False

    _no_download._espnet2_ext_silenced = True
    nltk.download = _no_download
    if "nltk.downloader" in sys.modules:
        sys.modules["nltk.downloader"].download = _no_download
