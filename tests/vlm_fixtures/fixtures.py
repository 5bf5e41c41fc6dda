"""Pytest fixtures shared by the vision-LLM tests (import them into a test module to use them)."""

from __future__ import annotations

from pathlib import Path

import pytest


def need_llama_cpp():
    """Skip (with the reason) when llama-cpp-python or gguf is missing; CI installs both."""
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed: pip install 'edgeemo[llava]'")
    pytest.importorskip("gguf", reason="gguf is not installed: pip install gguf")


@pytest.fixture(scope="session")
def tiny_pair(tmp_path_factory) -> tuple[Path, Path]:
    """A freshly written tiny LLaVA GGUF pair (text model, projector) in a temporary folder."""
    need_llama_cpp()
    from .tiny_llava import build_tiny_llava

    return build_tiny_llava(tmp_path_factory.mktemp("tiny-llava"))
