"""Importing espnet2 for inference without typeguard's start-up cost.

espnet2 decorates about 160 of its constructors and functions with typeguard's ``@typechecked``,
which rewrites and recompiles each one when its module is imported: about 7 of the 16 s that
loading a model for ``perform`` took on the 2-core machine (bench/bench_perform.py). The checks it
adds raise on a wrongly typed argument and do nothing else. ``perform`` builds every input of the
model itself, so it imports espnet2 with ``@typechecked`` left as a plain pass-through; training
and the recipe's stages keep espnet's checks.

Only an import that has not happened yet is affected: once espnet2's modules are loaded (a
training in the same process, say), this changes nothing.
"""

import sys

_ESPNET_MODULE = "espnet2.tasks.abs_task"


def skip_espnet_typechecks() -> bool:
    """Make ``typeguard.typechecked`` a pass-through for espnet2's modules imported from now on.

    Returns False (and changes nothing) when espnet2 was already imported.
    """
    if _ESPNET_MODULE in sys.modules:
        return False
    import typeguard

    def passthrough(target=None, **_kwargs):
        return target if target is not None else (lambda func: func)

    typeguard.typechecked = passthrough
    return True
