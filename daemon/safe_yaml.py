"""YAML that a person (or an attacker with write access to a config folder) wrote, parsed safely.

PyYAML's SafeLoader still expands aliases (a 526-byte "billion laughs" file becomes gigabytes),
recurses once per nesting level (20,000 levels blow Python's stack) and lets a repeated key
silently win. This loader refuses all three and the caller caps the file's size first, so a bad
file costs milliseconds and ends in one clear message.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node

__all__ = ["MAX_DEPTH", "MAX_YAML_BYTES", "load_strict"]

MAX_YAML_BYTES = 256 * 1024  # the shipped voiced.yaml is ~20 KB, a persona ~2 KB
MAX_DEPTH = 32  # the deepest real setting is 5 levels down


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader without aliases, without duplicate keys, and with a nesting limit."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise ComposerError(None, None, "aliases (*name) are not allowed", mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise ComposerError(
                    None, None, f"nested more than {MAX_DEPTH} levels deep", mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: the base class reports it
                continue
            if duplicate:
                raise ConstructorError(
                    None, None, f"duplicate key {str(key)[:40]!r}", key_node.start_mark
                )
        return super().construct_mapping(node, deep=deep)


def load_strict(text: str) -> Any:
    """The one document in `text`; yaml.YAMLError (with problem and mark) for anything refused."""
    loader = _StrictLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
