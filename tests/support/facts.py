"""A facts folder for tests: the demo municipality, open all day or closed until tomorrow."""

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from bot.replies.municipality import DAY_NAMES
from bot.settings import PROJECT_DIR


def facts(tmp_path: Path, open_now: bool) -> str:
    """Write the demo facts with opening hours that make staff available (or not) now."""
    data = yaml.safe_load((PROJECT_DIR / "intents/facts/voorbeeld.yml").read_text())
    # Tomorrow where the municipality is: near midnight the machine's date may differ.
    today = datetime.now(ZoneInfo(data["timezone"])).date()
    tomorrow = DAY_NAMES[(today + timedelta(days=1)).weekday()]
    data["opening_hours"] = ({day: "00:00-23:59:59" for day in DAY_NAMES} if open_now
                             else {tomorrow: "09:00-10:00"})
    data["holidays"] = []
    folder = tmp_path / "facts"
    folder.mkdir(exist_ok=True)
    (folder / "voorbeeld.yml").write_text(yaml.safe_dump(data, allow_unicode=True))
    return str(folder)
