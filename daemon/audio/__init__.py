"""Audio frames, reframing, resampling, and the sources and sinks that move them."""
