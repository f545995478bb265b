"""The FunASR backend on tiny seeded models: golden transcripts, streaming, punctuation, tags,
missing models, and a whole turn through the real `voiced run`.

The tiny models (tests/fixtures/funasr_models.py) have random weights, so they transcribe every
utterance to gibberish; seeded, the gibberish is the same in every process, which makes it a
golden value. What is tested is that the product's real loading and decoding path runs and is
repeatable, not recognition quality. No code here can reach a model hub: only local folders are
ever handed to FunASR.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from daemon.asr import Transcript, make_transcriber
from daemon.asr.base import Transcriber
from daemon.asr.funasr import (
    FETCH_COMMAND,
    ModelUnusable,
    hotword_string,
    join_chunks,
    load_model,
    model_dir,
    needed_models,
    sensevoice_text,
    tidy,
    to_float,
)
from daemon.audio.frames import FRAME_SAMPLES, SAMPLE_RATE, resample
from daemon.config import AsrSettings, FunasrSettings
from daemon.models.errors import ModelMissing
from daemon.models.modelscope import FUNASR_MODELS
from daemon.models.packaged import PACKAGED_ASSETS
from tests.conftest import run_voiced
from tests.fixtures import funasr_models
from tests.fixtures.audio import COMMAND_VOICE, duration, read

ZH_REQUEST = "你好，今天天气怎么样"
PUNCTUATION = set(funasr_models.PUNC_LIST[2:])


def bare(text: str) -> str:
    """The words alone: ct-punc adds punctuation (English words get "?" "," "."), capitals at an
    English sentence start, and joins a Latin word to the Chinese around it."""
    return "".join(c for c in text.lower() if c not in PUNCTUATION and c not in " ?,.!")


# Generated once from the seeded tiny models on ZH_REQUEST (espeak-ng cmn-latn-pinyin), then pasted.
# The vocabularies hold English BPE pieces (hey, ja@@ r@@ vis ...) as the real vocab8404 ones do,
# and ct-punc punctuates English words the English way ("Vis?"), as the real cn-en model does.
GOLDEN = {
    "paraformer-zh": "呢小 hey 你都上点关现醒客 me 那上 me 好上",  # noqa: E501
    "paraformer-zh+punc": "呢，小、hey你，都上，点关，现。醒，客me那，上，me好。上。",  # noqa: E501
    "paraformer-zh/no-hotwords": "在下没牛在好好好好吗好在奶下奶在奶好助也么 vis 牛在好好好",  # noqa: E501
    "paraformer-zh+punc/no-hotwords": "在，下？没。牛？在，好好好好吗好。在，奶、下奶在，奶、好。助？也。么？Vis?牛？在，好好好。",  # noqa: E501
    "paraformer-zh-streaming": "乐现话在乐牛在好呢呢vis在在好在好在好牛好那不vis不vis在在开好",  # noqa: E501
    "paraformer-zh-streaming+punc": "乐现话在，乐？牛？在，好。呢，呢，vis?在，在，好。在，好。在，好。牛？好。那，不。Vis?不。Vis?在，在，开、好。",  # noqa: E501
    "sensevoice-small": "唞斬袥嗇懹熒懄㥊罸朏陈廥驌㽒橆飏醔㥊硔夑峫龿償刁驌㗣噹嫑叀驌伎㕼刁珫轧瑸橆襏趃雕偈開䁎鸣鯨搭㯲叀忍㽒徛粧卍",  # noqa: E501
}
GOLDEN_SENSEVOICE_LANGUAGE = None  # the random model emitted no language tag first
GOLDEN_TURN = "都嗯，客关关个？现。Tihey都个？七么？醒，客？ Me me呢，那、上，hey好气上，上，小、今，打？"  # noqa: E501 (what the turn in `voiced run` heard)


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models_dir with the tiny FunASR models, built once per session."""
    models = tmp_path_factory.mktemp("funasr-models")
    funasr_models.build(models)
    return models


