"""The reviewers' and partners' web pages, server-rendered (Jinja2), under ``/web/``.

* ``/web/signin``: sign in with a partner token (session cookie, see :mod:`expedition.delivery.api.web_session`);
* ``/web/expeditions``: the expeditions the partner may see (its scope; a partner named in ``[api]
  reviewers`` sees them all), with status, alert, tier, countries and the latest brief;
* ``/web/expeditions/{id}``: assessments, decisions in words, brief versions (what changed in each) in
  both languages as HTML and PDF, survey progress, advice and its sign-off;
* ``POST /web/expeditions/{id}/advice/{advice_id}/approve``: sign-off by a reviewer, with the CLI's rules
  (:func:`expedition.outputs.advice.store.approve_advice`: a reviewer name, an active item, the evidence it has
  now), recorded in the lake and in the partner audit log.

Every word comes from the brief's message catalogue (``?lang=en|zh``). No outside resource: the CJK web
font is served from ``/web/static/cjk.ttf`` (see :mod:`expedition.delivery.api.web_assets`).
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import jinja2
from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from expedition.delivery.api.auth import get_state
from expedition.delivery.api.scopes import PartnerView, hidden_survey_rows
from expedition.delivery.api.web_assets import cjk_web_font
from expedition.delivery.api.web_data import expedition_page, expedition_rows, recorded_brief
from expedition.delivery.api.web_session import COOKIE, LIFETIME_S, Session, SessionStore
from expedition.delivery.partners import Partner
from expedition.errors import ExpeditionError, NotFound

__all__ = ["router"]

log = logging.getLogger(__name__)
router = APIRouter(prefix="/web", include_in_schema=False)
FONT_URL = "/web/static/cjk.ttf"
_STORE_KEY = "qe_web_sessions"
MAX_FORM_BYTES = 16 * 1024


@cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("expedition.delivery.api", "templates"), autoescape=True,
                              undefined=jinja2.StrictUndefined)


def _store(request: Request) -> SessionStore:
    store = getattr(request.app.state, _STORE_KEY, None)
    if store is None:
        store = SessionStore()
        setattr(request.app.state, _STORE_KEY, store)
    return store


def _lang(request: Request) -> str:
    lang = (request.query_params.get("lang") or request.cookies.get("qe_lang") or "en").strip().lower()
    return lang if lang in ("en", "zh") else "en"


def _page(request: Request, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    from expedition.outputs.briefs.i18n import texts

    lang = _lang(request)
    html = _env().get_template(template).render(t=texts(lang), lang=lang, font_url=FONT_URL, path=request.url.path, **ctx)
    resp = HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                                                            "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'"})
    if request.query_params.get("lang") in ("en", "zh"):
        resp.set_cookie("qe_lang", lang, max_age=LIFETIME_S * 90, path="/web", samesite="strict", httponly=True)
    return resp


def _signed_in(request: Request) -> tuple[Session, Partner] | None:
    session = _store(request).get(request.cookies.get(COOKIE))
    if session is None:
        return None
    partner = get_state(request).source.current().registry.authenticate(session.token)
    if partner is None:  # revoked since sign-in
        _store(request).close(session.session_id)
        return None
    return session, partner


def _require(request: Request) -> tuple[Session, Partner, PartnerView]:
    found = _signed_in(request)
    if found is None:
        raise _to_signin(request)
    session, partner = found
    return session, partner, get_state(request).view(partner)




def _to_signin(request: Request) -> HTTPException:
    return HTTPException(status_code=303, headers={"Location": f"/web/signin?next={quote(request.url.path)}"})


def _is_reviewer(request: Request, partner: Partner) -> bool:
    return partner.name in get_state(request).config.reviewers


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    return RedirectResponse("/web/expeditions" if _signed_in(request) else "/web/signin", status_code=303)


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request, next: str = "/web/expeditions") -> HTMLResponse:
    return _page(request, "web/signin.html.j2", error=None, next=_safe_next(next))


def _safe_next(target: str) -> str:
    """Only a path of this site's web pages (no open redirect)."""
    return target if target.startswith("/web/") and not target.startswith("//") and "\\" not in target else "/web/expeditions"


