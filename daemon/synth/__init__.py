"""Speech made on the box, for tests and for wake-word training: espeak-ng voices and real
recorded Mandarin syllables (Debian's gcin-voice) joined into sentences. Nothing is downloaded."""
