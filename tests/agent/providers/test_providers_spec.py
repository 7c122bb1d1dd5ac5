"""Model specs and options: what create_model accepts, builds and refuses."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from kernelcraft.agent.messages import ProviderError
from kernelcraft.agent.providers import SPEC_FORMS, create_model
from kernelcraft.agent.providers.anthropic import AnthropicModel
from kernelcraft.agent.providers.google import GoogleModel
from kernelcraft.agent.providers.openai import OpenAIModel
from kernelcraft.agent.providers.openai_compatible import OpenAICompatibleModel

pytestmark = pytest.mark.usefixtures("provider_keys")


@pytest.mark.parametrize(
    ("spec", "cls", "model"),
    [
        ("openai:gpt-5.2", OpenAIModel, "gpt-5.2"),
        ("anthropic:claude-opus-4-5", AnthropicModel, "claude-opus-4-5"),
        ("google:gemini-3-pro-preview", GoogleModel, "gemini-3-pro-preview"),
        (
            "openai-compatible:http://localhost:8000/v1#Qwen/Qwen3-Coder",
            OpenAICompatibleModel,
            "Qwen/Qwen3-Coder",
        ),
        (" openai:gpt-5.2 ", OpenAIModel, "gpt-5.2"),
    ],
)
def test_valid_specs_build_the_right_adapter(spec: str, cls: type, model: str) -> None:
    built = create_model(spec)
    assert type(built) is cls
    assert built.name == spec.strip()
    assert built.settings.model == model


def test_openai_compatible_spec_carries_the_base_url() -> None:
    model = create_model("openai-compatible:https://openrouter.ai/api/v1/#deepseek/deepseek-r1")
    assert model.settings.base_url == "https://openrouter.ai/api/v1"
    assert model.settings.model == "deepseek/deepseek-r1"


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "gpt-5.2",
        "openai:",
        "openai: ",
        "openai:gpt 5",
        "mistral:large",
        "OpenAI:gpt-5.2",
        "openai-compatible:http://localhost:8000/v1",
        "openai-compatible:localhost:8000#m",
        "openai-compatible:http://localhost:8000/v1#",
        "scripted:",
    ],
)
def test_malformed_specs_list_the_valid_forms(spec: str) -> None:
    with pytest.raises(ValueError) as info:
        create_model(spec)
    message = str(info.value)
    assert "\n" not in message
    assert all(form in message for form in SPEC_FORMS)


def test_cli_strings_are_coerced() -> None:
    model = create_model(
        "openai:gpt-5.2",
        reasoning_effort="Medium",
        max_tokens="4096",
        temperature="0.7",
        timeout_s="12.5",
        max_retries="2",
        retry_base_s="0.5",
    )
    settings = model.settings
    assert settings.reasoning_effort == "medium" and settings.max_tokens == 4096
    assert settings.temperature == 0.7 and settings.timeout_s == 12.5
    assert settings.retry.max_retries == 2 and settings.retry.base_delay_s == 0.5


def test_options_for_other_providers_are_dropped() -> None:
    # One run applies the same options to every model in its matrix.
    options = {"reasoning_effort": "high", "thinking_budget": "4096", "thinking_level": "low"}
    assert create_model("openai:gpt-5.2", **options).settings.thinking_budget is None
    claude = create_model("anthropic:claude-x", **options)
    assert claude.settings.reasoning_effort is None and claude.settings.thinking_budget == 4096
    assert (
        create_model("google:gemini-x", thinking_level="low", reasoning_effort="high").settings.thinking_level
        == "low"
    )


def test_unset_options_are_ignored() -> None:
    model = create_model("anthropic:claude-x", thinking_budget=None, max_tokens=None, reasoning_effort=None)
    assert model.settings.thinking_budget is None and model.max_tokens > 0


@pytest.mark.parametrize(
    ("spec", "options", "fragment"),
    [
        ("openai:gpt-5.2", {"reasoning_effort": "extreme"}, "reasoning_effort must be one of"),
        ("anthropic:c", {"thinking_budgt": 2048}, "unknown model option(s): thinking_budgt"),
        ("google:g", {"thinking_level": "max"}, "thinking_level must be one of"),
        ("anthropic:c", {"thinking_budget": "lots"}, "thinking_budget must be an integer"),
        ("openai:gpt-5.2", {"max_tokens": 0}, "max_tokens must be at least 1"),
        ("openai:gpt-5.2", {"max_tokens": True}, "max_tokens must be an integer"),
        ("openai:gpt-5.2", {"timeout_s": "-1"}, "timeout_s must be at least"),
        ("openai:gpt-5.2", {"max_retries": -1}, "max_retries must be at least 0"),
        ("openai:gpt-5.2", {"base_url": "localhost:1234"}, "base URL must start with http"),
        ("openai:gpt-5.2", {"colour": "blue"}, "accepted: base_url, cache_ttl, max_retries, max_tokens"),
        ("anthropic:c", {"prompt_cache": "sometimes"}, "prompt_cache must be one of on, off, explicit"),
        ("anthropic:c", {"cache_ttl": "24h"}, "cache_ttl must be one of auto, 5m, 1h"),
        ("openai:gpt-5.2", {"prompt_cache_key": "my run"}, "prompt_cache_key must be 1 to 64 characters"),
        ("openai:gpt-5.2", {"prompt_cache_key": "k" * 65}, "prompt_cache_key must be 1 to 64 characters"),
    ],
)
def test_bad_options_are_one_line_value_errors(spec: str, options: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        create_model(spec, **options)
    assert fragment in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("spec", "variables"),
    [
        ("openai:gpt-5.2", "OPENAI_API_KEY"),
        ("anthropic:claude-x", "ANTHROPIC_API_KEY"),
        ("google:gemini-x", "GEMINI_API_KEY or GOOGLE_API_KEY"),
    ],
)
def test_missing_key_names_the_variable(spec: str, variables: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ProviderError, match=f"no API key; set {variables}$"):
        create_model(spec)


@pytest.mark.parametrize(
    ("spec", "blocked", "module", "package", "extra"),
    [
        ("anthropic:claude-x", "anthropic", "anthropic", "anthropic", "anthropic"),
        ("openai:gpt-5.2", "openai", "openai", "openai", "openai"),
        ("openai-compatible:http://h/v1#m", "openai", "openai_compatible", "openai", "openai"),
        ("google:gemini-x", "google.genai", "google", "google-genai", "google"),
    ],
)
def test_missing_sdk_names_the_pip_extra(
    spec: str, blocked: str, module: str, package: str, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, blocked, None)  # makes "import <blocked>" fail as if absent
    for name in (f"kernelcraft.agent.providers.{module}", "kernelcraft.agent.providers.openai"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    with pytest.raises(ProviderError) as info:
        create_model(spec)
    assert str(info.value) == (
        f"the {spec.split(':')[0]} provider needs the '{package}' package: pip install 'kernelcraft[{extra}]'"
    )


def test_scripted_specs_are_delegated_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    received: list[tuple[str, dict[str, Any]]] = []
    sentinel = object()

    def create_scripted_model(name: str, **options: Any) -> object:
        received.append((name, options))
        return sentinel

    fake = types.ModuleType("kernelcraft.agent.providers.scripted")
    fake.create_scripted_model = create_scripted_model  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "kernelcraft.agent.providers.scripted", fake)
    assert create_model("scripted:oracle", seed=3) is sentinel
    assert received == [("oracle", {"seed": 3})]
