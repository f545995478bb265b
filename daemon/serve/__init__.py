"""`voiced serve`: one GPU machine's ASR and TTS for many boxes, over OpenAI's audio API."""
