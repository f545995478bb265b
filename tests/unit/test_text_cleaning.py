"""clean_for_speech: what the LLM writes -> what TTS should say (no markdown, code, URLs, emoji)."""

from __future__ import annotations

import pytest

from daemon.tts.text import clean_for_speech


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("This is **bold** text.", "This is bold text.", id="bold"),
        pytest.param("This is __bold__ too.", "This is bold too.", id="bold-underscores"),
        pytest.param("I *really* like it.", "I really like it.", id="italics"),
        pytest.param("Not ~~this~~ that.", "Not this that.", id="strikethrough"),
        pytest.param("***Both*** at once.", "Both at once.", id="bold-italics"),
        pytest.param("# Title\nBody text.", "Title\nBody text.", id="header"),
        pytest.param("### Deep header", "Deep header", id="h3"),
        pytest.param("#hashtag at line start", "hashtag at line start", id="hash-at-line-start"),
        pytest.param("> A quote.", "A quote.", id="blockquote"),
        pytest.param("- one\n- two\n+ three", "one\ntwo\nthree", id="dash-bullets"),
        pytest.param("  - indented item", "indented item", id="indented-bullet"),
        pytest.param("Run `ls -la` now.", "Run ls -la now.", id="inline-code"),
        pytest.param(
            "Before.\n```python\nprint('hi')\n```\nAfter.", "Before.\n \nAfter.", id="code-fence"
        ),
        pytest.param("Look: ```x = 1``` done.", "Look: done.", id="inline-fence"),
        pytest.param("Here is code:\n```bash\nrm -rf /tmp/x", "Here is code:", id="open-fence"),
        pytest.param("See [the docs](https://x.y/z) now.", "See the docs now.", id="link"),
        pytest.param(
            "Go to https://example.com/a?b=1 or www.foo.org today.",
            "Go to or today.",
            id="bare-urls",
        ),
        pytest.param("Visit http://a.b/c", "Visit", id="url-at-end"),
        pytest.param("Great job 🎉👍 really.", "Great job really.", id="emoji"),
        pytest.param("Sunny ☀️ today.", "Sunny today.", id="emoji-variation-selector"),
        pytest.param("Family 👨‍👩‍👧 time.", "Family time.", id="emoji-zwj"),
        pytest.param("Done ✅ and ❤️", "Done and", id="dingbats"),
        pytest.param("Hi 👋🏽 there", "Hi there", id="skin-tone"),
        pytest.param("🇺🇸 flag", "flag", id="flag"),
        pytest.param("中文**加粗**内容", "中文加粗内容", id="chinese-bold"),
        pytest.param("It costs 3.5 dollars, ok?", "It costs 3.5 dollars, ok?", id="plain-english"),
        pytest.param("snake_case_name", "snake_case_name", id="single-underscores-kept"),
        pytest.param("  extra   spaces  ", "extra spaces", id="spaces"),
        pytest.param("", "", id="empty"),
        pytest.param("**", "", id="only-markup"),
    ],
)
def test_clean_for_speech(text: str, expected: str) -> None:
    assert clean_for_speech(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "你好，世界！今天是星期二。",
        "现在是下午3点05分。",
        "「注意」：这是（一个）测试……好吗？",
        "他说：“你好。”然后走了。",
        "１２３，ＡＢＣ；、",
    ],
)
def test_chinese_is_untouched(text: str) -> None:
    assert clean_for_speech(text) == text


def test_star_bullets_lose_their_marker() -> None:
    out = clean_for_speech("* one\n* two")
    assert "*" not in out
    assert [line.strip() for line in out.splitlines()] == ["one", "two"]


def test_star_bullets_exact() -> None:
    assert clean_for_speech("* one\n* two") == "one\ntwo"


@pytest.mark.parametrize("emoji", ["⭐", "⏰", "⌛"])
def test_emoji_outside_the_ranges(emoji: str) -> None:
    assert clean_for_speech(f"Nice {emoji} work") == "Nice work"


def test_a_long_answer() -> None:
    text = (
        "## Answer\n"
        "Here are **two** options 😀:\n"
        "- Use the [official guide](https://example.com/guide).\n"
        "- Run `pip install x`.\n"
        "```\npip install x\n```\n"
        "More at https://example.com."
    )
    out = clean_for_speech(text)
    for gone in ("#", "**", "😀", "`", "https", "](", "example.com", "pip install x\n"):
        assert gone not in out
    assert out.split() == [
        "Answer", "Here", "are", "two", "options", ":",
        "Use", "the", "official", "guide.",
        "Run", "pip", "install", "x.",
        "More", "at",
    ]
