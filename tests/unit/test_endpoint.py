"""The Endpointer, driven by floats: 32 ms VAD chunks and their speech probabilities.

Chunk indexes below are 0-based. With HOP = 0.032 s:
  min_speech 0.2 s   -> speech has started on its 7th speech chunk (7 * 0.032 = 0.224)
  silence 0.6 s      -> ends on the 19th silent chunk (18.75 chunks)
  no-speech 5.0 s    -> index 156 (157 * 0.032 = 5.024)
  cap 15.0 s         -> index 468 (469 * 0.032 = 15.008)
"""

from __future__ import annotations

import math

import pytest

from daemon.config import EndpointSettings
from daemon.vad.endpoint import HYSTERESIS, Decision, Endpointer

HOP = 0.032
SPEECH, SILENCE = 0.9, 0.05
DEFAULTS = EndpointSettings(
    silence_seconds=0.6,
    min_speech_seconds=0.2,
    no_speech_timeout_seconds=5.0,
    max_utterance_seconds=15.0,
)


def settings(**changes: float) -> EndpointSettings:
    return DEFAULTS.model_copy(update=changes)


def drive(probs: list[float], endpointer: Endpointer | None = None) -> list[Decision]:
    ep = endpointer or Endpointer(DEFAULTS)
    return [ep.process(HOP, p) for p in probs]


def first(decisions: list[Decision], wanted: Decision) -> int | None:
    return next((i for i, d in enumerate(decisions) if d == wanted), None)


def first_final(decisions: list[Decision]) -> tuple[int, Decision] | None:
    return next(((i, d) for i, d in enumerate(decisions) if d != Decision.CONTINUE), None)


def n(count: int, prob: float) -> list[float]:
    return [prob] * count


# --- end of speech -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("silence_seconds", "speech_chunks", "expected_index"),
    [
        (0.6, 10, 10 + 18),  # 19th silent chunk: 0.608 s
        (0.3, 10, 10 + 9),  # 10th silent chunk: 0.320 s
        (1.0, 10, 10 + 31),  # 32nd silent chunk: 1.024 s
        (0.64, 10, 10 + 19),  # an exact multiple of the hop: the 20th silent chunk, not the 21st
        (0.6, 7, 7 + 18),  # just enough speech (0.224 s >= 0.2 s)
    ],
)
def test_ends_exactly_after_silence_seconds(
    silence_seconds: float, speech_chunks: int, expected_index: int
) -> None:
    ep = Endpointer(settings(silence_seconds=silence_seconds))
    decisions = drive(n(speech_chunks, SPEECH) + n(60, SILENCE), ep)

    assert first_final(decisions) == (expected_index, Decision.END_OF_SPEECH)
    assert math.ceil(silence_seconds / HOP - 1e-9) == expected_index - speech_chunks + 1


def test_speech_seconds_elapsed_and_last_speech_end_at_the_end() -> None:
    ep = Endpointer(DEFAULTS)
    decisions = []
    for p in n(10, SPEECH) + n(19, SILENCE):
        decisions.append(ep.process(HOP, p))

    assert decisions[-1] == Decision.END_OF_SPEECH
    assert decisions[:-1] == [Decision.CONTINUE] * 28
    assert ep.speech_started
    assert ep.elapsed == pytest.approx(29 * HOP)
    assert ep.speech_seconds == pytest.approx(10 * HOP)
    assert ep.last_speech_end == pytest.approx(10 * HOP)


def test_initial_state() -> None:
    ep = Endpointer(DEFAULTS)
    assert (ep.elapsed, ep.speech_seconds, ep.last_speech_end, ep.speech_started) == (
        0.0, 0.0, 0.0, False,
    )


def test_speech_started_on_the_chunk_that_reaches_min_speech() -> None:
    ep = Endpointer(DEFAULTS)
    started = []
    for p in n(8, SPEECH):
        ep.process(HOP, p)
        started.append(ep.speech_started)
    assert started == [False] * 6 + [True, True]  # 6 * 0.032 = 0.192 < 0.2 <= 0.224


def test_leading_silence_counts_in_elapsed_not_speech() -> None:
    ep = Endpointer(DEFAULTS)
    decisions = drive(n(20, SILENCE) + n(10, SPEECH) + n(19, SILENCE), ep)
    assert first_final(decisions) == (48, Decision.END_OF_SPEECH)
    assert ep.elapsed == pytest.approx(49 * HOP)
    assert ep.speech_seconds == pytest.approx(10 * HOP)
    assert ep.last_speech_end == pytest.approx(30 * HOP)


