"""The HTML drift report in a real headless Chromium (Debian's `chromium`, installed by
tools/setup-deps.sh): the page renders, its screenshot is not blank, its filter script runs under
the page's Content-Security-Policy, and the counts on the page equal the findings.

Not skipped when Chromium is missing: a missing browser fails, so this check cannot pass unseen.
"""

import re
import shutil
import subprocess

import pytest
from PIL import Image

from parity.drift.engine import DriftReport, Finding
from parity.drift.report import render_html

FINDINGS = [
    Finding(path="postgres.version", component="postgres", level="declared", change="modified", local="15",
            baseline="16", severity="critical", remediation='set spec.postgres.version to "16"'),
    Finding(path="postgres.parameters.work_mem", component="postgres", level="runtime", change="modified",
            local="<script>document.title='pwned'</script>", baseline="4MB", severity="warning",
            remediation="ALTER SYSTEM RESET work_mem"),
    Finding(path="etcd.replicas", component="etcd", level="declared", change="modified", local=1, baseline=3,
            severity="warning", remediation="set spec.etcd.replicas to 3"),
    Finding(path="redis.config.maxmemory-policy", component="redis", level="runtime", change="modified",
            local="allkeys-lru", baseline="noeviction", severity="critical", remediation="CONFIG SET"),
    Finding(path="observability.enabled", component="observability", level="declared", change="modified",
            local=False, baseline=True, severity="info", remediation="turn it on"),
]
REPORT = DriftReport.from_findings("production", FINDINGS)
TIMEOUT = 120


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("chromium is not installed (apt-get install chromium; tools/setup-deps.sh installs it)")
    return path


def run_chromium(tmp_path, *args: str) -> subprocess.CompletedProcess:
    # --no-sandbox: the tests run as root, where Chromium's sandbox refuses to start.
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               f"--user-data-dir={tmp_path / 'profile'}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)


@pytest.fixture
def page(tmp_path):
    path = tmp_path / "report.html"
    path.write_text(render_html(REPORT, source="dev.yaml"))
    return path


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshot_is_not_blank(tmp_path, page, scheme):
    shot = tmp_path / f"{scheme}.png"
    extra = ["--force-dark-mode"] if scheme == "dark" else []
    result = run_chromium(tmp_path, *extra, "--window-size=1000,900", f"--screenshot={shot}", page.as_uri())
    assert shot.exists(), result.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    assert image.size == (1000, 900)
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50  # text, badges, borders: far from one colour
    background = image.getpixel((2, 2))
    brightness = sum(background) / 3
    # prefers-color-scheme decides the background: light page in light mode, dark in dark mode.
    assert (brightness > 200) if scheme == "light" else (brightness < 60), background


def test_rendered_counts_equal_the_findings(tmp_path, page):
    result = run_chromium(tmp_path, "--dump-dom", page.as_uri())
    dom = result.stdout
    assert "<article" in dom, result.stderr[-2000:]
    # The inline filter script ran (the CSP hash lets it, and only it, run).
    assert 'data-filter="ready"' in dom
    assert dom.count("<script") == 1
    articles = re.findall(r'<article class="finding" data-severity="(\w+)"', dom)
    assert len(articles) == len(FINDINGS)
    counts = {k: int(v) for k, v in re.findall(r'data-severity="(\w+)"><b class="n">(\d+)</b>', dom)}
    assert counts == {s: articles.count(s) for s in ("critical", "warning", "info")} == \
        {"critical": 2, "warning": 2, "info": 1}
    assert re.search(r'<span id="total">(\d+)</span>', dom).group(1) == str(len(FINDINGS))
    # Written by the script after it applied the (empty) filter: every finding is shown.
    assert re.search(r'<span id="shown">(\d+)</span>', dom).group(1) == str(len(FINDINGS))
    assert "<title>Parity drift: dev.yaml against baseline production</title>" in dom


def test_filter_box_hides_what_does_not_match(tmp_path, page):
    result = run_chromium(tmp_path, "--dump-dom", page.as_uri() + "#filter=critical%20redis")
    dom = result.stdout
    assert 'data-filter="ready"' in dom, result.stderr[-2000:]
    visible = re.findall(r'<article class="finding" data-severity="(\w+)" data-component="(\w+)">', dom)
    hidden = re.findall(r'<article class="finding" data-severity="\w+" data-component="(\w+)" hidden="">', dom)
    assert visible == [("critical", "redis")]
    assert len(hidden) == len(FINDINGS) - 1
    assert re.search(r'<span id="shown">(\d+)</span>', dom).group(1) == "1"
    assert re.search(r'<section class="component" data-component="etcd" hidden="">', dom)
