"""The process-wide container, built on first use from the environment (once per Lambda cold start)."""

from __future__ import annotations

from tximport.config import load_settings
from tximport.container import Container

_container: Container | None = None


def container() -> Container:
    global _container
    if _container is None:
        _container = Container(load_settings())
    return _container


def reset_container() -> None:
    """Forget the container (tests and the local stack change the environment between runs)."""
    global _container
    _container = None
