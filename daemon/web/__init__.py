"""The box's own web console: live state, microphone level and wake score, the conversation
with each reply's audio, latency over time, health, a persona editor, a text chat box and
push-to-talk. Served by the daemon (`web:` in voiced.yaml, or `voiced run --web`) on the daemon's
own event loop (server.py).

The console only talks to a ConsoleBackend (backend.py) and an EventHub (hub.py); the daemon
provides them through daemon/web/wiring.py: finished turns (Daemon.on_turn_end), every phase
change (Daemon.on_state) and every microphone frame (Daemon.on_frame), on the event loop's
thread; chat, push-to-talk, persona editing and health run on the daemon's own model workers.

Both cost one length check while no browser watches (measured: scripts/bench web-console).
"""