async def _form(request: Request) -> dict[str, str]:
    """The fields of an ``application/x-www-form-urlencoded`` body (at most 16 KiB; first value of each)."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise HTTPException(status_code=415, detail="send the form as application/x-www-form-urlencoded")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise HTTPException(status_code=413, detail="form too large")
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}


@router.post("/signin", response_class=HTMLResponse)
async def signin_post(request: Request) -> Response:
    form = await _form(request)
    return await run_in_threadpool(signin, request, form.get("token", ""), form.get("next", "/web/expeditions"))


def signin(request: Request, token: str, next: str) -> Response:
    """Check the token, open a session and set its cookie; a bad token is refused and audited."""
    state = get_state(request)
    client = request.client.host if request.client else None
    partner = state.source.current().registry.authenticate(token.strip())
    if partner is None:
        state.audit.record(route="/web/signin", outcome="refused", status=401, client=client, detail="web sign-in: bad token")
        return _page(request, "web/signin.html.j2", status=401, error="web_signin_failed", next=_safe_next(next))
    session = _store(request).open(token.strip(), partner.name)
    state.audit.record(route="/web/signin", outcome="ok", status=303, partner=partner.name, client=client,
                       detail="web sign-in")
    resp = RedirectResponse(_safe_next(next), status_code=303)
    resp.set_cookie(COOKIE, session.session_id, max_age=LIFETIME_S, path="/web", httponly=True, samesite="strict",
                    secure=request.url.scheme == "https")
    return resp


@router.post("/signout")
async def signout(request: Request) -> Response:
    csrf = (await _form(request)).get("csrf", "")
    found = _signed_in(request)
    if found is not None and found[0].csrf_ok(csrf):
        _store(request).close(found[0].session_id)
    resp = RedirectResponse("/web/signin", status_code=303)
    resp.delete_cookie(COOKIE, path="/web")
    return resp


@router.get("/expeditions", response_class=HTMLResponse)
def expeditions(request: Request) -> Response:
    try:
        session, partner, view = _require(request)
    except HTTPException as exc:
        return RedirectResponse(exc.headers["Location"] if exc.headers else "/web/signin", status_code=303)
    state = get_state(request)
    rows = expedition_rows(state.lake, view, _lang(request), state.settings.home / "cache")
    return _page(request, "web/list.html.j2", rows=rows, partner=partner.name, reviewer=_is_reviewer(request, partner),
                 csrf=session.csrf, snapshot=view.snapshot_id)


def _visible(view: PartnerView, expedition_id: str) -> None:
    tbl = view.tables.get("expeditions")
    ids = set(tbl.column("expedition_id").to_pylist()) if tbl is not None else set()
    if expedition_id not in ids:  # the same answer for "does not exist" and "not yours"
        raise HTTPException(status_code=404, detail=f"no expedition {expedition_id!r}")


@router.get("/expeditions/{expedition_id}", response_class=HTMLResponse)
def expedition(request: Request, expedition_id: str) -> Response:
    try:
        session, partner, view = _require(request)
    except HTTPException as exc:
        return RedirectResponse(exc.headers["Location"] if exc.headers else "/web/signin", status_code=303)
    _visible(view, expedition_id)
    state = get_state(request)
    data = state.source.current()
    page = expedition_page(state.lake, state.settings, data, view, expedition_id, _lang(request))
    page["embargoed"] = hidden_survey_rows(data, view, expedition_id)
    return _page(request, "web/expedition.html.j2", p=page, partner=partner.name, reviewer=_is_reviewer(request, partner),
                 csrf=session.csrf, message=request.query_params.get("msg"), snapshot=view.snapshot_id)


@router.get("/expeditions/{expedition_id}/brief")
def brief(request: Request, expedition_id: str, format: str = "html", lang: str = "en",
          version: int | None = None) -> Response:
    try:
        _, _, view = _require(request)
    except HTTPException as exc:
        return RedirectResponse(exc.headers["Location"] if exc.headers else "/web/signin", status_code=303)
    _visible(view, expedition_id)
    fmt, language = format.strip().lower(), lang.strip().lower()
    if fmt not in ("html", "pdf") or language not in ("en", "zh"):
        raise HTTPException(status_code=400, detail="format must be html or pdf and lang en or zh")
    state = get_state(request)
    data = state.source.current()
    if hidden_survey_rows(data, view, expedition_id):
        raise HTTPException(status_code=403, detail="the brief includes survey observations still under your embargo")
    if version is not None:
        path = recorded_brief(state.lake, view.snapshot_id, expedition_id, version, language, fmt)
        if path is None or not Path(path).is_file():
            raise HTTPException(status_code=404, detail=f"no recorded {language} {fmt} file of brief version {version}")
        return FileResponse(path, media_type="application/pdf" if fmt == "pdf" else "text/html; charset=utf-8")
    from expedition.delivery.api.briefs_bridge import MEDIA, BriefUnavailable, render_web_brief

    try:
        body = render_web_brief(state.lake, state.settings, data, expedition_id, fmt, language, FONT_URL)
    except BriefUnavailable as exc:
        raise HTTPException(status_code=503, detail=str(exc)) from exc
    return Response(body, media_type=MEDIA[fmt], headers={"X-QE-Snapshot": str(view.snapshot_id)})


@router.post("/expeditions/{expedition_id}/advice/{advice_id}/approve")
async def approve_post(request: Request, expedition_id: str, advice_id: str) -> Response:
    form = await _form(request)
    return await run_in_threadpool(approve, request, expedition_id, advice_id, form.get("csrf", ""),
                                   form.get("reviewer_name", ""), form.get("note", ""))


def approve(request: Request, expedition_id: str, advice_id: str, csrf: str, reviewer_name: str, note: str) -> Response:
    """Sign off one advice item for a reviewer (CSRF checked, role checked, audited)."""
    found = _signed_in(request)
    if found is None:
        return RedirectResponse("/web/signin", status_code=303)
    session, partner = found
    state = get_state(request)
    client = request.client.host if request.client else None
    route = f"/web/expeditions/{expedition_id}/advice/approve"
    if not session.csrf_ok(csrf):
        state.audit.record(route=route, outcome="refused", status=403, partner=partner.name, client=client,
                           query_name="advice_approve", detail=f"bad CSRF token for advice {advice_id}")
        raise HTTPException(status_code=403, detail="the form is stale or forged (CSRF token mismatch): reload the page")
    if not _is_reviewer(request, partner):
        state.audit.record(route=route, outcome="refused", status=403, partner=partner.name, client=client,
                           query_name="advice_approve", detail=f"not a reviewer: advice {advice_id}")
        raise HTTPException(status_code=403, detail="only a reviewer may sign off advice")
    _visible(state.view(partner), expedition_id)
    from expedition.outputs.advice.store import approve_advice

    lang = _lang(request)
    by = f"{reviewer_name.strip()} ({partner.name})" if reviewer_name.strip() else ""
    try:
        item = approve_advice(state.lake, advice_id, by=by, note=(note.strip() or None))
        if item.expedition_id != expedition_id:
            raise NotFound(f"advice {advice_id} is not advice of {expedition_id}")
    except ExpeditionError as exc:
        state.audit.record(route=route, outcome="refused", status=400, partner=partner.name, client=client,
                           query_name="advice_approve", detail=f"{advice_id}: {exc}")
        return RedirectResponse(f"/web/expeditions/{expedition_id}?lang={lang}&msg=web_signoff_refused", status_code=303)
    state.audit.record(route=route, outcome="ok", status=303, partner=partner.name, client=client,
                       query_name="advice_approve", detail=f"approved {item.advice_id} by {by}")
    state.source.refresh_now()  # the next page shows the sign-off
    return RedirectResponse(f"/web/expeditions/{expedition_id}?lang={lang}&msg=web_signoff_done#advice", status_code=303)


@router.get("/static/cjk.ttf")
def cjk_font(request: Request) -> Response:
    path = cjk_web_font(get_state(request).settings.home / "cache")
    return FileResponse(path, media_type="font/ttf", headers={"Cache-Control": "public, max-age=604800"})
