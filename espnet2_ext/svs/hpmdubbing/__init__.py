"""HPMDubbing(-P) baseline: lip-queried text attention, mel length tied to the video length."""

from espnet2_ext.svs.hpmdubbing.hpmdubbing import HPMDubbing

__all__ = ["HPMDubbing"]
