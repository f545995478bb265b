"""Replies: local intents first, then an OpenAI-compatible chat model."""

from __future__ import annotations

from daemon.config import LlmSettings
from daemon.llm.base import ChatModel

__all__ = ["ChatModel", "make_chat_model"]


def make_chat_model(settings: LlmSettings) -> ChatModel | None:
    """The active endpoint's client, or None when no endpoint is configured (intents only)."""
    endpoint = settings.endpoint()
    if endpoint is None:
        return None
    from daemon.llm.openai_chat import OpenAIChat

    return OpenAIChat(endpoint, settings.timeouts)
