"""Sphinx settings for the docs site (`make docs` serves it; `.ci/run` builds it with warnings as
errors, so a broken link or a page left out of the contents fails CI). The pages are markdown
(MyST). The settings reference is written from the settings models at every build."""

from __future__ import annotations

from typing import Any

from core.cli.settings_reference import markdown

project = "supporthub"
extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
myst_heading_anchors = 3
"""Headings up to ### get GitHub-style anchors: `cli.md#checking-a-deployment-supporthub-doctor`."""
myst_enable_extensions = ["colon_fence"]
html_theme = "furo"
html_title = "supporthub"
html_static_path: list[str] = []
suppress_warnings: list[str] = []

SETTINGS_MARKER = "<!-- settings reference -->"


def _settings_reference(app: Any, docname: str, source: list[str]) -> None:
    if SETTINGS_MARKER in source[0]:
        source[0] = source[0].replace(SETTINGS_MARKER, markdown())


def setup(app: Any) -> None:
    app.connect("source-read", _settings_reference)
