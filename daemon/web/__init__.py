"""The box's own web console: live state, microphone level and wake score, the conversation
with each reply's audio, latency over time, health, a persona editor, a text chat box and
push-to-talk. Served by the daemon (`web:` in voiced.yaml, or `voiced run --web`) on the daemon's
own event loop (server.py).

The console only talks to a ConsoleBackend (backend.py) and an EventHub (hub.py); the daemon
provides them through daemon/web/wiring.py, which already passes finished turns (Daemon's
on_turn_end) and serves chat, push-to-talk, persona editing and health. Two feeds need the turn
machine, on the event loop's thread:

    tap.state(str(state))            on every state change (Assistant's on_state)
    tap.frame(samples, wake_score)   on every microphone frame: the int16 samples and the wake
                                     model's score for it (None when the quiet gate skipped it)

Both cost one length check while no browser watches (measured: scripts/bench web-console).
"""
