"""Conversation across turns: memory, forgetting, and persona reloads taking effect."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config import Settings, load_settings
from daemon.service import PersonaHolder
from tests.conftest import CONFIG
from tests.fixtures.fakes import Rig, ScriptedAsr, ScriptedChat, request


def test_the_next_turn_sees_the_previous_exchange_as_it_was_spoken() -> None:
    asr = ScriptedAsr(script=["tell me a joke", "another one"])
    rig = Rig(asr=asr).run(request().extend(request()))
    second = rig.chat.requests[1]  # type: ignore[union-attr]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "user"]
    assert second[1]["content"] == "tell me a joke"
    assert second[2]["content"] == "Why did the robot cross the road? To recharge."
    assert second[3]["content"] == "another one"


def test_forget_that_starts_a_new_conversation() -> None:
    asr = ScriptedAsr(script=["tell me a joke", "forget that", "hello"])
    rig = Rig(asr=asr).run(request().extend(request()).extend(request()))
    assert rig.turns[1].reply_source == "intent:forget"
    third = rig.chat.requests[1]  # type: ignore[union-attr]
    assert [m["role"] for m in third] == ["system", "user"]


def persona_files(tmp_path: Path) -> Settings:
    (tmp_path / "voiced.yaml").write_text("persona: persona.yaml\n")
    (tmp_path / "persona.yaml").write_text(
        "name: First\nlanguage: en\nsystem_prompt: You are First.\n"
    )
    return load_settings(tmp_path / "voiced.yaml")


def test_a_valid_persona_edit_takes_effect_on_the_next_turn(tmp_path: Path) -> None:
    holder = PersonaHolder(persona_files(tmp_path))
    chat = ScriptedChat()
    rig = Rig(chat=chat, persona=holder)
    rig.run(request())
    holder.path.write_text("name: Second\nlanguage: en\nsystem_prompt: You are Second.\n")
    assert holder.reload()
    rig.run(request())
    assert [r[0]["content"] for r in chat.requests] == ["You are First.", "You are Second."]


def test_an_invalid_edit_keeps_the_old_persona_and_names_the_field(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    holder = PersonaHolder(persona_files(tmp_path))
    changes = []
    holder.on_change(changes.append)
    holder.path.write_text("name: Broken\nlanguage: fr\nsystem_prompt: x\n")
    assert not holder.reload()
    assert holder().name == "First" and changes == []
    assert "language" in caplog.text and str(holder.path) in caplog.text


def test_the_watcher_notices_an_edit(tmp_path: Path) -> None:
    import asyncio

    holder = PersonaHolder(persona_files(tmp_path))

    async def edit_and_watch() -> None:
        watcher = asyncio.create_task(holder.watch(interval=0.02))
        await asyncio.sleep(0.05)
        holder.path.write_text("name: Edited\nlanguage: en\nsystem_prompt: You are Edited.\n")
        for _ in range(100):
            if holder().name == "Edited":
                break
            await asyncio.sleep(0.02)
        watcher.cancel()

    asyncio.run(edit_and_watch())
    assert holder().name == "Edited"


def test_shipped_personas_are_valid() -> None:
    assert load_settings(CONFIG).persona.language == "zh"
    en = load_settings(CONFIG, [CONFIG.parent / "profiles" / "zero-download.yaml"]).persona
    assert en.language == "en" and en.name == "Jarvis"
