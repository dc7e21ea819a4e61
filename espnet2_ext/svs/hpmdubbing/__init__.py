"""HPMDubbing(-P) baseline: lip-queried text attention, mel length tied to the video length.

The class loads on first use (``from espnet2_ext.svs.hpmdubbing import HPMDubbing``), so that
``needs`` (what the recipe asks) imports without torch.
"""

__all__ = ["HPMDubbing"]


def __getattr__(name):
    if name == "HPMDubbing":
        from espnet2_ext.svs.hpmdubbing.hpmdubbing import HPMDubbing

        return HPMDubbing
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
