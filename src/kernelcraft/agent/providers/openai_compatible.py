"""Servers that speak Chat Completions: vLLM, SGLang, Ollama, OpenRouter, DeepSeek.

They differ from OpenAI in small ways handled here: a base URL is mandatory, a local
server needs no key, the token limit is the older ``max_tokens``, and reasoning models
return their reasoning beside the answer (``reasoning_content`` or ``reasoning``);
DeepSeek in thinking mode wants ``reasoning_content`` back on the next turn.
Servers cache prefixes on their own (vLLM and SGLang prefix caching, DeepSeek's disk cache)
when the prefix is stable, which the shared request builder keeps it; a
``prompt_cache_key`` is sent only when the user names one, since not every server knows it.
"""

from __future__ import annotations

import os
from typing import Any

from kernelcraft.agent.messages import Message
from kernelcraft.agent.providers.openai import OpenAIModel
from kernelcraft.agent.providers.settings import ProviderSettings

KEY_ENV = "OPENAI_COMPATIBLE_API_KEY"
# Local servers ignore the key, but the SDK refuses to start without one.
PLACEHOLDER_KEY = "not-needed"
REASONING_FIELDS = ("reasoning_content", "reasoning")


class OpenAICompatibleModel(OpenAIModel):
    provider = "openai-compatible"
    token_limit_field = "max_tokens"
    derives_cache_key = False

    def __init__(self, settings: ProviderSettings, *, name: str | None = None, api_key: str | None = None):
        if not settings.base_url:
            raise ValueError(
                "openai-compatible models need a base URL, e.g. openai-compatible:http://host:8000/v1#model"
            )
        key = api_key or os.environ.get(KEY_ENV, "").strip() or PLACEHOLDER_KEY
        super().__init__(
            settings,
            name=name or f"{self.provider}:{settings.base_url}#{settings.model}",
            api_key=key,
        )

    def state_from_message(self, wire: Any) -> Any:
        extra = getattr(wire, "model_extra", None) or {}
        for field_name in REASONING_FIELDS:
            value = extra.get(field_name)
            if isinstance(value, str) and value:
                return {"provider": self.provider, field_name: value}
        return None

    def message_to_wire(self, message: Message) -> list[dict[str, Any]]:
        wires = super().message_to_wire(message)
        state = message.provider_state
        if message.role == "assistant" and isinstance(state, dict) and state.get("provider") == self.provider:
            # Only reasoning_content is echoed: the servers that need it back (DeepSeek) use that
            # name, and the others ignore it, whereas an unexpected "reasoning" may be rejected.
            if isinstance(state.get("reasoning_content"), str):
                wires[0]["reasoning_content"] = state["reasoning_content"]
        return wires
