"""The installed channels' classes, each loaded once from its `supporthub.channels` entry point.

A channel whose platform library is an optional extra (`pip install 'supporthub[discord]'`) is
installed with the hub but cannot load without that library: it is left out, as if it were not
installed at all (no settings section, no pane, not startable), and `missing` says why, so
`channels = ["discord"]` without the extra names the extra to install. A channel module that
fails for any other reason (its own bug) still fails loudly.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import cache
from types import MappingProxyType
from typing import Any

from core.languages import channel_entry_points

log = logging.getLogger(__name__)


@cache
def _loaded() -> tuple[Mapping[str, Any], Mapping[str, str]]:
    classes: dict[str, Any] = {}
    missing: dict[str, str] = {}
    for name, entry in sorted(channel_entry_points().items()):
        own_package = entry.module.split(".")[0]
        try:
            classes[name] = entry.load()
        except ModuleNotFoundError as absent:
            library = (absent.name or "").split(".")[0]
            if not library or library == own_package:
                raise
            missing[name] = f"its library {library!r} is not installed: pip install 'supporthub[{name}]'"
            log.debug("%s: left out: %s", name, missing[name])
    return MappingProxyType(classes), MappingProxyType(missing)


def channel_classes() -> Mapping[str, Any]:
    """Each installed channel's class (not built), by its entry point's name."""
    return _loaded()[0]


def missing_channels() -> Mapping[str, str]:
    """Installed channels left out for want of their optional library, and how to add it."""
    return _loaded()[1]
