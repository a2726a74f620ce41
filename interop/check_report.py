"""The demo's HTML report as a person sees it: rendered by headless Chromium (Debian's package,
installed here when missing), which must load it without console errors or blocked requests,
into a PNG that is not blank. Usage: check_report.py AUTOPRUNE WORKDIR [PNG_COPY]"""
import os
import shutil
import subprocess
import sys

from PIL import Image, ImageStat

from common import finish, run

WINDOW = (1280, 1800)
# Every part of the report a reader looks for.
PARTS = ('id="overview"', 'id="trade-off"', "Pareto front", "Accuracy by epoch", "Kept weights and FLOPs by epoch",
         "Weights kept per layer", "Surviving units per layer", "Input pixels fc1 still reads", "autoprune prune")


def chromium():
    """Path of Chromium, installing Debian's `chromium` (scripts/apt-install.sh) when it is
    missing; None with the reason printed when it cannot be had on this machine."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    installer = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "apt-install.sh")
    result = subprocess.run([installer, "chromium"], capture_output=True, text=True)
    if result.returncode != 0:
        print(f"chromium could not be installed: {result.stderr.strip()[-600:]}")
        return None
    return shutil.which("chromium")


def headless(browser, *args):
    """Runs Chromium headless (no sandbox: CI runs as root) with its log on stderr."""
    return subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
         "--enable-logging=stderr", "--v=0", f"--window-size={WINDOW[0]},{WINDOW[1]}", *args],
        capture_output=True, text=True, timeout=120)


def main():
    binary, work = sys.argv[1], sys.argv[2]
    copy = sys.argv[3] if len(sys.argv) > 3 else None
    failures = []
    out = os.path.join(work, "demo")
    # Short phases: this checks the page, not the pruning (the default demo takes minutes).
    run(binary, "demo", "--out-dir", out, "--quiet", "--prune-epochs", "40", "--finetune-epochs", "10")
    page = os.path.join(out, "report.html")
    url = "file://" + os.path.abspath(page)
    browser = chromium()
    if browser is None:
        # The page is still checked as written; only its rendering needs the browser. A machine
        # without one (no root, no package archive) must not fail the other checks, but it can
        # be made to: AUTOPRUNE_REQUIRE_CHROMIUM=1.
        with open(page, encoding="utf-8") as handle:
            text = handle.read()
        failures += [f"report lacks {part!r}" for part in PARTS if part not in text]
        if os.environ.get("AUTOPRUNE_REQUIRE_CHROMIUM") == "1":
            failures.append("chromium is required (AUTOPRUNE_REQUIRE_CHROMIUM=1) but missing")
        else:
            print("report in Chromium: SKIPPED rendering (no chromium on this machine); page content checked")
        finish(failures, "report content")
        return

    # Loaded: the DOM Chromium built holds every part of the report.
    dom = headless(browser, "--dump-dom", url)
    for part in PARTS:
        if part not in dom.stdout:
            failures.append(f"rendered page lacks {part!r}")

    png = os.path.join(work, "report.png")
    shot = headless(browser, f"--screenshot={png}", url)
    # Console messages and refused or failed loads appear in Chromium's log.
    for line in (dom.stderr + shot.stderr).splitlines():
        lowered = line.lower()
        if "console" in lowered or "uncaught" in lowered or "refused to" in lowered or "net::err" in lowered:
            failures.append(f"browser reported: {line.strip()}")
    if shot.returncode != 0 or not os.path.exists(png):
        failures.append(f"no screenshot (chromium exit {shot.returncode}): {shot.stderr[-400:]}")
    else:
        image = Image.open(png).convert("L")
        if image.size != WINDOW:
            failures.append(f"screenshot is {image.size}, expected {WINDOW}")
        variance = ImageStat.Stat(image).var[0]
        # A blank page has variance 0; text and charts on white give hundreds.
        if variance < 100:
            failures.append(f"screenshot looks blank (grey-level variance {variance:.1f})")
        dark = image.point(lambda v: 255 if v < 128 else 0).getbbox()
        if dark is None or dark[3] - dark[1] < WINDOW[1] // 2:
            failures.append(f"dark pixels (text, charts) cover too little of the page: {dark}")
        if copy:
            shutil.copyfile(png, copy)
        print(f"report screenshot: {png} ({image.size[0]}×{image.size[1]}, grey-level variance {variance:.0f})")
    finish(failures, "report in Chromium")


main()
