"""espnet2_ext: PerformSinger, multimodal duration-free singing voice synthesis on ESPnet2.

Importing this package

* silences nltk's download attempts (espnet's text frontends import g2p_en, which tries to fetch
  nltk data at import time; there is no network where this project runs), and
* registers this project's model classes into espnet2's registries
  (``espnet2.tasks.svs.svs_choices`` and ``model_type_choices``).

Registration happens as soon as ``espnet2.tasks.svs`` is imported, before or after this package,
so that importing ``espnet2_ext`` alone stays cheap for the data tools (espnet's task modules
take several seconds to import).
"""

import os as _os

_os.environ.setdefault("NLTK_DATA", _os.path.join(_os.path.dirname(__file__), "_nltk_data"))

from espnet2_ext.utils.quiet_nltk import silence_nltk_downloads as _silence  # noqa: E402
from espnet2_ext.utils.post_import import when_imported as _when_imported  # noqa: E402

# Patched when nltk is first imported (importing it here would cost every tool ~4 s).
_when_imported("nltk", lambda _module: _silence())


def _register(_module):
    from espnet2_ext.tasks.registry import register_all

    register_all(_module)


_when_imported("espnet2.tasks.svs", _register)

__version__ = "0.1.0"
