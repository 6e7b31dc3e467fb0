"""The widget's branding settings: checked where they are read, and pasted into the script."""

from __future__ import annotations

import json
import re

import pytest
from pydantic import ValidationError

from channels.web.assets import assemble_widget
from channels.web.settings import WebSettings


def test_a_colour_is_kept_as_lower_case_rrggbb() -> None:
    assert WebSettings(color="#0A7D32").color == "#0a7d32"
    assert WebSettings(color="#FA0").color == "#ffaa00"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"color": "green"}, "'green' is not a colour like '#0a7d32'"),
        ({"avatar_url": "javascript:alert(1)"}, "is not an image URL like 'https://www.example.com/logo.png'"),
        ({"position": "top"}, "Input should be 'right' or 'left'"),
        ({"launcher_text": "x" * 41}, "at most 40 characters"),
    ],
)
def test_a_bad_branding_setting_is_refused_with_the_reason(values: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        WebSettings(**values)


def test_the_script_starts_with_the_settings_branding() -> None:
    settings = WebSettings(color="#0a7d32", launcher_text="Chat </script> with us", position="left")
    script = assemble_widget(css="", parts=[], branding=settings.branding)
    line = next(line for line in script.splitlines() if line.startswith("var BRANDING = "))
    assert "</" not in line
    assert json.loads(line.removeprefix("var BRANDING = ").removesuffix(";")) == settings.branding
    assert settings.branding["launcher_text"] == "Chat </script> with us"
