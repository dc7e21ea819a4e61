"""Run a callback when a module is imported (immediately if it already is).

Used to register this project's classes into espnet2's module-level registries without paying
espnet's import time whenever ``espnet2_ext`` is imported by a light tool.
"""

import importlib.abc
import importlib.util
import sys
from typing import Callable, Dict, List

_callbacks: Dict[str, List[Callable]] = {}


class _PostImportFinder(importlib.abc.MetaPathFinder):
    """Wraps the loader of watched modules so that callbacks run after the module executed."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in _callbacks:
            return None
        # Ask the remaining finders for the real spec.
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        original_exec = loader.exec_module

        def exec_module(module, _orig=original_exec, _name=fullname):
            _orig(module)
            for callback in _callbacks.pop(_name, []):
                callback(module)

        loader.exec_module = exec_module
        return spec


_finder = _PostImportFinder()


def when_imported(module_name: str, callback: Callable) -> None:
    """Call ``callback(module)`` once ``module_name`` has been imported."""
    if module_name in sys.modules:
        callback(sys.modules[module_name])
        return
    _callbacks.setdefault(module_name, []).append(callback)
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)
