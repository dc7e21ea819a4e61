# shellcheck shell=bash
# Where the corpora live. Empty VISUALSINGER: the recipe generates its embedded demo corpus.
# VISUALSINGER: utterance layout (docs/data_contract.md); VISUALSINGER_RAW: song-level performance videos.
VISUALSINGER=${VISUALSINGER:-}
VISUALSINGER_RAW=${VISUALSINGER_RAW:-}