def speak(text: str, voice: str) -> np.ndarray:
    """espeak-ng speech at 16 kHz int16, bit-identical on every run.

    Not tests.fixtures.audio: its sox conversion dithers with a fresh random seed, so its clips
    differ slightly between runs, and a random model's gibberish follows every difference.
    """
    done = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", "165", "--stdout", text], capture_output=True, check=True
    )
    samples, rate = sf.read(io.BytesIO(done.stdout), dtype="int16")
    return np.asarray(resample(samples, rate, SAMPLE_RATE), dtype=np.int16)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.int16)


@pytest.fixture(scope="session")
def zh_request() -> np.ndarray:
    return speak(ZH_REQUEST, "cmn-latn-pinyin")


@pytest.fixture(scope="session")
def wavs(tmp_path_factory: pytest.TempPathFactory, zh_request: np.ndarray) -> dict[str, Path]:
    """The request alone, and a whole turn: "hey jarvis", a pause, the request, silence."""
    folder = tmp_path_factory.mktemp("funasr-audio")
    clips = {
        "request": zh_request,
        "turn": np.concatenate(
            [silence(0.5), speak("hey jarvis", COMMAND_VOICE), silence(0.4), zh_request]
        ),
    }
    for name, samples in clips.items():
        sf.write(str(folder / f"{name}.wav"), samples, SAMPLE_RATE, subtype="PCM_16")
    return {name: folder / f"{name}.wav" for name in clips}


def asr(
    models: Path, model: str, punctuation: bool = False, hotwords: tuple[str, ...] = ("Jarvis",)
) -> Transcriber:
    """The backend as the service builds it; the persona's name is a hotword."""
    settings = AsrSettings(
        backend="funasr",
        funasr=FunasrSettings(model=model, punctuation=punctuation),  # type: ignore[arg-type]
    )
    return make_transcriber(settings, models, list(hotwords))


def transcribe(transcriber: Transcriber, samples: np.ndarray) -> Transcript:
    """As the turn machine does: 80 ms int16 frames, then finish at the endpoint."""
    session = transcriber.start()
    for start in range(0, len(samples), FRAME_SAMPLES):
        session.feed(samples[start : start + FRAME_SAMPLES])
    return session.finish()


# --- text handling (no model) ------------------------------------------------------------------


def test_text_is_tidied_like_speech_not_like_tokens():
    assert tidy("今 天 天 气 <unk> 怎 么 样") == "今天天气怎么样"
    assert tidy(" turn  on 客 厅 的 灯 please ") == "turn on 客厅的灯 please"
    assert join_chunks(["今天", "", "天气 ", "turn", "on"]) == "今天天气turn on"


def test_sensevoice_tags_are_stripped_and_the_language_kept():
    raw = "<|zh|><|HAPPY|><|Speech|><|withitn|>今天天气很好。<|en|>Nice<|Laughter|>."
    assert sensevoice_text(raw) == ("今天天气很好。Nice.", "zh")
    assert sensevoice_text("no tags") == ("no tags", None)


def test_hotwords_never_name_a_url_or_a_file():
    words = hotword_string(
        ["小助手 贾维斯", "Jarvis", "http://example.com/h.txt", "h.TXT", "Jarvis"]
    )
    assert words == "小助手 贾维斯 Jarvis"
    assert hotword_string([]) is None


def test_the_models_a_configuration_needs():
    assert needed_models(FunasrSettings()) == ["paraformer-zh", "ct-punc"]
    assert needed_models(FunasrSettings(model="sensevoice-small")) == ["sensevoice-small"]
    streaming = FunasrSettings(model="paraformer-zh-streaming", punctuation=False)
    assert needed_models(streaming) == ["paraformer-zh-streaming"]


# --- missing models (checked before FunASR is even imported) -----------------------------------


def _missing(models: Path, **settings: object) -> str:
    with pytest.raises(ModelMissing) as caught:
        asr(models, **settings)  # type: ignore[arg-type]
    return str(caught.value)


