"""voiced: an always-on voice assistant daemon for a smart-speaker box."""

__version__ = "0.1.0"
