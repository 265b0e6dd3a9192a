"""`balie run` and `balie worker`: the intake with its health endpoints, and the workers."""

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import httpx
import uvicorn
from sqlalchemy.ext.asyncio import create_async_engine

from bot.channels import telegram
from bot.channels.staffgroup import StaffDesk
from bot.console import create_app, serve
from bot.console.app import QuietServer
from bot.history.log import History
from bot.intake import outbox, receiver
from bot.intake.worker import Worker
from bot.ops import health
from bot.ops.tasks import stop
from bot.services import Services
from bot.settings import Settings, child_environment, is_loopback
from bot.state.store import EmbeddedRedis, connect

log = logging.getLogger(__name__)
RESPAWN_SECONDS = 0.5
STOP_SECONDS = 10


class NotStarted(Exception):
    """The settings do not allow starting; the message says what to change."""


async def until_signal(*jobs: Coroutine[Any, Any, None]) -> None:
    """Run jobs until SIGTERM or SIGINT, or until one of them fails; then cancel them all."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop.set)
    tasks = [asyncio.create_task(job) for job in jobs]
    stopper = asyncio.create_task(stop.wait())
    running = {*tasks, stopper}
    try:
        while stopper in running:
            done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            failed = [task for task in done - {stopper} if task.exception()]
            for task in failed:
                log.error("stopping: a part failed", exc_info=task.exception())
            if failed:
                break
    finally:
        for task in [*tasks, stopper]:
            task.cancel()
        await asyncio.gather(*tasks, stopper, return_exceptions=True)


async def work(settings: Settings, shared: Services | None = None) -> None:
    """Run one worker until cancelled: its services (its own, or open ones), PTB and the reader."""
    async with contextlib.AsyncExitStack() as stack:
        services = shared
        if services is None:
            services = await stack.enter_async_context(Services.opened(settings))
        staff = None
        if settings.staff_chat_id is not None:
            staff = StaffDesk(services.desk, services.history, services.cases,
                              services.balie.renderer, settings.staff_chat_id, settings.staff_ids,
                              settings.handoff_reminder_seconds)
        # Balie drives the Application itself (initialize, process_update), so PTB's post_init
        # never runs: the services are opened here, before the first update.
        application = telegram.build(settings, services.balie, staff)
        outbox.LIMIT.set(services.budget)
        client = services.store.client
        await application.initialize()
        stack.push_async_callback(application.shutdown)
        await telegram.register_commands(application.bot, services.balie.renderer)
        retention = {town.key: int(town.facts["retention_days"])
                     for town in services.tenants.municipalities}
        tasks = [
            asyncio.create_task(telegram.purge_daily(services.history, retention)),
            asyncio.create_task(services.backlog.run()),
            asyncio.create_task(telegram.tell_citizens(services.balie, client, application.bot)),
        ]
        if staff:
            tasks.append(asyncio.create_task(staff.run(application.bot)))
        try:
            # The model and everything made at start-up live as long as the process: keep them
            # out of the garbage collector's passes over the heap.
            gc.freeze()
            log.info("worker ready")
            await Worker(settings, telegram.dispatcher(application, services.balie,
                                                       settings.staff_chat_id), client).run()
        finally:
            await stop(*tasks)


async def console(settings: Settings, shared: Services | None = None,
                  joined: bool = False) -> None:
    """Serve the web chat and the console until cancelled, on open services or their own.

    With BALIE_CONSOLE_PROCESSES above one, this process also keeps that many less one
    `balie console --joined` processes serving the same port (and an embedded Redis they
    share, when no REDIS_URL is set). `joined`: one of those.
    """
    processes = 1 if joined else settings.console_processes
    async with contextlib.AsyncExitStack() as stack:
        if processes > 1:
            settings = await stack.enter_async_context(shared_redis(settings))
        await stack.enter_async_context(
            serve(create_app(settings, shared), settings, shared=joined or processes > 1))
        if not joined:
            print(f"Balie's web chat: {settings.console_url}/chat  "
                  f"(console: {settings.console_url}/)", file=sys.stderr)
        if processes > 1:
            assert settings.redis_url is not None
            await supervise(processes - 1, child_environment(REDIS_URL=settings.redis_url),
                            "console", "--joined")
        await asyncio.Event().wait()


@contextlib.asynccontextmanager
async def shared_redis(settings: Settings) -> AsyncIterator[Settings]:
    """Yield the settings with a REDIS_URL other processes reach (embedded if none is set)."""
    if settings.redis_url is not None:
        yield settings
        return
    embedded = EmbeddedRedis(settings.data_dir / "redis")
    try:
        yield settings.model_copy(update={"redis_url": embedded.start()})
    finally:
        await asyncio.to_thread(embedded.stop)


async def supervise(count: int, env: dict[str, str], *command: str) -> None:
    """Keep `count` processes of `balie <command>` running with `env`, starting one that exits."""
    processes: dict[int, asyncio.subprocess.Process] = {}
    try:
        while True:
            for slot in range(count):
                process = processes.get(slot)
                if process is None or process.returncode is not None:
                    if process is not None:
                        log.warning("process exited; starting it again",
                                    extra={"command": command[0], "slot": slot,
                                           "returncode": process.returncode})
                    processes[slot] = await asyncio.create_subprocess_exec(
                        sys.executable, "-m", "bot", *command, env=env)
            await asyncio.sleep(RESPAWN_SECONDS)
    finally:
        for process in processes.values():
            if process.returncode is None:
                process.terminate()
        for process in processes.values():
            try:
                await asyncio.wait_for(process.wait(), STOP_SECONDS)
            except TimeoutError:
                process.kill()


async def _serve(server: uvicorn.Server) -> None:
    """Serve until cancelled, then shut down as uvicorn does on exit, closing its sockets."""
    serving = asyncio.ensure_future(server.serve())
    try:
        await asyncio.shield(serving)
    except asyncio.CancelledError:
        server.should_exit = True
        await serving
        raise


async def _announce(server: uvicorn.Server, settings: Settings, http: httpx.AsyncClient) -> None:
    """Set the webhook once the server listens."""
    while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
        await asyncio.sleep(0.05)
    await receiver.set_webhook(settings, http)
    log.info("webhook set", extra={"listen": settings.webhook_listen,
                                   "port": settings.webhook_port})


async def run(settings: Settings, workers: int | None) -> None:
    """Run the intake (webhook or poller, and health endpoints) with `workers` processes.

    With 0 worker processes, one worker runs inside this process; with None, none at all.
    """
    problem = settings.start_problem()
    if problem:
        raise NotStarted(problem)
    async with shared_redis(settings) as shared:
        await _run(shared, workers)


async def _run(settings: Settings, workers: int | None) -> None:
    assert settings.redis_url is not None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Migrate once here, so worker processes starting together do not race to do it.
    await (await History.open(settings.sqlalchemy_url, tenant=settings.municipality)).close()
    client = connect(settings.redis_url)
    engine = create_async_engine(settings.sqlalchemy_url)
    routers = []
    host, port = settings.health_listen, settings.health_port
    if settings.webhook_url:
        path = "/" + httpx.URL(settings.webhook_url).path.lstrip("/")
        routers.append(receiver.webhook_router(settings, client, path))
        host, port = settings.webhook_listen, settings.webhook_port
    token = settings.health_token.get_secret_value() if settings.health_token else None
    routers.append(health.router(client, engine, shared_metrics=settings.metrics_dir is not None,
                                 token=token, exposed=not is_loopback(host)))
    try:
        async with contextlib.AsyncExitStack() as stack:
            http = await stack.enter_async_context(httpx.AsyncClient(timeout=30))
            jobs: list[Coroutine[Any, Any, None]] = []
            server = None
            if port is not None:
                config = uvicorn.Config(receiver.create_app(*routers),
                                        host=host, port=port,
                                        log_config=None, access_log=False,
                                        lifespan="off")
                server = QuietServer(config)
                jobs.append(_serve(server))
            if settings.webhook_url and server:
                jobs.append(_announce(server, settings, http))
            else:
                jobs.append(receiver.poll(settings, client, http))
            if workers == 0:
                # One worker in this process: it and the web side share one set of services.
                services = await stack.enter_async_context(Services.opened(settings))
                jobs += [work(settings, services), console(settings, services)]
            else:
                if workers:
                    # Worker processes read their settings from the environment, with ours.
                    env = child_environment(REDIS_URL=settings.redis_url)
                    jobs.append(supervise(workers, env, "worker"))
                jobs.append(console(settings))
            await until_signal(*jobs)
    finally:
        await client.aclose()
        await engine.dispose()