def test_a_missing_model_folder_names_the_folder_and_the_fetch_command(tmp_path: Path):
    message = _missing(tmp_path, model="sensevoice-small")
    assert str(tmp_path / "funasr" / "sensevoice-small") in message
    assert "voiced models fetch funasr" in message


def test_a_folder_without_model_pt_or_a_named_file_is_missing(tmp_path: Path):
    folder = tmp_path / "funasr" / "paraformer-zh"
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text("model: SeacoParaformer\n")
    (folder / "configuration.json").write_text(
        '{"file_path_metas": {"init_param": "model.pt", "tokenizer_conf": '
        '{"token_list": "tokens.json"}}}'
    )
    message = _missing(tmp_path, model="paraformer-zh")
    assert "model.pt" in message and "tokens.json" in message
    assert str(folder) in message and "voiced models fetch funasr" in message


# Which real ModelScope repository each tiny model mirrors, and the files that repository's
# configuration.json names (read from published copies: tests/fixtures/funasr_models.py).
MIRRORS = {
    "paraformer-zh": (
        "iic/speech_seaco_paraformer_large_asr_nat-zh-cn-16k-common-vocab8404-pytorch",
        {"tokens.json", "seg_dict", "am.mvn"},
    ),
    "paraformer-zh-streaming": (
        "iic/speech_paraformer-large_asr_nat-zh-cn-16k-common-vocab8404-online",
        {"tokens.json", "seg_dict", "am.mvn"},
    ),
    "sensevoice-small": ("iic/SenseVoiceSmall", {"chn_jpn_yue_eng_ko_spectok.bpe.model", "am.mvn"}),
    "ct-punc": (
        "iic/punc_ct-transformer_cn-en-common-vocab471067-large",
        {"tokens.json", "jieba_usr_dict"},
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MIRRORS))
def test_each_tiny_model_has_its_real_repositorys_layout(tiny_models: Path, name: str):
    """The folder holds what the real repository holds (demos and figures aside), and its
    configuration.json names the real id and the files by their real names and keys."""
    model_id, named = MIRRORS[name]
    assert FUNASR_MODELS[name] == model_id  # what `voiced models fetch funasr` fetches
    folder = model_dir(tiny_models, name)
    configuration = json.loads((folder / "configuration.json").read_text(encoding="utf-8"))
    assert configuration["model_name_in_hub"]["ms"] == model_id
    assert configuration["model"] == {"type": "funasr"}
    metas = configuration["file_path_metas"]
    assert (metas["init_param"], metas["config"]) == ("model.pt", "config.yaml")
    in_metas = set(_named_files(metas)) - {"model.pt", "config.yaml"}
    assert in_metas == named
    files = {path.name for path in folder.iterdir()}
    assert files == {"configuration.json", "config.yaml", "model.pt", *named}


def _named_files(metas: object) -> list[str]:
    if isinstance(metas, dict):
        return [name for value in metas.values() for name in _named_files(value)]
    return [metas] if isinstance(metas, str) else []


@pytest.mark.slow
def test_a_paraformer_without_its_seg_dict_is_missing(tiny_models: Path, tmp_path: Path):
    """The real configuration.json names seg_dict, so a fetch that lost it is caught at start."""
    folder = tmp_path / "funasr" / "paraformer-zh"
    shutil.copytree(tiny_models / "funasr" / "paraformer-zh", folder)
    (folder / "seg_dict").unlink()
    message = _missing(tmp_path, model="paraformer-zh")
    assert "seg_dict" in message and FETCH_COMMAND in message


def test_punctuation_needs_ct_punc(tmp_path: Path):
    folder = tmp_path / "funasr" / "paraformer-zh"
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text("model: SeacoParaformer\n")
    (folder / "model.pt").write_bytes(b"")
    message = _missing(tmp_path, model="paraformer-zh", punctuation=True)
    assert str(tmp_path / "funasr" / "ct-punc") in message


