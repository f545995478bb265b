"""The heart: wake word -> recording -> transcript -> reply -> speech -> follow-up."""
