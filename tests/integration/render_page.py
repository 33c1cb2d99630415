#!/usr/bin/env python3
"""Renders a local HTML page in headless Chromium (Selenium, Debian's chromium and chromium-driver)
and checks what a reader would see: no console errors, no resource loaded besides the page itself,
and each named SVG plot rendered with a size, drawn marks, and coloured pixels inside its box on
the screenshot.

Usage: render_page.py PAGE.html SCREENSHOT.png PROFILE_DIR DRIVER_LOG SVG_ID...
Prints one line per plot; exits 1 with a FAIL line per failed check, 2 when the browser does not
start or the page does not load."""
import pathlib
import sys

from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

# This machine has no network: without these, Chromium tries to reach out (updates, sync, field
# trials, QUIC probes) and can stall or log errors.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--disable-dev-shm-usage",
    "--force-device-scale-factor=1", "--hide-scrollbars", "--window-size=1200,900",
]
MARKS = "rect, path, polyline, circle"  # what draws data; line elements are axes and grid
MIN_MARKS = 3
MIN_COLOURED_PIXELS = 200


def start_browser(profile, driver_log):
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for flag in CHROMIUM_FLAGS + [f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path="/usr/bin/chromedriver", log_path=driver_log)
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    return driver


def coloured_pixels(image, box):
    """Pixels inside box (left, top, right, bottom) with a clear hue: data marks, not the white
    background, the grey axes and grid or the grey text."""
    count = 0
    for r, g, b in image.crop(box).convert("RGB").getdata():
        if max(r, g, b) - min(r, g, b) > 60:
            count += 1
    return count


def check_plot(driver, image, scale, plot_id):
    """Returns the failures for one plot and prints what it found."""
    elements = driver.find_elements(By.ID, plot_id)
    if not elements:
        return [f"{plot_id}: no such element on the page"]
    svg = elements[0]
    rect = svg.rect
    failures = []
    if rect["width"] < 1 or rect["height"] < 1:
        failures.append(f"{plot_id}: rendered with no size ({rect['width']}x{rect['height']})")
    marks = [m for m in svg.find_elements(By.CSS_SELECTOR, MARKS)
             if m.size["width"] > 0 and m.size["height"] > 0]
    if len(marks) < MIN_MARKS:
        failures.append(f"{plot_id}: {len(marks)} drawn marks with a size, want >= {MIN_MARKS}")
    box = tuple(round(v * scale) for v in (rect["x"], rect["y"], rect["x"] + rect["width"],
                                           rect["y"] + rect["height"]))
    inside = box[2] <= image.width and box[3] <= image.height
    pixels = coloured_pixels(image, box) if inside else 0
    if not inside:
        failures.append(
            f"{plot_id}: box {box} is outside the {image.width}x{image.height} screenshot")
    elif pixels < MIN_COLOURED_PIXELS:
        failures.append(
            f"{plot_id}: {pixels} coloured pixels in {box}, want >= {MIN_COLOURED_PIXELS}")
    print(f"{plot_id}: {rect['width']:.0f}x{rect['height']:.0f}"
          f" at ({rect['x']:.0f},{rect['y']:.0f}), {len(marks)} marks, {pixels} coloured pixels")
    return failures


def main():
    page, screenshot, profile, driver_log, *plot_ids = sys.argv[1:]
    try:
        driver = start_browser(profile, driver_log)
    except Exception as error:  # noqa: BLE001 - any start failure is reported the same way
        print(f"FAIL: Chromium did not start under chromedriver: {error}", file=sys.stderr)
        return 2
    try:
        driver.get(pathlib.Path(page).resolve().as_uri())
        if driver.title == "":
            print("FAIL: the page has no title (did it load?)", file=sys.stderr)
            return 2
        # The whole page in one screenshot: a viewport as tall as the document.
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": 1200, "height": int(height), "deviceScaleFactor": 1, "mobile": False})
        if not driver.save_screenshot(screenshot):
            print("FAIL: no screenshot", file=sys.stderr)
            return 1
        image = Image.open(screenshot)
        scale = image.width / driver.execute_script("return window.innerWidth")
        failures = []
        for plot_id in plot_ids:
            failures += check_plot(driver, image, scale, plot_id)
        resources = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)")
        if resources:
            failures.append(f"the page loaded other resources: {resources[:5]}")
        for entry in driver.get_log("browser"):
            if entry.get("level") == "SEVERE":
                failures.append(f"console error: {entry.get('message')}")
        print(f"screenshot {image.width}x{image.height}: {screenshot}")
    finally:
        driver.quit()
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
