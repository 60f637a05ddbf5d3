"""The process-wide container. A handler builds it when Lambda loads the handler (`cold_start`), so
that a setting the function needs fails there, naming it, instead of at first use; code that runs
outside a handler (the CLI, tests) gets one built on first use."""

from __future__ import annotations

from tximport.config import load_settings
from tximport.container import Container

_container: Container | None = None


def cold_start(function: str) -> Container:
    """Build the settings and the container of `function` (a folder of functions/) now; ConfigError
    names any setting it needs that is missing or malformed."""
    global _container
    _container = Container(load_settings(function=function))
    return _container


def container() -> Container:
    """The container of this process (built from the environment on first use)."""
    global _container
    if _container is None:
        _container = Container(load_settings())
    return _container


def reset_container() -> None:
    """Forget the container (tests and the local stack change the environment between runs)."""
    global _container
    _container = None
