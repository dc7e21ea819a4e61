"""Python API: sing lyrics onto your own video with a trained or packed system.

    from espnet2_ext.api import Performer
    performer = Performer.from_pretrained("svs_performsinger.zip", device="cpu")
    song = performer("in.mp4", "月亮照在小河上", "A3 B3 C4 C4 D4 E4 D4", "voice.wav")
    song.wav, song.fs, song.phones, song.boundaries     # (T,) float32, Hz, (N,), (N + 1,) seconds
"""

from espnet2_ext.api.errors import InputError
from espnet2_ext.api.performer import Performance, Performer

__all__ = ["InputError", "Performance", "Performer"]
