"""Option dicts of the SVS modules (`encoder_conf`, `decoder_conf`, ...): defaults merged, unknown keys refused."""

from typing import Any, Dict, Optional


def merge_conf(defaults: Dict[str, Any], conf: Optional[Dict[str, Any]], owner: str) -> Dict[str, Any]:
    """Return defaults updated by conf; raise ValueError naming any key the owner does not know."""
    conf = dict(conf or {})
    unknown = sorted(set(conf) - set(defaults))
    if unknown:
        raise ValueError(f"{owner}: unknown option(s) {unknown}; valid options: {sorted(defaults)}")
    return {**defaults, **conf}
