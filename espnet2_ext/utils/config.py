"""YAML configs that inherit: ``base_config:`` names the file(s) a config states its differences from.

    conf/train_sma.yaml                 base_config: base/demo.yaml       (path relative to this file)
        svs_conf: {fusion: sma, ...}    only what differs
    --load_config--> one dict: the bases merged in order, then this file on top

Merging is recursive for mappings (``svs_conf``, ``*_conf``: a child's key replaces the base's key of
the same name, other keys stay) and replacing for everything else (lists, scalars). A key set to
``null`` in the child stays ``null``. ``base_config`` may be one path or a list (merged left to
right). The merged dict never contains ``base_config``.

Values that follow from others are not written in configs: the task derives them
(``svs_conf.frame_rate`` from ``feats_extract_conf``, espnet2_ext/tasks/visual_svs.py).

The shell reads settings through the same loader: ``python -m espnet2_ext.utils.config FILE KEY``
prints one (dotted) key of the merged config, or an empty line when it is absent.
"""

import argparse
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import yaml

PathLike = Union[str, Path]


class ConfigError(ValueError):
    """A config (or one of its bases) that cannot be read or merged."""


def merge(base: Dict[str, Any], child: Dict[str, Any]) -> Dict[str, Any]:
    """``child`` on top of ``base``: mappings merge key by key, any other value replaces."""
    out = dict(base)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def _read(path: Path) -> Dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read config ({e})") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({e})") from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config must be a mapping of keys to values, got {type(data).__name__}")
    return data


def _load(path: Path, chain: List[Path]) -> Dict[str, Any]:
    path = path.resolve()
    if path in chain:
        loop = " -> ".join(str(p) for p in [*chain, path])
        raise ConfigError(f"{path}: base_config loop: {loop}")
    data = _read(path)
    bases = data.pop("base_config", None)
    if bases is None:
        return data
    if isinstance(bases, str):
        bases = [bases]
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        raise ConfigError(f"{path}: base_config must be a path or a list of paths, got {bases!r}")
    merged: Dict[str, Any] = {}
    for base in bases:
        base_path = (path.parent / base) if not Path(base).is_absolute() else Path(base)
        if not base_path.is_file():
            raise ConfigError(f"{path}: base_config {base!r} not found (looked for {base_path})")
        merged = merge(merged, _load(base_path, [*chain, path]))
    return merge(merged, data)


def load_config(path: PathLike) -> Dict[str, Any]:
    """The merged config of ``path`` (see the module docstring)."""
    return _load(Path(path), [])


def get(conf: Dict[str, Any], dotted: str) -> Optional[Any]:
    """``conf["a"]["b"]`` for ``"a.b"``; None when any part is absent."""
    value: Any = conf
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Print a config merged over its base_config chain, or one key of it.")
    parser.add_argument("config")
    parser.add_argument("key", nargs="?", help="dotted key, e.g. svs_conf.use_visual; absent -> empty line")
    a = parser.parse_args(argv)
    try:
        conf = load_config(a.config)
    except ConfigError as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1
    if a.key is None:
        yaml.safe_dump(conf, sys.stdout, sort_keys=False, allow_unicode=True)
    else:
        value = get(conf, a.key)
        print("" if value is None else value)
    return 0


if __name__ == "__main__":
    sys.exit(main())
