"""`voiced wyoming` on the product's own backends: the tiny random-weight FunASR (streaming
Paraformer) and ChatTTS models the tests build. The Mandarin path: what comes over Wyoming is
what the same models give in process, and the streaming recognizer streams its transcript."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from wyoming.asr import Transcribe
from wyoming.info import Describe, Info
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop

from daemon.audio.frames import float_to_int16, resample
from daemon.config import Settings, load_settings
from daemon.wyoming.engines import Engines, load_engines
from tests.e2e.test_remote import speechlike, tiny_models
from tests.fixtures import funasr_models
from tests.fixtures.wyoming import ServerThread, audio_events, client, pcm_of, read_until, run

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]
SENTENCE = "你好。"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny networks run fastest on one thread
    models = tiny_models(tmp_path_factory.getbasetemp())  # shared with the serve tests
    funasr_models.build(models, ("paraformer-zh-streaming",))
    folder = tmp_path_factory.mktemp("wyoming-config")
    (folder / "persona.yaml").write_text("name: 小智\nlanguage: zh\nsystem_prompt: 你是小智。\n")
    (folder / "voiced.yaml").write_text(
        f"models_dir: {models}\n"
        "asr: {backend: funasr, funasr: {model: paraformer-zh-streaming, punctuation: false}}\n"
        "tts: {backend: chattts, fallback: none, chattts: {refine_text: false}}\n"
    )
    yield load_settings(folder / "voiced.yaml")
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def served(settings: Settings) -> Iterator[tuple[ServerThread, Engines]]:
    engines = load_engines(settings, ["asr", "tts"])
    with ServerThread(engines) as server:
        yield server, engines


async def ask(port: int, events: list, last: str) -> list:
    async with client(port) as conn:
        for event in events:
            await conn.write_event(event)
        return await read_until(conn, lambda e: e.type == last)


def test_info_lists_mandarin(served: tuple[ServerThread, Engines]) -> None:
    server, _ = served
    info = Info.from_event(run(ask(server.port, [Describe().event()], "info"))[-1])
    assert info.asr[0].models[0].name == "paraformer-zh-streaming"
    assert info.asr[0].models[0].languages == ["zh"] and info.asr[0].supports_transcript_streaming
    assert info.tts[0].name == "voiced-chattts" and "zh" in info.tts[0].voices[0].languages


def test_streaming_paraformer_over_wyoming_gives_the_in_process_text(
    served: tuple[ServerThread, Engines],
) -> None:
    server, engines = served
    samples = speechlike(3.0)
    request = [Transcribe(language="zh").event(), *audio_events(samples)]
    events = run(ask(server.port, request, "transcript-stop"))
    assert engines.transcriber is not None
    session = engines.transcriber.start()
    session.feed(samples)
    expected = session.finish().text
    final = next(e for e in events if e.type == "transcript")
    assert final.data["text"] == expected and expected
    assert events[0].type == "transcript-start" and events[-1].type == "transcript-stop"


def chattts_in_process(engines: Engines, text: str) -> np.ndarray:
    assert engines.synthesizer is not None
    chunks = list(engines.synthesizer.synthesize(text, engines.persona))
    rate = chunks[0].sample_rate
    audio = np.concatenate([resample(c.samples, c.sample_rate, rate) for c in chunks])
    return float_to_int16(audio)


def test_chattts_over_wyoming_is_the_in_process_voice(served: tuple[ServerThread, Engines]) -> None:
    server, engines = served
    one_shot = run(ask(server.port, [Synthesize(text=SENTENCE).event()], "audio-stop"))
    assert one_shot[0].data["rate"] == 24000
    expected = chattts_in_process(engines, SENTENCE)
    assert np.array_equal(pcm_of(one_shot), expected)
    stream = [
        SynthesizeStart().event(),
        SynthesizeChunk("你好").event(),
        SynthesizeChunk("。").event(),
        SynthesizeStop().event(),
    ]
    streamed = run(ask(server.port, stream, "synthesize-stopped"))
    assert [e.type for e in streamed if e.type != "audio-chunk"] == [
        "audio-start",
        "audio-stop",
        "synthesize-stopped",
    ]
    assert np.array_equal(pcm_of(streamed), expected)
