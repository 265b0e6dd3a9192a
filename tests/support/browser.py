"""What the browser tests share: Chromium, axe-core, screenshots and the real console process."""

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, Error, Frame, Page, async_playwright

from bot.settings import PROJECT_DIR

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
AXE = (PROJECT_DIR / "tests/support/axe/axe.min.js").read_text()
ARTIFACTS = PROJECT_DIR / "tests" / "artifacts"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}


async def accessible(page: Page, name: str, frame: bool = False) -> None:
    """Save a screenshot for people to look at; axe-core finds no violation of any impact.

    With `frame`, the page's first frame (the embedded chat) is checked too.
    """
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        await page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
    except Error as error:  # Chromium on a busy machine, now and then: once more
        if "Unable to capture screenshot" not in str(error):
            raise
        await page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
    targets: list[Page | Frame] = [page, *([page.frames[1]] if frame else [])]
    for target in targets:
        await target.evaluate(AXE)
        result: dict[str, Any] = await target.evaluate("axe.run(document)")
        found = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                 for v in result["violations"]]
        assert not found, f"{name}: {found}"
        assert result["passes"], "axe ran no checks"


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Launch Debian's Chromium under Playwright; close it after."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield browser
        finally:
            await browser.close()


@contextlib.asynccontextmanager
async def console(env: dict[str, str], log_path: Path) -> AsyncIterator[str]:
    """Run the real `python -m bot console` process on env; yield its address once it serves.

    Its output goes to log_path, shown when it does not start; it must stop on SIGTERM.
    """
    environment = {key: value for key, value in os.environ.items() if key != "TELEGRAM_TOKEN"}
    with log_path.open("w+b") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "console", cwd=PROJECT_DIR,
            env={**environment, **env}, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{env['BALIE_CONSOLE_PORT']}"
        try:
            async with httpx.AsyncClient() as client:
                for _ in range(600):
                    with contextlib.suppress(httpx.TransportError):
                        if (await client.get(f"{url}/login")).status_code == 200:
                            break
                    await asyncio.sleep(0.1)
                else:
                    log.seek(0)
                    raise AssertionError(log.read().decode(errors="replace"))
            yield url
        finally:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=60)
            except TimeoutError:
                process.kill()
                raise AssertionError("the console did not stop on SIGTERM") from None
