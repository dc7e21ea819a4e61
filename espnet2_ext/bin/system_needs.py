"""Answer what a training config's system needs from the recipe (svs.sh asks instead of matching names).

    python -m espnet2_ext.bin.system_needs --config conf/train_performsinger.yaml --field two_stage
        -> true
    python -m espnet2_ext.bin.system_needs --config exp/svs_x/config.yaml     every field, "name: value"

    config (base_config chain merged, espnet2_ext/utils/config.py) -> svs, svs_conf
        -> tasks/registry.needs_of_config -> SystemNeeds (espnet2_ext/svs/needs.py)
Booleans print as true/false, lists as space-separated words. A config that cannot be read, has no
``svs`` or names an unknown one is an error naming the file (exit status 1).
"""

import argparse
import sys
from typing import Any, List, Optional

from espnet2_ext.svs.needs import SystemNeeds
from espnet2_ext.tasks.registry import needs_of_config
from espnet2_ext.utils.config import ConfigError

FIELDS = tuple(SystemNeeds().as_dict())


def shell_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return " ".join(map(str, value))
    return str(value)


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, help="a training config (conf/train_*.yaml or exp/<system>/config.yaml)")
    p.add_argument("--field", choices=FIELDS, default=None, help="print this field only (default: every field)")
    a = p.parse_args(argv)
    try:
        answer = needs_of_config(a.config).as_dict()
    except ConfigError as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1
    if a.field is not None:
        print(shell_value(answer[a.field]))
    else:
        for key, value in answer.items():
            print(f"{key}: {shell_value(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