# --- clicks, pauses, hysteresis ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("probs", "expected"),
    [
        pytest.param(n(3, SPEECH) + n(200, SILENCE), (156, Decision.NO_SPEECH), id="one-click"),
        pytest.param(
            n(6, SPEECH) + n(2, SILENCE) + n(6, SPEECH) + n(200, SILENCE),
            (156, Decision.NO_SPEECH),
            id="two-clicks-do-not-add-up",
        ),
        pytest.param(
            n(3, SPEECH) + n(30, SILENCE) + n(10, SPEECH) + n(30, SILENCE),
            (43 + 18, Decision.END_OF_SPEECH),
            id="click-then-real-speech",
        ),
    ],
)
def test_short_click_does_not_start_speech(
    probs: list[float], expected: tuple[int, Decision]
) -> None:
    assert first_final(drive(probs)) == expected


def test_click_is_still_counted_in_speech_seconds() -> None:
    ep = Endpointer(DEFAULTS)
    drive(n(3, SPEECH) + n(5, SILENCE), ep)
    assert not ep.speech_started
    assert ep.speech_seconds == pytest.approx(3 * HOP)
    assert ep.last_speech_end == pytest.approx(3 * HOP)


@pytest.mark.parametrize(
    ("pause_chunks", "ends"),
    [
        (5, False),
        (18, False),  # 0.576 s < 0.6 s
        (19, True),  # 0.608 s: that is the end
    ],
)
def test_pause_shorter_than_hangover_does_not_end(pause_chunks: int, ends: bool) -> None:
    ep = Endpointer(DEFAULTS)
    decisions = drive(n(10, SPEECH) + n(pause_chunks, SILENCE) + n(10, SPEECH), ep)
    if ends:
        assert first_final(decisions) == (10 + 18, Decision.END_OF_SPEECH)
        return
    assert first_final(decisions) is None
    speech_end = 10 + pause_chunks + 10
    assert ep.last_speech_end == pytest.approx(speech_end * HOP)
    assert ep.speech_seconds == pytest.approx(20 * HOP)
    # The hangover restarts from the last speech: 19 more silent chunks end it.
    more = drive(n(19, SILENCE), ep)
    assert more == [Decision.CONTINUE] * 18 + [Decision.END_OF_SPEECH]
    assert ep.last_speech_end == pytest.approx(speech_end * HOP)


@pytest.mark.parametrize(
    ("middle", "still_speaking"),
    [
        (0.5, True),  # at the threshold: speech
        (0.45, True),  # in the hysteresis band: keeps "speaking"
        (0.36, True),
        (0.34, False),  # below threshold - 0.15: silence
        (0.1, False),
    ],
)
def test_hysteresis_after_speech_keeps_speaking(middle: float, still_speaking: bool) -> None:
    assert HYSTERESIS == 0.15
    ep = Endpointer(DEFAULTS, threshold=0.5)
    decisions = drive(n(10, SPEECH) + n(40, middle), ep)
    if still_speaking:
        assert first_final(decisions) is None
        assert ep.speech_seconds == pytest.approx(50 * HOP)
        assert ep.last_speech_end == pytest.approx(50 * HOP)
    else:
        assert first_final(decisions) == (28, Decision.END_OF_SPEECH)
        assert ep.speech_seconds == pytest.approx(10 * HOP)


@pytest.mark.parametrize(
    ("middle", "starts"),
    [
        (0.45, False),  # in the band, coming from silence: stays silence
        (0.36, False),
        (0.5, True),  # at the threshold: speech
        (0.7, True),
    ],
)
def test_hysteresis_from_silence_keeps_silence(middle: float, starts: bool) -> None:
    ep = Endpointer(DEFAULTS)
    drive(n(5, SILENCE) + n(20, middle), ep)
    assert ep.speech_started is starts
    assert ep.speech_seconds == pytest.approx(20 * HOP if starts else 0.0)


def test_hysteresis_uses_the_given_threshold() -> None:
    ep = Endpointer(DEFAULTS, threshold=0.8)
    drive(n(10, 0.75), ep)  # 0.75 < 0.8 from silence: not speech
    assert ep.speech_seconds == 0.0
    drive(n(10, 0.85) + n(10, 0.7), ep)  # 0.7 >= 0.8 - 0.15: stays speech
    assert ep.speech_seconds == pytest.approx(20 * HOP)
    drive(n(1, 0.6), ep)  # 0.6 < 0.65: silence
    assert ep.speech_seconds == pytest.approx(20 * HOP)


