"""The FastAPI app: web chat and console pages, security headers, sessions, and serving it."""

import asyncio
import contextlib
import logging
import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import uvicorn
from fastapi import Depends, FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.channels.webchat import WebChat
from bot.console import admin, auth, chat, pages, polling, publishing, staff, supervisor
from bot.console.pages import render
from bot.console.security import NotLoggedIn, Throttle, check_csrf, csrf_token
from bot.console.sessions import SessionMiddleware, Sessions
from bot.history.accounts import LOCK_OUT, Accounts
from bot.history.reports import Reports
from bot.ops import tasks
from bot.replies import canned
from bot.services import Services
from bot.settings import Settings

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
SESSION_SECONDS = 8 * 3600
ROUTERS = (auth.router, staff.router, supervisor.router, publishing.router,
           polling.router, admin.router)
HSTS = "max-age=31536000; includeSubDomains"
PERMISSIONS = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
NO_STORE = ("/login", "/account", "/staff", "/supervisor", "/admin", "/chat/api")
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; "
       "frame-ancestors {ancestors}")


def console_secret(settings: Settings) -> str:
    """Return the key that signs sessions and chat tokens: configured, or made once and kept."""
    if settings.console_secret:
        return settings.console_secret.get_secret_value()
    path = settings.data_dir / "console.secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


class SecurityHeaders:
    """Add a strict Content-Security-Policy and friends to every response.

    Plain ASGI, not `BaseHTTPMiddleware`, which runs each request in a task of its own.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.embed = " ".join(settings.chat_embed_origins.split())
        self.https = settings.console_url.startswith("https://")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers when the response starts."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        embeddable = path == "/chat" and self.embed

        async def start(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = CSP.format(
                    ancestors=f"'self' {self.embed}" if embeddable else "'none'")
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "same-origin"
                headers["Permissions-Policy"] = PERMISSIONS
                if self.https:
                    headers["Strict-Transport-Security"] = HSTS
                if not embeddable:
                    headers["X-Frame-Options"] = "DENY"
                if path.startswith(NO_STORE):
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, start)


def _attach(app: FastAPI, services: Services, secret: str) -> None:
    """Hand the routes the services they use."""
    app.state.history = services.history
    app.state.desk = services.desk
    app.state.newsroom = services.newsroom
    app.state.cases = services.cases
    settings = services.settings
    app.state.sessions = Sessions(services.store.client, SESSION_SECONDS,
                                  settings.session_idle_minutes * 60)
    app.state.accounts = Accounts(services.history, settings.password_time_cost,
                                  settings.password_memory_kib, settings.password_concurrency,
                                  app.state.sessions.revoke)
    app.state.throttle = Throttle(services.store.client, settings.login_failures_per_address,
                                  int(LOCK_OUT.total_seconds()))
    app.state.reports = Reports(services.history, settings.nlu_threshold,
                                services.town.timezone)
    app.state.webchat = WebChat(services.balie, services.store, services.history,
                                services.desk, secret, app.state.accounts.display_name)
    app.state.town = services.town
    app.state.tenant_names = {key: town.name for key, town in services.tenants.all.items()}
    # Every page: times on the town's clock, numbers, intent labels; polls; standard replies.
    app.state.labels = services.labels
    pages.install(app.state.templates, services.town, app.state.labels,
                  app.state.tenant_names, services.tenants.shared)
    app.state.polls = services.polls
    app.state.canned = {town.key: canned.load(settings.intents_dir, town)
                        for town in services.tenants.municipalities}


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """Build the app on open services, or on its own, which its lifespan opens and closes."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            own, running = services, []
            if own is None:
                own = await stack.enter_async_context(Services.opened(settings))
                # The web chat's turns queue log rows: this process writes them too.
                running.append(asyncio.create_task(own.backlog.run()))
            _attach(app, own, secret)
            running.append(await app.state.webchat.relay())
            try:
                yield
            finally:
                await tasks.stop(*running)

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None,
                  max_body_size=settings.form_max_bytes)
    secret = console_secret(settings)
    app.state.settings = settings
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.globals.update(csrf_token=csrf_token)
    app.state.templates = templates
    app.add_middleware(SecurityHeaders, settings=settings)
    app.add_middleware(SessionMiddleware, secure=settings.console_url.startswith("https://"))
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    # The web chat's API has no cookies to abuse: it needs its own token in a header.
    app.include_router(chat.router, max_body_size=settings.chat_max_bytes)
    for router in ROUTERS:
        app.include_router(router, dependencies=[Depends(check_csrf)])
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(HTTPException, _error_page)
    app.add_exception_handler(Exception, _crash_page)

    @app.exception_handler(NotLoggedIn)
    async def to_login(request: Request, _: NotLoggedIn) -> Response:
        if not _browser(request) and "*/*" not in request.headers.get("accept", "*/*"):
            return JSONResponse({"detail": "Je bent niet meer ingelogd.", "login": "/login"}, 401)
        return RedirectResponse("/login", status_code=303)

    return app


