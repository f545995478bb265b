"""The box's own web console: live state, microphone level and wake score, the conversation
with each reply's audio, latency over time, health, a persona editor, a text chat box and
push-to-talk. Served by the daemon (`web:` in voiced.yaml) on the daemon's event loop.

The console only talks to a ConsoleBackend (backend.py); the daemon provides one and feeds the
EventHub (hub.py) through a ConsoleTap."""
