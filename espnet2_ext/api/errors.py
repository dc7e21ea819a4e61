"""The one error class of bad user input to ``perform`` / ``Performer`` (a ValueError).

Every subclass message names the input (file, option, syllable, note or line) and what to pass
instead; the command prints it on one line and writes nothing.
"""


class InputError(ValueError):
    """Bad input to a performance: a video, lyrics, notes, a reference or a packed model."""
