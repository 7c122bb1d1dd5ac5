"""KernelCraft: a benchmark and harness for LLM agents writing close-to-metal kernels."""

__version__ = "0.1.0"
