"""ChatTTS through the product's real loading and synthesis code, on tiny random assets.

The assets are built once per session by tests/fixtures/chattts_assets.py with ChatTTS's own
classes, in the layout `voiced models fetch chattts` writes, plus the voiced-chattts.json sidecar
the loader honours. Their voice is noise, but every code path is the real one: hash checks,
network construction, tokenizer, speaker embedding, streaming, decoding at 24 kHz.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from daemon.config import (
    ChatttsSettings,
    ChatttsVoice,
    EspeakSettings,
    Persona,
    Voice,
    default_models_dir,
)
from daemon.models.errors import ModelMissing
from daemon.tts.chattts import SIDECAR, ChatttsSynthesizer
from daemon.tts.espeak import EspeakSynthesizer
from daemon.tts.fallback import FallbackSynthesizer
from daemon.tts.voice_sample import render_samples
from tests.conftest import CONFIG, run_voiced
from tests.fixtures import chattts_assets
from tests.fixtures.audio import PLAIN_VOICE, AudioBuilder

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:`past_key_values` is deprecated:FutureWarning"),
]

TOKENS_PER_CHAR = 6  # fixed (min == max) so that audio length follows the text
ZH = Persona(name="小智", language="zh", system_prompt="你是小智。")


def fixed_budget(text: str) -> tuple[int, int]:
    return TOKENS_PER_CHAR * len(text), TOKENS_PER_CHAR * len(text)


def persona(**voice: object) -> Persona:
    return ZH.model_copy(update={"voice": Voice(chattts=ChatttsVoice(**voice))})  # type: ignore[arg-type]


def audio_of(tts: ChatttsSynthesizer, text: str, who: Persona = ZH) -> np.ndarray:
    chunks = list(tts.synthesize(text, who))
    assert {c.sample_rate for c in chunks} == {24000}
    return np.concatenate([c.samples for c in chunks])


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread() -> Iterator[None]:
    """Tiny networks run fastest on one thread, and with other test processes on a 2-core box
    torch's spinning worker threads slow them down tenfold. Restored for later modules."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models dir holding the tiny ChatTTS assets (built once per session)."""
    models = tmp_path_factory.mktemp("models")
    chattts_assets.build(models)
    return models


@pytest.fixture(scope="module")
def streaming(tiny_models: Path) -> ChatttsSynthesizer:
    settings = ChatttsSettings(stream=True, refine_text=False)
    return ChatttsSynthesizer(settings, tiny_models, token_budget=fixed_budget)


def test_the_tokenizer_maps_known_characters_to_real_ids(streaming: ChatttsSynthesizer) -> None:
    tokenizer = streaming.chat.tokenizer._tokenizer
    ids = tokenizer.encode("你好世界hello", add_special_tokens=False)
    assert tokenizer.unk_token_id not in ids
    assert len(tokenizer.encode("[spk_emb][speed_5]", add_special_tokens=False)) == 2


def test_audio_is_24khz_and_grows_with_the_text(streaming: ChatttsSynthesizer) -> None:
    short = audio_of(streaming, "你好。")
    long = audio_of(streaming, "今天天气很好，我们一起去公园散步吧。")
    assert 0 < len(short) < len(long)
    assert len(long) / len(short) == pytest.approx(17 / 3, rel=0.15)  # characters spoken
    assert np.abs(long).max() > 0.01  # not silence


def test_numbers_are_read_not_dropped(streaming: ChatttsSynthesizer) -> None:
    # "3.5%" is five characters in words (百分之三点五); ChatTTS alone would drop it entirely.
    assert len(audio_of(streaming, "3.5%")) == pytest.approx(
        len(audio_of(streaming, "百分之三点五")), rel=0.02
    )


