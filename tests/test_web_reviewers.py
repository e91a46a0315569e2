"""The reviewers' web pages on the 2025 M7.7 Myanmar expedition: sign-in, session cookie, CSRF, the reviewer
role, advice sign-off with the CLI's rules and audit; then the same in headless Chromium (system package)
over the DevTools protocol on 127.0.0.1, with screenshots kept under the pytest tmp dir."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cdp import Browser, chromium_binary, skip_reason

pytestmark = pytest.mark.slow

REVIEWER = "bridrrem-review"


@pytest.fixture(scope="module")
def web(myanmar: dict[str, Any]) -> Iterator[dict[str, Any]]:
    from expedition.delivery.api.app import create_app
    from expedition.delivery.api.config import ApiConfig
    from expedition.delivery.partners import add_partner
    from tests.briefs_fixtures import add_ground_advice

    lake = myanmar["lake"]
    advice = add_ground_advice(lake, myanmar["exp"])
    tokens = {REVIEWER: add_partner(lake, REVIEWER, countries=["MMR"]).token,
              "ineter": add_partner(lake, "ineter", countries=["NIC"]).token,
              "mmr-partner": add_partner(lake, "mmr-partner", countries=["MMR"]).token}
    from expedition.delivery.api.server import BackgroundServer

    app = create_app(myanmar["settings"], config=ApiConfig(reviewers=(REVIEWER,), audit_flush_s=0, refresh_s=0.2))
    with BackgroundServer(app) as srv:
        yield {**myanmar, "app": app, "url": srv.url, "tokens": tokens, "advice": advice}


def _http(web: dict[str, Any]) -> Any:
    import httpx

    return httpx.Client(base_url=web["url"], follow_redirects=False, timeout=300)


def _client(web: dict[str, Any], who: str) -> Any:
    c = _http(web)
    r = c.post("/web/signin", data={"token": web["tokens"][who], "next": "/web/expeditions"})
    assert r.status_code == 303, r.text
    return c


def test_signin_sets_a_strict_httponly_cookie_and_refuses_bad_tokens(web: dict[str, Any]) -> None:
    with _http(web) as c:
        assert c.get("/web/expeditions").headers["location"].startswith("/web/signin")
        bad = c.post("/web/signin", data={"token": "qe_0000000000000000_" + "x" * 43})
        assert bad.status_code == 401 and "not valid" in bad.text
        ok = c.post("/web/signin", data={"token": web["tokens"][REVIEWER], "next": "https://evil.example/"})
        cookie = ok.headers["set-cookie"]
        assert ok.status_code == 303 and ok.headers["location"] == "/web/expeditions"  # no open redirect
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/web" in cookie
        page = c.get("/web/expeditions?lang=zh")
        assert page.status_code == 200 and web["exp"] in page.text and "缅甸" in page.text and "待评审" in page.text
        assert re.search(r'(src|href)="(https?:)?//', page.text) is None  # nothing from outside
    records = web["app"].state.qe.audit
    assert records.pending() >= 2  # the refused and the accepted sign-in are in the audit buffer


def test_scope_decides_what_a_partner_sees(web: dict[str, Any]) -> None:
    other = _client(web, "ineter")
    assert web["exp"] not in other.get("/web/expeditions").text
    assert other.get(f"/web/expeditions/{web['exp']}").status_code == 404
    # a partner of Myanmar does not see an expedition still pending review; the reviewer role does
    assert web["exp"] not in _client(web, "mmr-partner").get("/web/expeditions").text


def test_expedition_page_shows_the_authoritative_pager_alert(web: dict[str, Any]) -> None:
    c = _client(web, REVIEWER)
    for lang, label, red in (("en", "USGS PAGER alert", "RED"), ("zh", "美国地质调查局 PAGER 警报", "红色")):
        page = c.get(f"/web/expeditions/{web['exp']}?lang={lang}")
        assert page.status_code == 200
        fact = re.search(r'<div id="alert-authoritative">(.*?)</div>', page.text)
        assert fact is not None, page.text[:500]
        # the stored losspager version (red, updated 2025-04-09 06:20:56 UTC)
        assert f"<span>{label}</span>" in fact.group(1) and f'<span class="pill alert-red">{red}</span>' in fact.group(1)
        assert ("2025-04-09 06:20 UTC" if lang == "en" else "2025年4月9日 06:20 (UTC)") in fact.group(1)


def test_signoff_needs_the_reviewer_role_a_csrf_token_and_a_name(web: dict[str, Any]) -> None:
    from expedition.outputs.advice.store import advice_of

    c = _client(web, REVIEWER)
    page = c.get(f"/web/expeditions/{web['exp']}?lang=en")
    assert page.status_code == 200 and "Myanmar (member since 2023-11-16)" in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    aid = web["advice"][0]
    url = f"/web/expeditions/{web['exp']}/advice/{aid}/approve"
    assert c.post(url, data={"csrf": "forged", "reviewer_name": "Dr. A"}).status_code == 403
    refused = c.post(url, data={"csrf": csrf.group(1), "reviewer_name": " "})
    assert refused.status_code == 303 and "web_signoff_refused" in refused.headers["location"]
    done = c.post(url, data={"csrf": csrf.group(1), "reviewer_name": "Dr. A. Reviewer", "note": "checked"})
    assert done.status_code == 303 and "web_signoff_done" in done.headers["location"]
    con = web["lake"].connect(read_only=True)
    try:
        item = next(i for i in advice_of(con, web["exp"]) if i.advice_id == aid)
        author = con.execute("SELECT author FROM ducklake_snapshots('lake') ORDER BY snapshot_id DESC LIMIT 1").fetchone()
    finally:
        con.close()
    assert item.status == "approved" and item.approved_by == [f"Dr. A. Reviewer ({REVIEWER})"]
    assert author is not None and author[0] == f"Dr. A. Reviewer ({REVIEWER})"  # the lake's own audit, as the CLI
    partner = _client(web, "ineter")
    assert partner.post(url, data={"csrf": "x", "reviewer_name": "Y"}).status_code == 403


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    binary = chromium_binary()
    assert binary is not None
    b = Browser(binary, tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield b
    finally:
        b.close()


def test_in_chromium_sign_in_list_open_brief_switch_language_sign_off(web: dict[str, Any], browser: Browser,
                                                                      tmp_path: Path) -> None:
    class _Srv:
        url = web["url"]

    if True:
        srv = _Srv()
        browser.viewport(1100, 1400)
        browser.goto(f"{srv.url}/web/expeditions")
        assert browser.js("document.querySelector('#signin') !== null")  # redirected to the sign-in page
        token = web["tokens"][REVIEWER]
        browser.js(f"document.querySelector('#token').value = '{token}'; document.querySelector('form').submit()",
                   wait_load=True)
        assert web["exp"] in browser.js("document.querySelector('#expeditions').innerText")
        assert browser.js("document.cookie") == ""  # HttpOnly: no script sees the session
        browser.js(f"document.querySelector('a[href^=\"/web/expeditions/{web['exp']}\"]').click()", wait_load=True)
        assert "Decisions" in browser.js("document.body.innerText")
        browser.js("document.querySelector('#lang-zh').click()", wait_load=True)
        body = browser.js("document.body.innerText")
        assert "决策记录" in body and "缅甸" in body
        assert browser.js("document.fonts.check('16px \"QE CJK\"', '缅甸')")
        # sign off the advice still in draft, from the page
        browser.js("const f = document.querySelector('form.signoff'); f.reviewer_name.value = '王评审'; f.submit()",
                   wait_load=True)
        assert "建议已签核" in browser.js("document.querySelector('#message').innerText")
        browser.viewport(412, 915, mobile=True)  # a phone
        browser.goto(f"{srv.url}/web/expeditions/{web['exp']}?lang=zh")
        assert browser.js("document.documentElement.scrollWidth <= window.innerWidth + 1")  # no sideways scrolling
        page_png = browser.screenshot(tmp_path / "expedition_page_zh_phone.png", full_page=True)
        browser.viewport(1100, 1400)
        browser.goto(f"{srv.url}/web/expeditions/{web['exp']}/brief?lang=zh&format=html")
        assert "本系统估算" in browser.js("document.body.innerText")
        assert browser.js("document.fonts.check('16px \"QE CJK\"', '缅甸')")
        brief_png = browser.screenshot(tmp_path / "brief_first_page_zh.png")
        browser.goto(f"{srv.url}/web/expeditions/{web['exp']}/brief?lang=en&format=html")
        assert "Alert RED" in browser.js("document.body.innerText")
        browser.screenshot(tmp_path / "brief_first_page_en.png")
    print(f"screenshots: {page_png} {brief_png} {tmp_path / 'brief_first_page_en.png'}")
    for png in (page_png, brief_png):
        assert png.stat().st_size > 20_000
