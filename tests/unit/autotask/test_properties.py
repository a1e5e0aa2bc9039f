"""Properties over many inputs: key splitting and redaction."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from helpdesk.autotask import AutotaskCredentials, AutotaskSettings
from helpdesk.autotask.redact import redact

passwords = st.text(
    alphabet=st.characters(blacklist_characters="\r\n\x00", blacklist_categories=("Cs",)), min_size=1, max_size=60
)


@given(password=passwords)
def test_any_password_survives_the_first_colon_split(password: str) -> None:
    creds = AutotaskCredentials.parse(
        "webservices5.autotask.net", f"api@msp.example:{password}", "CODE", settings=AutotaskSettings()
    )
    assert creds.username == "api@msp.example"
    assert creds.secret == password


@given(secret=st.text(min_size=4, max_size=40), prefix=st.text(max_size=30), suffix=st.text(max_size=30))
def test_redaction_removes_the_secret_in_plain_and_url_encoded_form(secret: str, prefix: str, suffix: str) -> None:
    from urllib.parse import quote, quote_plus

    for form in (secret, quote(secret, safe=""), quote_plus(secret)):
        out = redact(prefix + form + suffix, [secret])
        assert secret not in out.replace("***", "")
