"""The dashboard shows a reply as its customer saw it: markdown rendered, nothing run; and a
customer's language by its English name."""

from __future__ import annotations

import pytest

from core.admin.views.render import environment
from core.languages import speaking


def rendered(text: str) -> str:
    return environment().from_string("{{ text | markdown }}").render(text=text)


def test_a_reply_is_rendered_as_the_customer_saw_it() -> None:
    html = rendered("Here's what our help centre says in **Billing**:\n\n> 1. Open **Settings > Billing**")
    assert "<strong" in html and ">Billing</strong>" in html and "<blockquote" in html and "**" not in html


def test_nothing_in_a_reply_runs_or_links_elsewhere() -> None:
    html = rendered("<script>alert(1)</script> [click](javascript:alert(1)) [guide](https://help.example/x)")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "javascript:" not in html and "click" in html
    assert 'href="https://help.example/x"' in html


def test_a_table_keeps_its_rows() -> None:
    html = rendered("| Plan | Monthly |\n|---|---|\n| Business | 20 |")
    assert "<table" in html and "<th" in html and ">Business</td>" in html


@pytest.mark.parametrize(
    ("code", "shown"), [("de", "German"), ("pt", "Portuguese"), ("nl", "Dutch"), (None, "—"), ("", "—")]
)
def test_a_language_is_shown_by_its_english_name_whatever_the_hub_is_speaking(code: str | None, shown: str) -> None:
    template = environment().from_string("{{ code | language }}")
    with speaking("es"):  # a turn in Spanish elsewhere in the process: the dashboard is in English
        assert template.render(code=code) == shown
