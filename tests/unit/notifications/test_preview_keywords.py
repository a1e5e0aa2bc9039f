"""The settings page's template preview knows the same keywords as the notifications it previews."""

from __future__ import annotations


def test_the_settings_page_previews_exactly_the_keywords_notifications_render() -> None:
    import re
    from pathlib import Path

    from helpdesk.notifications.render import KEYWORDS

    script = (Path(__file__).resolve().parents[3] / "functions" / "admin" / "static" / "app.js").read_text()
    sample = script.split("const PREVIEW_SAMPLE = {", 1)[1].split("};", 1)[0]
    assert set(re.findall(r"(\w+):", sample)) == set(KEYWORDS)