# --- timeouts and the cap ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings_changes", "probs", "expected"),
    [
        pytest.param({}, n(400, SILENCE), (156, Decision.NO_SPEECH), id="no-speech-timeout"),
        pytest.param(
            {"no_speech_timeout_seconds": 1.0},
            n(100, SILENCE),
            (31, Decision.NO_SPEECH),  # 32 * 0.032 = 1.024
            id="no-speech-timeout-1s",
        ),
        pytest.param(
            {}, n(600, SPEECH), (468, Decision.MAX_LENGTH), id="cap-while-speaking"
        ),
        pytest.param(
            {"max_utterance_seconds": 3.0},
            n(10, SPEECH) + n(5, SILENCE) + n(200, SPEECH),
            (93, Decision.MAX_LENGTH),  # 94 * 0.032 = 3.008
            id="cap-after-pauses",
        ),
        pytest.param(
            {"max_utterance_seconds": 3.0, "no_speech_timeout_seconds": 10.0},
            n(200, SILENCE),
            (93, Decision.NO_SPEECH),
            id="cap-never-started",
        ),
        pytest.param(
            {"max_utterance_seconds": 3.0, "no_speech_timeout_seconds": 10.0},
            (n(3, SPEECH) + n(3, SILENCE)) * 40,
            (93, Decision.NO_SPEECH),
            id="cap-only-clicks",
        ),
        pytest.param(
            {},
            n(100, SILENCE) + n(400, SPEECH),
            (468, Decision.MAX_LENGTH),  # speech started before 5 s: no-speech no longer applies
            id="late-speech-then-cap",
        ),
    ],
)
def test_timeouts(
    settings_changes: dict[str, float], probs: list[float], expected: tuple[int, Decision]
) -> None:
    ep = Endpointer(settings(**settings_changes))
    assert first_final(drive(probs, ep)) == expected


def test_cap_reports_elapsed_and_speech() -> None:
    ep = Endpointer(settings(max_utterance_seconds=3.0))
    decisions = drive(n(94, SPEECH), ep)
    assert decisions[-1] == Decision.MAX_LENGTH
    assert first(decisions, Decision.MAX_LENGTH) == 93
    assert ep.elapsed == pytest.approx(94 * HOP)
    assert ep.speech_seconds == pytest.approx(94 * HOP)
    assert ep.last_speech_end == pytest.approx(94 * HOP)


def test_end_of_speech_wins_over_the_cap_on_the_same_chunk() -> None:
    # Silence reaches 0.6 s on the very chunk that reaches the 3 s cap.
    ep = Endpointer(settings(max_utterance_seconds=3.0))
    decisions = drive(n(94 - 19, SPEECH) + n(19, SILENCE), ep)
    assert first_final(decisions) == (93, Decision.END_OF_SPEECH)


def test_variable_chunk_lengths_add_up_in_audio_time() -> None:
    ep = Endpointer(DEFAULTS)
    assert ep.process(0.25, SPEECH) == Decision.CONTINUE  # one long chunk is enough speech
    assert ep.speech_started
    assert ep.process(0.5, SILENCE) == Decision.CONTINUE
    assert ep.process(0.1, SILENCE) == Decision.END_OF_SPEECH
    assert ep.elapsed == pytest.approx(0.85)
    assert ep.last_speech_end == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("partial", "expected"),
    [
        ("", 0.6),  # an offline ASR: no partial, the default
        ("what time is it", 0.3),
        ("set a timer for", 1.3),
        ("what is the weather in", 1.3),
        ("帮我查一下明天的", 1.3),
        ("明天会下雨吗", 0.3),
        ("What time is it?…", 1.3),  # the ASR is unsure of its words
    ],
)
def test_hangover_follows_the_partial_transcript(partial: str, expected: float) -> None:
    from daemon.vad.endpoint import hangover_for

    assert hangover_for(partial, EndpointSettings()) == expected


def test_a_longer_hangover_keeps_a_thinking_pause_inside_the_request() -> None:
    endpointer = Endpointer(EndpointSettings())
    for _ in range(20):  # 0.64 s of speech
        endpointer.process(0.032, 0.9, hangover=1.3)
    decisions = [endpointer.process(0.032, 0.0, hangover=1.3) for _ in range(30)]  # 0.96 s
    assert set(decisions) == {Decision.CONTINUE}
    assert endpointer.process(0.032, 0.0, hangover=0.45) is Decision.END_OF_SPEECH
