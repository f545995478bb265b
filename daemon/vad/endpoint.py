"""The endpointer: decides when a request has ended, counting audio time only.

A small pure object (after Home Assistant's VoiceCommandSegmenter): it is fed the length of each
VAD chunk and its speech probability, and answers whether to keep recording. Nothing here reads a
clock, so tests drive it with floats and a WAV file always ends at the same sample.

Three modes (`endpoint.mode`):
- fixed: a fixed silence (`silence_seconds`) ends the request.
- adaptive: the silence depends on the streaming partial transcript (`hangover_for`).
- smart-turn: at a short silence (`judge_silence_seconds`) an end-of-turn judge (Smart Turn)
  is asked whether the turn sounds finished; yes ends it there, no keeps listening and asks
  again every `judge_interval_seconds`, up to `unfinished_silence_seconds`. A partial transcript
  that ends on a word needing more ("for", "的") vetoes the judge's yes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from daemon.config import EndpointSettings

HYSTERESIS = 0.15  # below threshold - this is silence; in between keeps the previous verdict


class Decision(StrEnum):
    CONTINUE = "continue"
    END_OF_SPEECH = "end-of-speech"  # speech, then `silence_seconds` of silence
    NO_SPEECH = "no-speech"  # nobody spoke within the timeout (or before the cap)
    MAX_LENGTH = "max-length"  # speech went on to the hard cap


@dataclass(frozen=True, slots=True)
class Verdict:
    """One answer of the end-of-turn judge: at audio time `at`, after `silence` seconds of it."""

    at: float
    silence: float
    probability: float


Judge = Callable[[], float]  # P(turn complete) for the audio heard so far


class Endpointer:
    def __init__(
        self, settings: EndpointSettings, threshold: float = 0.5, judge: Judge | None = None
    ) -> None:
        """`judge`: asked in smart-turn mode; without one smart-turn falls back to adaptive."""
        self._settings = settings
        self._threshold = threshold
        self._judge = judge if settings.mode == "smart-turn" else None
        self.verdict: Verdict | None = None  # the judge's latest answer in this silence, if any
        self._next_judgement = settings.judge_silence_seconds
        self.elapsed = 0.0
        self.speech_seconds = 0.0
        self.speech_started = False
        self.last_speech_end = 0.0  # audio time (from the start) where speech last stopped
        self.speech_start = 0.0  # audio time where the speech that started the request began
        self._speaking = False
        self._speech_run = 0.0
        self._silence_run = 0.0
        self._hangover = settings.silence_seconds

    def process(
        self, seconds: float, speech_prob: float, hangover: float | None = None
    ) -> Decision:
        """`hangover`: the silence that ends this request, if the caller knows better than the
        default (see `hangover_for`)."""
        self._hangover = self._settings.silence_seconds if hangover is None else hangover
        if self._judge is not None:
            self._hangover = self._settings.unfinished_silence_seconds
        self.elapsed += seconds
        self._update_speaking(speech_prob)
        if self._speaking:
            self._speech_run += seconds
            self.speech_seconds += seconds
            self._silence_run = 0.0
            self.last_speech_end = self.elapsed
            if not self.speech_started and self._speech_run >= self._settings.min_speech_seconds:
                self.speech_started = True
                self.speech_start = self.elapsed - self._speech_run
        else:
            self._speech_run = 0.0
            self._silence_run += seconds
        if self._speaking:
            self.verdict = None
            self._next_judgement = self._settings.judge_silence_seconds
        elif self._judged_complete(hangover):
            return Decision.END_OF_SPEECH
        return self._decide()

    def _judged_complete(self, hangover: float | None) -> bool:
        """Smart-turn mode: ask the judge at each checkpoint of this silence.

        A partial transcript that sounds unfinished (its hangover is the long one) vetoes a yes.
        """
        s = self._settings
        if self._judge is None or not self.speech_started:
            return False
        if self._silence_run < self._next_judgement - 1e-9:
            return False
        while self._next_judgement <= self._silence_run + 1e-9:
            self._next_judgement += s.judge_interval_seconds
        self.verdict = Verdict(self.elapsed, self._silence_run, self._judge())
        unfinished = hangover is not None and hangover >= s.unfinished_silence_seconds
        return self.verdict.probability >= s.complete_threshold and not unfinished

    def _update_speaking(self, prob: float) -> None:
        if prob >= self._threshold:
            self._speaking = True
        elif prob < self._threshold - HYSTERESIS:
            self._speaking = False

    def _decide(self) -> Decision:
        s = self._settings
        if self.speech_started and self._silence_run >= self._hangover:
            return Decision.END_OF_SPEECH
        if self.elapsed >= s.max_utterance_seconds:
            return Decision.MAX_LENGTH if self.speech_started else Decision.NO_SPEECH
        if not self.speech_started and self.elapsed >= s.no_speech_timeout_seconds:
            return Decision.NO_SPEECH
        return Decision.CONTINUE


# Words after which a sentence is rarely finished: a pause after them is a pause, not the end.
_CONTINUATIONS = (
    "a an the and or but to of in on at for with from by my your his her our their this that "
    "these those is are was were be what where when which who how about like um uh er so "
    "because if please can could would"
)
CONTINUATION_WORDS = frozenset(_CONTINUATIONS.split())
CONTINUATION_ENDINGS_ZH = (
    "的",
    "和",
    "还有",
    "然后",
    "就是",
    "那个",
    "嗯",
    "呃",
    "在",
    "把",
    "给",
    "跟",
    "是",
    "要",
    "帮我",
    "请",
    "一个",
)


def hangover_for(partial: str, settings: EndpointSettings) -> float:
    """How much silence ends the request, from what the streaming ASR has heard so far.

    No partial transcript (an offline ASR): the default. One that ends on a word that needs
    more ("what is the weather in", "帮我查一下明天的"): the longer hangover, so a pause to think
    is not taken for the end. Otherwise the sentence looks finished: the shorter one.
    """
    text = partial.strip().lower()
    if not text:
        return settings.silence_seconds
    words = text.split()
    if words[-1] in CONTINUATION_WORDS or text.endswith(CONTINUATION_ENDINGS_ZH):
        return settings.unfinished_silence_seconds
    return settings.finished_silence_seconds