def test_streamed_chunks_concatenate_to_the_whole_sentence(
    tiny_models: Path, streaming: ChatttsSynthesizer
) -> None:
    text = "今天天气很好，我们一起去公园散步，然后回家吃饭。"
    chunks = [c.samples for c in streaming.synthesize(text, ZH)]
    whole_tts = ChatttsSynthesizer(
        ChatttsSettings(stream=False, refine_text=False), tiny_models, token_budget=fixed_budget
    )
    [whole] = [c.samples for c in whole_tts.synthesize(text, ZH)]
    assert len(chunks) > 2
    streamed = np.concatenate(chunks)
    # ChatTTS's non-streamed result leaves out every sample below 1e-5: compare on the rest.
    streamed = streamed[np.abs(streamed) > 1e-5]
    assert len(streamed) == len(whole)
    np.testing.assert_allclose(streamed, whole, atol=1e-5)


def test_the_first_chunk_comes_before_the_sentence_is_finished(
    streaming: ChatttsSynthesizer,
) -> None:
    started = time.monotonic()
    iterator = streaming.synthesize("今天天气很好，我们一起去公园散步，然后回家吃饭。" * 2, ZH)
    next(iterator)
    first = time.monotonic() - started
    list(iterator)
    assert first < 0.6 * (time.monotonic() - started)


def test_the_same_speaker_gives_the_same_audio(
    tiny_models: Path, streaming: ChatttsSynthesizer
) -> None:
    text = "我的声音每次都一样。"
    first, again = (
        audio_of(streaming, text, persona(seed=7)),
        audio_of(streaming, text, persona(seed=7)),
    )
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first[:4000], audio_of(streaming, text, persona(seed=8))[:4000])

    stored = tiny_models / "chattts" / "voices" / "seed-7.txt"
    speaker = stored.read_text().strip()
    np.testing.assert_array_equal(
        first, audio_of(streaming, text, persona(speaker=speaker, seed=7))
    )


def test_a_stored_seed_voice_wins_over_drawing_it_again(tiny_models: Path) -> None:
    """Once stored, the speaker file is the voice: a changed RNG cannot change it."""
    settings = ChatttsSettings(stream=False, refine_text=False)
    first = ChatttsSynthesizer(settings, tiny_models, token_budget=fixed_budget)
    other_voice = first.sample_speaker(12345)
    (tiny_models / "chattts" / "voices").mkdir(exist_ok=True)
    (tiny_models / "chattts" / "voices" / "seed-99.txt").write_text(other_voice + "\n")
    fresh = ChatttsSynthesizer(settings, tiny_models, token_budget=fixed_budget)
    assert fresh.speaker_for(ChatttsVoice(seed=99)) == other_voice


def test_a_stored_voice_from_other_assets_is_drawn_again(tiny_models: Path) -> None:
    voices = tiny_models / "chattts" / "voices"
    voices.mkdir(exist_ok=True)
    (voices / "seed-41.txt").write_text("not a speaker of this model\n")
    tts = ChatttsSynthesizer(ChatttsSettings(stream=False, refine_text=False), tiny_models)
    speaker = tts.speaker_for(ChatttsVoice(seed=41))
    assert speaker == tts.sample_speaker(41)
    assert (voices / "seed-41.txt").read_text().strip() == speaker


def test_a_speaker_from_other_assets_is_a_tts_error(streaming: ChatttsSynthesizer) -> None:
    from daemon.errors import ErrorCode, StageError

    with pytest.raises(StageError) as err:
        list(streaming.synthesize("你好", persona(speaker="not a speaker")))
    assert err.value.code is ErrorCode.TTS_FAILED


def test_a_chattts_past_its_deadline_is_interrupted_and_espeak_speaks(tiny_models: Path) -> None:
    tokens = [2000]  # ~40 s of audio: far past any deadline
    endless = ChatttsSynthesizer(
        ChatttsSettings(stream=False, refine_text=False),
        tiny_models,
        token_budget=lambda text: (tokens[0], tokens[0]),
    )
    tts = FallbackSynthesizer(endless, EspeakSynthesizer(EspeakSettings(), 5), deadline=0.3)
    started = time.monotonic()
    chunks = list(tts.synthesize("你好", ZH))
    assert {c.sample_rate for c in chunks} == {22050} and sum(c.duration for c in chunks) > 0.2
    while tts.busy and time.monotonic() - started < 10:
        time.sleep(0.01)
    assert not tts.busy
    assert time.monotonic() - started < 3  # interrupted, not run to its 2000 tokens
    tokens[0] = 30
    assert len(audio_of(endless, "你好")) > 25 * 512  # and the next sentence runs in full