@pytest.mark.slow
def test_a_corrupt_model_pt_is_reported_as_unusable(tiny_models: Path, tmp_path: Path):
    folder = tmp_path / "funasr" / "paraformer-zh"
    shutil.copytree(tiny_models / "funasr" / "paraformer-zh", folder)
    (folder / "model.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelUnusable) as caught:
        asr(tmp_path, "paraformer-zh")
    assert str(folder) in str(caught.value) and FETCH_COMMAND in str(caught.value)


# --- transcripts -------------------------------------------------------------------------------


@pytest.mark.slow
def test_paraformer_gives_its_golden_transcript(tiny_models: Path, zh_request: np.ndarray):
    plain = transcribe(asr(tiny_models, "paraformer-zh"), zh_request)
    assert plain == Transcript(GOLDEN["paraformer-zh"], "zh")
    assert not re.search(r"[\u3400-\u9fff] [\u3400-\u9fff]", plain.text)  # SeACo's spaces go
    assert " hey " in plain.text  # ... but English words stay words


@pytest.mark.slow
def test_hotwords_reach_seaco_paraformer(tiny_models: Path, zh_request: np.ndarray):
    without = transcribe(asr(tiny_models, "paraformer-zh", hotwords=()), zh_request).text
    assert without == GOLDEN["paraformer-zh/no-hotwords"] != GOLDEN["paraformer-zh"]


@pytest.mark.slow
def test_punctuation_is_restored_by_ct_punc(tiny_models: Path, zh_request: np.ndarray):
    punctuated = transcribe(asr(tiny_models, "paraformer-zh", punctuation=True), zh_request)
    assert punctuated.text == GOLDEN["paraformer-zh+punc"]
    assert PUNCTUATION & set(punctuated.text)
    assert punctuated.text[-1] in "。？"  # ct-punc ends a Chinese sentence
    assert bare(punctuated.text) == bare(GOLDEN["paraformer-zh"])


@pytest.mark.slow
def test_streaming_pieces_join_to_the_whole_file_result(tiny_models: Path, zh_request: np.ndarray):
    transcriber = asr(tiny_models, "paraformer-zh-streaming")
    session = transcriber.start()
    last_chunk = len(zh_request) - len(zh_request) % 9600 - 9600
    session.feed(zh_request[:last_chunk])
    partial = session.partial  # type: ignore[attr-defined]
    assert partial, "the streaming model decodes while audio arrives"
    session.feed(zh_request[last_chunk:])
    streamed = session.finish()
    assert streamed == Transcript(GOLDEN["paraformer-zh-streaming"], "zh")
    assert streamed.text.startswith(partial)

    # The same model, decoding the whole utterance in one final call.
    model = load_model(
        model_dir(tiny_models, "paraformer-zh-streaming"),
        FunasrSettings(model="paraformer-zh-streaming"),
    )
    whole = model.generate(
        input=to_float(zh_request),
        cache={},
        is_final=True,
        chunk_size=[0, 10, 5],
        encoder_chunk_look_back=4,
        decoder_chunk_look_back=1,
    )
    assert tidy(whole[0]["text"]) == streamed.text


@pytest.mark.slow
def test_streaming_with_punctuation(tiny_models: Path, zh_request: np.ndarray):
    transcriber = asr(tiny_models, "paraformer-zh-streaming", punctuation=True)
    text = transcribe(transcriber, zh_request).text
    assert text == GOLDEN["paraformer-zh-streaming+punc"]
    assert bare(text) == bare(GOLDEN["paraformer-zh-streaming"])


@pytest.mark.slow
def test_sensevoice_strips_its_tags(tiny_models: Path, zh_request: np.ndarray):
    settings = FunasrSettings(model="sensevoice-small")
    raw = load_model(model_dir(tiny_models, "sensevoice-small"), settings).generate(
        input=to_float(zh_request), language="auto", use_itn=True
    )[0]["text"]
    assert re.search(r"<\|[^|]+\|>", raw), raw  # tags (language, emotion, event, itn)
    heard = transcribe(asr(tiny_models, "sensevoice-small"), zh_request)
    assert "<|" not in heard.text and heard.text == tidy(re.sub(r"<\|[^|]*\|>", "", raw))
    assert heard == Transcript(GOLDEN["sensevoice-small"], GOLDEN_SENSEVOICE_LANGUAGE)


@pytest.mark.slow
def test_no_audio_gives_an_empty_transcript(tiny_models: Path):
    for model in ("paraformer-zh", "sensevoice-small", "paraformer-zh-streaming"):
        transcriber = asr(tiny_models, model)
        assert transcriber.start().finish().text == ""


# --- through the real command ------------------------------------------------------------------


def _config(tmp_path: Path, tiny: Path, packaged: Path, **funasr: object) -> Path:
    """voiced.yaml over a models_dir with the tiny FunASR models and the packaged ones."""
    models = tmp_path / "models"
    models.mkdir()
    (models / "funasr").symlink_to(tiny / "funasr")
    for folder in dict.fromkeys(asset.folder for asset in PACKAGED_ASSETS):  # shared folders once
        (models / folder).symlink_to(packaged / folder)
    options = ", ".join(f"{key}: {str(value).lower()}" for key, value in funasr.items())
    # A Mandarin persona (Paraformer understands only Mandarin) whose name is still the hotword
    # the golden transcripts were made with.
    persona = tmp_path / "persona.yaml"
    persona.write_text("name: Jarvis\nlanguage: zh\nsystem_prompt: 你是Jarvis。\n", "utf-8")
    path = tmp_path / "voiced.yaml"
    path.write_text(
        f"persona: {persona}\n"
        f"models_dir: {models}\n"
        f"asr: {{backend: funasr, funasr: {{{options}}}}}\n"
        "tts: {backend: espeak}\n"
    )
    return path


@pytest.mark.slow
def test_two_fresh_processes_transcribe_alike(
    tiny_models: Path, models_dir: Path, wavs: dict[str, Path], tmp_path: Path
):
    config = _config(tmp_path, tiny_models, models_dir, model="paraformer-zh", punctuation=True)
    command = ("transcribe", "--config", str(config), str(wavs["request"]))
    runs = [run_voiced(*command) for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stderr
    # `voiced transcribe` hears as `voiced run` does: with the persona's name (Jarvis) as a
    # hotword; nothing but the text reaches stdout.
    assert [run.stdout for run in runs] == [GOLDEN["paraformer-zh+punc"] + "\n"] * 2


@pytest.mark.slow
def test_a_whole_turn_through_voiced_run(
    tiny_models: Path, models_dir: Path, wavs: dict[str, Path], tmp_path: Path
):
    config = _config(tmp_path, tiny_models, models_dir, model="paraformer-zh")
    out = tmp_path / "reply.wav"
    wav = str(wavs["turn"])
    run = run_voiced("run", "--config", str(config), "--input", wav, "--output", str(out))
    assert run.returncode == 0, run.stderr
    [line] = run.turn_lines()
    assert "outcome=llm-not-configured" in line, line
    assert f'asr="{GOLDEN_TURN}"' in line, line
    assert "funasr paraformer-zh loaded" in run.stderr
    reply = read(out)
    assert duration(out) > 0.5 and np.abs(reply).max() > 1000  # the error was spoken


@pytest.mark.slow
def test_missing_models_stop_the_daemon_with_exit_78(
    models_dir: Path, tiny_models: Path, tmp_path: Path
):
    config = _config(tmp_path, tiny_models, models_dir, model="sensevoice-small")
    (tmp_path / "models" / "funasr").unlink()
    run = run_voiced("check", "--config", str(config))
    assert run.returncode == 78, run.stderr
    assert str(tmp_path / "models" / "funasr" / "sensevoice-small") in run.stderr
    assert FETCH_COMMAND in run.stderr
