"""The report looked at as a person does: rendered in headless Chromium, and every figure's legends.

Two real sweeps (the demo, and the 24-variant ablation) are run through Hydra
and written to real stores; the report is composed from each. Every figure the
report registers is checked after drawing: no legend box overlaps an axes'
data area or title (matplotlib's extents). The page is opened in Debian's
``chromium`` at 1400 px: every image loads and nothing is wider than the window.
Without chromium the browser checks skip with one line, except where ``CI`` is
set (CI installs it, and a skip there would hide a broken page).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

import results
from analysis.report import write_report

BIN = Path(sys.executable).parent
WIDTH = 1400
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
#: Measured in the page after every image has loaded, before the probe adds anything.
PROBE = """<script>
window.addEventListener('load', () => {
  const out = {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    images: [...document.images].map(
      i => ({src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0})),
    wide: [...document.body.querySelectorAll('*')]
      .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
      .map(e => e.tagName + (e.className ? '.' + e.className : '')).slice(0, 10),
  };
  const probe = document.createElement('div');
  probe.id = 'probe';
  probe.style.display = 'none';
  probe.textContent = JSON.stringify(out);
  document.body.appendChild(probe);
});
</script>"""


def chromium() -> str:
    """Return the chromium binary, or skip (fail where CI is set)."""
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but chromium is missing: .ci/run must install Debian's chromium")
        pytest.skip("chromium is not installed (Debian package chromium): the page is not rendered")
    return found


def sweep(root: Path, *overrides: str) -> Path:
    done = subprocess.run(
        [
            str(BIN / "takeoff"),
            "-m",
            *overrides,
            f"hydra.sweep.dir={root}/sweep",
            "hydra.launcher.cluster=sync",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=root,
    )
    assert done.returncode == 0, f"sweep {overrides} failed:\n{done.stderr[-3000:]}"
    return root / "sweep" / "results.zarr"


def legend_overlaps(name: str, fig: Any) -> list[str]:
    """Return every overlap of a legend box with an axes' data area or a title (display pixels)."""
    renderer = fig.canvas.get_renderer()
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    found = []
    for legend in legends:
        box = legend.get_window_extent(renderer)
        others = []
        for i, ax in enumerate(fig.axes):
            if not ax.get_visible():
                continue
            others.append((f"axes {i} data area", ax.get_window_extent(renderer)))
            for title in (ax.title, ax._left_title, ax._right_title):
                if title.get_text():
                    others.append((f"axes {i} title", title.get_window_extent(renderer)))
        if fig._suptitle is not None:
            others.append(("figure title", fig._suptitle.get_window_extent(renderer)))
        for what, other in others:
            w = min(box.x1, other.x1) - max(box.x0, other.x0)
            h = min(box.y1, other.y1) - max(box.y0, other.y0)
            if w > 0.5 and h > 0.5:
                found.append(f"{name}: legend overlaps {what} by {w:.0f}x{h:.0f} px")
    return found


def report(store: Path, out: Path) -> tuple[dict[str, Any], list[str], list[str]]:
    """Write the report in-process; return what it wrote, the figures it registered, the overlaps."""
    names: list[str] = []
    overlaps: list[str] = []

    def inspect(name: str, fig: Any) -> None:
        names.append(name)
        overlaps.extend(legend_overlaps(name, fig))

    written = write_report(results.open_sweep(store), out, inspect=inspect)
    return written, names, overlaps


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], list[str]]:
    root = tmp_path_factory.mktemp("demo-page")
    store = sweep(root, "+experiment=demo", "seeds=3")
    _, names, overlaps = report(store, root / "report")
    return root / "report", names, overlaps


@pytest.fixture(scope="module")
def ablation(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], list[str]]:
    root = tmp_path_factory.mktemp("ablation-page")
    store = sweep(root, "+experiment=ablation", "seeds=2")
    written, names, overlaps = report(store, root / "report")
    assert not written["left_out"], "24 variants must all be drawn"
    return root / "report", names, overlaps


def render(page: Path) -> dict[str, Any]:
    """Open ``page`` in headless chromium at WIDTH px; return what the probe measured."""
    binary = chromium()
    probe = page.with_name("probe.html")
    probe.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [
                binary,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={WIDTH},1000",
                "--virtual-time-budget=20000",
                "--dump-dom",
                probe.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=180,
        )
    probe.unlink()
    found = re.search(r"<div id=\"probe\"[^>]*>(.*?)</div>", done.stdout, re.S)
    assert found, f"chromium did not run the page's probe (exit {done.returncode}):\n{done.stderr[-2000:]}"
    return dict(json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&")))


@pytest.mark.slow
@pytest.mark.parametrize("which", ["demo", "ablation"])
def test_no_legend_covers_data_or_titles(which: str, request: pytest.FixtureRequest) -> None:
    out, names, overlaps = request.getfixturevalue(which)
    assert {"story.png", "trajectories.png", "guard_survival.png", "phase.png"} <= set(names), names
    assert not overlaps, "\n".join(overlaps)


@pytest.mark.slow
@pytest.mark.parametrize("which", ["demo", "ablation"])
def test_page_at_1400_px(which: str, request: pytest.FixtureRequest) -> None:
    out, names, _ = request.getfixturevalue(which)
    measured = render(out / "report.html")
    assert measured["innerWidth"] == WIDTH, measured
    assert measured["images"] and all(i["ok"] for i in measured["images"]), measured["images"]
    assert {i["src"] for i in measured["images"]} == set(names)
    assert measured["scrollWidth"] <= measured["innerWidth"], (
        f"page is {measured['scrollWidth']} px wide in a {measured['innerWidth']} px window; "
        f"wider elements: {measured['wide']}"
    )
