"""Where the repository and its recipe are, for tests anywhere under tests/."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
RECIPE = REPO_ROOT / "egs2" / "visualsinger" / "svs1"
CONF = RECIPE / "conf"
