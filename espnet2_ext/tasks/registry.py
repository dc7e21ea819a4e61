"""Registration of this project's classes into espnet2's SVS registries.

espnet2 keeps its choices in module-level ``ClassChoices`` objects; adding a lowercase key makes
the class selectable from YAML (``svs: performsinger``) in any task that reads them, including
DDP worker processes, which re-import this package.
"""



def svs_classes():
    """Name -> class of every SVS model this project provides."""
    from espnet2_ext.svs.hpmdubbing import HPMDubbing
    from espnet2_ext.svs.performsinger.performsinger import PerformSinger

    return {"performsinger": PerformSinger, "hpmdubbing": HPMDubbing}


def register_all(svs_task=None) -> None:
    """Add our SVS classes and the lip-aware model wrapper to espnet2's registries.

    ``svs_task`` is the module ``espnet2.tasks.svs`` (passed in by the import hook while that
    module finishes importing; imported here otherwise).
    """
    if svs_task is None:
        from espnet2.tasks import svs as svs_task
    from espnet2_ext.svs.visual_model import VisualESPnetSVSModel

    for name, cls in svs_classes().items():
        svs_task.svs_choices.classes[name] = cls
    svs_task.model_type_choices.classes["visual_svs"] = VisualESPnetSVSModel
