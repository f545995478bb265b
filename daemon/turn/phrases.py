"""What the box says when a turn fails, in the persona's language.

Kept short and free of jargon: the person hears what happened and whether to try again.
"""

from __future__ import annotations

from daemon.errors import ErrorCode

_EN = {
    ErrorCode.LLM_NOT_CONFIGURED: (
        "I can't reach my language model, so I can only tell the time and date."
    ),
    ErrorCode.LLM_UNREACHABLE: "I can't reach my language model right now.",
    ErrorCode.LLM_TIMEOUT: "My language model is taking too long. Please try again.",
    ErrorCode.LLM_UNAUTHORIZED: "My language model refused my key. Please check the configuration.",
    ErrorCode.LLM_REJECTED: (
        "My language model rejected the request. Please check the configuration."
    ),
    ErrorCode.LLM_FAILED: "Something went wrong with my language model.",
    ErrorCode.ASR_FAILED: "Sorry, my speech recognition failed.",
    ErrorCode.ASR_TIMEOUT: "Sorry, my speech recognition took too long.",
    ErrorCode.WAKE_FAILED: "My wake word detector failed, so I may not hear you.",
    ErrorCode.VAD_FAILED: "Sorry, my voice detector failed.",
}
_ZH = {
    ErrorCode.LLM_NOT_CONFIGURED: "我连不上语言模型，现在只能告诉你时间和日期。",
    ErrorCode.LLM_UNREACHABLE: "我现在连不上语言模型。",
    ErrorCode.LLM_TIMEOUT: "语言模型响应太慢了，请再试一次。",
    ErrorCode.LLM_UNAUTHORIZED: "语言模型拒绝了我的密钥，请检查配置。",
    ErrorCode.LLM_REJECTED: "语言模型拒绝了请求，请检查配置。",
    ErrorCode.LLM_FAILED: "语言模型出了点问题。",
    ErrorCode.ASR_FAILED: "抱歉，语音识别出错了。",
    ErrorCode.ASR_TIMEOUT: "抱歉，语音识别太慢了。",
    ErrorCode.WAKE_FAILED: "唤醒词检测出错了，我可能听不到你。",
    ErrorCode.VAD_FAILED: "抱歉，语音检测出错了。",
}
_GENERIC = {"en": "Sorry, something went wrong.", "zh": "抱歉，出了点问题。"}
_NOT_HEARD = {"en": "Sorry, I didn't catch that.", "zh": "抱歉，我没听清。"}


def error_message(code: ErrorCode, language: str) -> str:
    table = _ZH if language == "zh" else _EN
    return table.get(code, _GENERIC.get(language, _GENERIC["en"]))


def not_heard_message(language: str) -> str:
    return _NOT_HEARD.get(language, _NOT_HEARD["en"])