# Console error pages: HTML in the console's style for browsers, JSON for the APIs
ERRORS = {
    403: ("Geen toegang", "Met jouw rol mag je deze pagina niet openen."),
    404: ("Niet gevonden", "Deze pagina of chat bestaat niet (meer)."),
    409: ("Dat kan nu niet", "Iemand anders was je voor, of de chat is veranderd."),
    500: ("Er ging iets mis", "Probeer het zo nog eens. Gaat het weer mis? Meld het dan aan "
                              "je beheerder."),
}
CSRF_HINT = "Het formulier was verlopen. Ga terug, herlaad de pagina en probeer het opnieuw."


def _browser(request: Request) -> bool:
    """Tell whether a person's browser asked for a page (not the page's own JSON requests)."""
    path = request.url.path
    return ("text/html" in request.headers.get("accept", "")
            and not path.endswith(".json") and not path.startswith("/chat/api"))


def _page(request: Request, status: int, detail: str = "") -> Response:
    title, text = ERRORS.get(status, ERRORS[500])
    if status == 409 and detail:
        text = detail
    elif status == 403 and detail.startswith("CSRF"):
        text = CSRF_HINT
    user = getattr(request.state, "user", None)
    return render(request, "error.html", {"user": user, "status": status, "title": title,
                                          "text": text}, status)


async def _error_page(request: Request, error: Exception) -> Response:
    """Show an HTTP error as a page in Dutch with a way back, or as JSON to a program."""
    assert isinstance(error, HTTPException)
    if _browser(request) and error.status_code >= 400:
        return _page(request, error.status_code, str(error.detail))
    return await http_exception_handler(request, error)


async def _crash_page(request: Request, error: Exception) -> Response:
    """Show an unexpected error (already logged by the server) without its details."""
    if _browser(request):
        return _page(request, 500)
    return JSONResponse({"detail": "internal error"}, 500)


async def _invalid(request: Request, error: Exception) -> Response:
    """Name the fields that were wrong, never what was sent; invalid Unicode is a 400."""
    assert isinstance(error, RequestValidationError)
    problems = error.errors()
    fields = sorted({".".join(map(str, problem["loc"][1:])) for problem in problems})
    if any(problem["type"] == "string_unicode" for problem in problems):
        return JSONResponse({"detail": "text is not valid Unicode", "fields": fields}, 400)
    return JSONResponse({"detail": "invalid input", "fields": fields}, 422)


class QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the program it runs in."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Install no signal handlers: the caller stops the server."""
        yield


def shared_socket(host: str, port: int) -> socket.socket:
    """Return a socket bound with SO_REUSEPORT: every process binding it so shares the port.

    The kernel hands each new connection to one of them. Only processes of the same user can
    share it, and a port that a process without the option holds stays refused.
    """
    family, kind, protocol, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, protocol)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


@contextlib.asynccontextmanager
async def serve(app: FastAPI, settings: Settings, shared: bool = False) -> AsyncIterator[None]:
    """Serve the app on the configured host and port while the block runs.

    `shared`: on a port other console processes of this deployment serve too.
    """
    # X-Forwarded-For names the client only when a listed proxy sends it.
    proxies = settings.trusted_proxies.replace(",", " ").split()
    # Staff pages hold event streams open: at a stop they get 5 s, then they are cut.
    config = uvicorn.Config(app, host=settings.console_host, port=settings.console_port,
                            log_config=None, access_log=False, proxy_headers=bool(proxies),
                            forwarded_allow_ips=proxies, timeout_graceful_shutdown=5)
    server = QuietServer(config)
    try:
        sockets = [shared_socket(settings.console_host, settings.console_port)] if shared else None
    except OSError as error:
        raise RuntimeError(f"the console could not start on port {settings.console_port}: "
                           f"{error}") from error
    task = asyncio.create_task(server.serve(sockets))
    try:  # stopped while starting too, or its socket stays open
        while not server.started and not task.done():  # noqa: ASYNC110 - uvicorn has no event
            await asyncio.sleep(0.05)
        if task.done():
            task.result()
            raise RuntimeError(f"the console could not start on port {settings.console_port}")
        log.info("web chat and console listening", extra={"url": settings.console_url})
        yield
    finally:
        server.should_exit = True
        await task
        for sock in sockets or []:  # closed by the server unless it failed to start
            sock.close()
