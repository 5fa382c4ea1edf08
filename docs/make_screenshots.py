"""Take the screenshots in docs/images/ from the demo, in a real Chromium.

    .venv/bin/python docs/make_screenshots.py

A throwaway SQLite database under a temporary directory gets the demo schedule
(`demo_setup`); today's steps are moved along as if it were 10:30 (done, in
progress, arrived), the web UI is started with uvicorn, and Chromium (Debian's
package, driven by Playwright) logs in as the demo scheduler and photographs
the day board and the booking form.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from datetime import time as clock
from pathlib import Path
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"
PORT = 8765
PRETEND_NOW = clock(10, 30)


def main() -> None:
    var = Path(tempfile.mkdtemp(prefix="ris-screenshots-"))
    env = {**os.environ, "DEBUG": "1", "RIS_VAR_DIR": str(var), "LOG_LEVEL": "WARNING"}
    env.pop("DATABASE_URL", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True)
    subprocess.run(
        [*manage, "demo_setup", "--procedures", "600", "--days", "2"], env=env, check=True
    )
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ris.settings")
    import django

    django.setup()
    move_the_morning_along()
    password = (var / "demo-scheduler-password").read_text().strip()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "ris.asgi:application", "--port", str(PORT)],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_for_server()
        photograph(password)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(var)


def move_the_morning_along() -> None:
    """Steps of today before 10:30 done, the one under way in progress, the next
    arrived; one in twenty done ones discontinued, as a real day has."""
    from django.utils import timezone

    from ris.scheduling.models import StepStatus
    from ris.scheduling.selectors import scheduled_steps_on_day
    from ris.scheduling.services import scheduled_steps_set_status

    now = timezone.make_aware(datetime.combine(timezone.localdate(), PRETEND_NOW))
    statuses, arrived_on = {}, set()
    for index, step in enumerate(scheduled_steps_on_day(day=timezone.localdate())):
        if step.end <= now:
            done = StepStatus.DISCONTINUED if index % 20 == 7 else StepStatus.COMPLETED
            statuses[step] = done
        elif step.start <= now:
            statuses[step] = StepStatus.STARTED
        elif step.start <= now + timedelta(minutes=45) and step.station_id not in arrived_on:
            statuses[step] = StepStatus.ARRIVED
            arrived_on.add(step.station_id)
    scheduled_steps_set_status(statuses=statuses)


def wait_for_server() -> None:
    for _ in range(100):
        try:
            urlopen(f"http://127.0.0.1:{PORT}/accounts/login/", timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the web UI did not start")


def photograph(password: str) -> None:
    from playwright.sync_api import sync_playwright

    IMAGES.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"),
            args=["--no-sandbox"] if os.geteuid() == 0 else [],
        )
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(f"http://127.0.0.1:{PORT}/")
        page.get_by_label("User name").fill("scheduler")
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.goto(f"http://127.0.0.1:{PORT}/?modality=")
        page.screenshot(path=IMAGES / "day-board.png")
        page.get_by_role("link", name="Book an exam").first.click()
        page.get_by_label("Name or Patient ID").fill("m")
        page.get_by_role("button", name="Find").click()
        page.get_by_role("link", name=re.compile("^Book for ")).first.click()
        page.get_by_label("Procedures").select_option(index=[0, 1])
        page.screenshot(path=IMAGES / "booking.png")
        browser.close()
    print(f"wrote {IMAGES / 'day-board.png'} and {IMAGES / 'booking.png'}")


if __name__ == "__main__":
    main()