def test_refining_in_the_personas_style_is_repeatable(tiny_models: Path) -> None:
    tts = ChatttsSynthesizer(ChatttsSettings(stream=True, refine_text=True), tiny_models)
    who = persona(seed=3, oral=5, laugh=1, pause=6, speed=7)
    first = audio_of(tts, "讲个笑话吧。", who)
    assert len(first) > 0
    np.testing.assert_array_equal(first, audio_of(tts, "讲个笑话吧。", who))


def test_voice_sample_writes_distinct_wavs(tiny_models: Path, tmp_path: Path) -> None:
    settings = ChatttsSettings(stream=False, refine_text=False)
    rendered = render_samples(settings, tiny_models, ZH, "你好，我是小智。", 3, tmp_path)
    assert len(rendered) == 3
    digests = set()
    for wav, speaker in rendered:
        data, rate = sf.read(str(wav), dtype="float32")
        assert rate == 24000 and len(data) > 0 and np.abs(data).max() < 1.0
        digests.add(hashlib.sha256(data.tobytes()).hexdigest())
        assert speaker in wav.with_suffix(".txt").read_text()
    assert len(digests) == 3 and len({s for _, s in rendered}) == 3


def test_missing_or_corrupt_assets_are_model_missing(tiny_models: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelMissing, match="voiced models fetch chattts"):
        ChatttsSynthesizer(ChatttsSettings(), tmp_path)
    copy = tmp_path / "copy"
    shutil.copytree(tiny_models / "chattts", copy / "chattts")
    vocos = copy / "chattts" / "asset" / "Vocos.safetensors"
    vocos.write_bytes(vocos.read_bytes()[:-1] + b"\x00")
    with pytest.raises(ModelMissing, match="sha256"):
        ChatttsSynthesizer(ChatttsSettings(), copy)


def test_without_the_sidecar_the_released_hashes_are_required(
    tiny_models: Path, tmp_path: Path
) -> None:
    shutil.copytree(tiny_models / "chattts", tmp_path / "chattts")
    (tmp_path / "chattts" / SIDECAR).unlink()
    with pytest.raises(ModelMissing, match="sha256"):
        ChatttsSynthesizer(ChatttsSettings(), tmp_path)


def test_a_whole_turn_through_the_real_command(
    audio: AudioBuilder, models_dir: Path, tiny_models: Path, tmp_path: Path
) -> None:
    """voiced run with tts.backend chattts on the tiny assets: a reply, in ChatTTS's voice."""
    models = tmp_path / "models"
    models.mkdir()
    (models / "chattts").symlink_to(tiny_models / "chattts")
    for packaged in ("openwakeword", "silero", "smart-turn", "whisper"):  # zero-download's
        (models / packaged).symlink_to(default_models_dir() / packaged)
    profile = tmp_path / "chattts.yaml"
    profile.write_text(f"models_dir: {models}\ntts:\n  backend: chattts\n  fallback: espeak\n")
    out = tmp_path / "reply.wav"
    run = run_voiced(
        "run",
        "--config",
        str(CONFIG),
        "--profile",
        "zero-download",
        "--profile",
        str(profile),
        "--input",
        str(audio.request("what time is it", voice=PLAIN_VOICE)),
        "--output",
        str(out),
        env={"OMP_NUM_THREADS": "1"},  # as above: tiny networks, busy 2-core test machines
    )
    assert run.returncode == 0, run.stderr
    [line] = run.turn_lines()
    assert "source=intent:time" in line and "outcome=ok" in line, line
    assert f"ChatTTS loaded from {models / 'chattts'}" in run.stderr
    assert "speaking with espeak" not in run.stderr and "espeak-ng" not in run.stderr
    reply, rate = sf.read(str(out), dtype="float32")
    assert rate == 16000 and len(reply) / rate > 0.3
    assert 0.01 < np.abs(reply).max() < 1.0
