"""Model providers behind one spec string, e.g. ``openai:gpt-5.2`` or ``scripted:oracle``.

Provider modules import their vendor SDK at the top, so they are imported here only
when asked for: a user of one provider never needs the others installed.
"""

from __future__ import annotations

import importlib
from typing import Any

from kernelcraft.agent.messages import Model, ProviderError

SPEC_FORMS = (
    "openai:<model>",
    "anthropic:<model>",
    "google:<model>",
    "openai-compatible:<base_url>#<model>",
    "scripted:<name>",
)
# provider -> (module, class, pip extra, {package the module imports: its pip distribution})
_PROVIDERS: dict[str, tuple[str, str, str, dict[str, str]]] = {
    "openai": ("openai", "OpenAIModel", "openai", {"openai": "openai"}),
    "openai-compatible": ("openai_compatible", "OpenAICompatibleModel", "openai", {"openai": "openai"}),
    "anthropic": ("anthropic", "AnthropicModel", "anthropic", {"anthropic": "anthropic"}),
    "google": ("google", "GoogleModel", "google", {"google": "google-genai", "httpx2": "google-genai"}),
}


def create_model(spec: str, **options: Any) -> Model:
    """Build the model a spec names.

    Raises ValueError for a malformed spec or bad options, and ProviderError when the
    environment cannot serve the provider (SDK not installed, API key not set); both
    carry a one-line message meant for the user.
    """
    provider, _, rest = spec.strip().partition(":")
    if provider == "scripted":
        if not rest.strip():
            raise ValueError(_bad_spec(spec))
        # Scripted models import the task suite and platforms: load them only when asked for.
        try:
            scripted = importlib.import_module("kernelcraft.agent.providers.scripted")
        except ModuleNotFoundError as exc:
            if exc.name != "kernelcraft.agent.providers.scripted":
                raise
            raise ProviderError("scripted models are not available in this installation") from None
        return scripted.create_scripted_model(rest.strip(), **options)
    if provider not in _PROVIDERS:
        raise ValueError(_bad_spec(spec))
    model, base_url = _split_model(provider, rest, spec)

    from kernelcraft.agent.providers.settings import parse_settings

    if base_url is not None:
        options = {**options, "base_url": options.get("base_url") or base_url}
    settings = parse_settings(provider, model, options)
    model_class = _load_class(provider)
    return model_class(settings, name=spec.strip())


def _split_model(provider: str, rest: str, spec: str) -> tuple[str, str | None]:
    """The model name and, for openai-compatible, the base URL before the ``#``."""
    if provider == "openai-compatible":
        base_url, hash_sign, model = rest.strip().rpartition("#")
        if not hash_sign or not base_url.startswith(("http://", "https://")):
            raise ValueError(_bad_spec(spec))
    else:
        base_url, model = None, rest
    model = model.strip()
    if not model or any(ch.isspace() for ch in model):
        raise ValueError(_bad_spec(spec))
    return model, base_url


def _load_class(provider: str) -> type:
    module_name, class_name, extra, packages = _PROVIDERS[provider]
    try:
        module = importlib.import_module(f"kernelcraft.agent.providers.{module_name}")
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing not in packages:
            raise
        package = packages[missing]
        raise ProviderError(
            f"the {provider} provider needs the '{package}' package: pip install 'kernelcraft[{extra}]'"
        ) from None
    return getattr(module, class_name)


def _bad_spec(spec: str) -> str:
    return f"invalid model spec {spec!r}; expected one of: {', '.join(SPEC_FORMS)}"


__all__ = ["SPEC_FORMS", "create_model"]
