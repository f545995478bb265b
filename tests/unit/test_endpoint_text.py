"""The text half of end-of-turn: partial transcripts -> finished / unfinished, and how the
smart-turn endpointer reads them with the judge's answer (a ladder of hangovers)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.config import EndpointSettings
from daemon.vad.endpoint import Decision, Endpointer
from daemon.vad.wording import TextSignal, text_signal

UNFINISHED, FINISHED, UNKNOWN = TextSignal.UNFINISHED, TextSignal.FINISHED, TextSignal.UNKNOWN


@pytest.mark.parametrize(
    ("partial", "expected"),
    [
        # English: function words, prepositions, numbers at the end need more
        ("set a timer for", UNFINISHED),
        ("Set a timer for...", UNFINISHED),  # Whisper's ellipsis
        ("What is the forecast for?", UNFINISHED),  # Whisper's question mark after "for"
        ("turn off the", UNFINISHED),
        ("add eggs to", UNFINISHED),
        ("salt and", UNFINISHED),
        ("remind me in 10", UNFINISHED),
        ("wake me up at six", UNFINISHED),
        ("count down from 100", UNFINISHED),
        ("Play some music for,", UNFINISHED),  # a trailing comma
        ("um", UNFINISHED),
        ("what time is it", FINISHED),
        ("What time is it?", FINISHED),
        ("Set a timer for 5 minutes.", FINISHED),
        ("turn off the bedroom lights", FINISHED),
        ("thank you", FINISHED),
        ("forty five minutes please", FINISHED),
        # Mandarin: 的, 帮我, 一个, 把, 给, numerals
        ("帮我", UNFINISHED),
        ("今天的", UNFINISHED),
        ("定一个", UNFINISHED),
        ("把", UNFINISHED),
        ("打电话给", UNFINISHED),
        ("明天早上七", UNFINISHED),
        ("二十五", UNFINISHED),
        ("音量调到", UNFINISHED),
        ("帮我，", UNFINISHED),
        ("现在几点", FINISHED),
        ("现在几点？", FINISHED),
        ("打开客厅的灯。", FINISHED),
        ("二加二等于几", FINISHED),
        ("明天会下雨吗", FINISHED),
        # the ASR is unsure of its last words, or still decoding them (daemon.asr.base)
        ("番我。…", UNFINISHED),
        ("Open the door.…", UNFINISHED),
        ("…", UNFINISHED),
        # nothing heard (yet)
        ("", UNKNOWN),
        ("  ", UNKNOWN),
        ("。", UNKNOWN),
        ("?!", UNKNOWN),
    ],
)
def test_text_signal(partial: str, expected: TextSignal) -> None:
    assert text_signal(partial) is expected


@given(st.text(max_size=60))
def test_any_text_gets_a_signal(partial: str) -> None:
    assert text_signal(partial) in set(TextSignal)


# --- the ladder ---------------------------------------------------------------------------------

HOP = 0.032
SMART = EndpointSettings(mode="smart-turn")  # judge at 0.2, finished 0.45, plain 0.6, long 1.3


def ends_after(answer: float, heard: str, during_speech: bool = True) -> float | None:
    """Seconds of silence at which a request ends: 0.64 s of speech, then silence; the partial
    is `heard` from the speech on (or only from the silence on)."""
    ep = Endpointer(SMART, judge=lambda: answer)
    for i in range(20):
        ep.process(HOP, 0.9, None, heard if during_speech and i > 0 else "")
    for i in range(1, 60):
        if ep.process(HOP, 0.0, None, heard) is not Decision.CONTINUE:
            return round(i * HOP, 3)
    return None


@pytest.mark.parametrize(
    ("answer", "heard", "silence"),
    [
        (0.9, "what time is it", 0.224),  # judge yes, finished text: at the first question
        (0.9, "现在几点", 0.224),
        (0.2, "what time is it", 0.288 + HOP),  # text alone: the finished hangover (0.3)
        (0.99, "What time is it?…", 1.312),  # the ASR is unsure of its words: the long one
        (0.9, "", 0.608),  # judge alone: the plain hangover (0.6)
        (0.2, "", 1.312),  # nothing says finished: the long hangover (1.3)
        (0.99, "set a timer for", 1.312),  # unfinished text overrules the judge
        (0.99, "帮我", 1.312),
        (0.99, "remind me at 9", 1.312),
    ],
)
def test_ladder(answer: float, heard: str, silence: float) -> None:
    assert ends_after(answer, heard) == pytest.approx(silence)


def test_text_decoded_at_the_pause_counts() -> None:
    """Whisper decodes a stretch once its pause begins: text that appears in the silence is
    fresh (and ends the turn with the judge's earlier yes)."""
    assert ends_after(0.9, "what time is it", during_speech=False) == pytest.approx(0.224)


def test_text_of_an_earlier_stretch_does_not_vouch_for_the_words_after_it() -> None:
    """The text "what is the weather like" decoded at a first pause, then "for" spoken and a second
    pause: the old text is stale until the ASR has heard the new words."""
    ep = Endpointer(SMART, judge=lambda: 0.95)
    feed = [(0.9, "")] * 20 + [(0.0, "")] * 5 + [(0.0, "what is the weather like")] * 10
    feed += [(0.9, "what is the weather like")] * 8  # "for", not decoded yet
    for prob, heard in feed:
        assert ep.process(HOP, prob, None, heard) is Decision.CONTINUE
    assert ep.text is UNKNOWN
    silence = [ep.process(HOP, 0.0, None, "what is the weather like") for _ in range(15)]
    assert Decision.END_OF_SPEECH not in silence[:14]  # not at the judge's yes (0.224 s)
    assert ep.process(HOP, 0.0, None, "what is the weather like for") is Decision.CONTINUE
    assert ep.text is UNFINISHED
