"""The HTML report as a supervisor reads it: changes coloured by whether they are good news
for each metric, times in Beijing time, breakdowns readable at 1280 px (rendered by real
headless Chromium), and a print stylesheet."""

from __future__ import annotations

import json
import re
import struct
import subprocess
from pathlib import Path

import pytest

from services.reporting import render
from services.reporting.files import Produced
from services.reporting.reports import BETTER, METRICS
from tests.reports import dataset
from tests.reports.conftest import tool

pytestmark = pytest.mark.now(dataset.AS_OF)

# Added to a copy of the page: after layout, the title becomes what a reader would see
# wrong at this width (horizontal overflow, a row label broken over lines).
MEASURE = """<script>
addEventListener("load", () => {
  const squeezed = [];
  for (const td of document.querySelectorAll("td:first-child")) {
    const range = document.createRange();
    range.selectNodeContents(td);
    const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
    if (tops.size > 1) squeezed.push(td.textContent);
  }
  const root = document.documentElement;
  document.title = JSON.stringify({
    viewport: innerWidth,
    overflow: root.scrollWidth - root.clientWidth,
    scrolling: [...document.querySelectorAll("div")].filter(
      d => d.scrollWidth > d.clientWidth + 1).length,
    squeezed,
  });
});
</script>"""


def _row(page: str, label: str) -> str:
    found = re.search(rf"<tr><td>{re.escape(label)}</td>.*?</tr>", page)
    assert found, label
    return found.group(0)


def test_every_metric_says_which_way_is_good_news_and_each_sits_in_one_table_group() -> None:
    keys = [key for key, _, _ in METRICS]
    assert set(BETTER) == set(keys)
    grouped = [key for _, group in render.GROUPS for key in group]
    assert sorted(grouped) == sorted(keys)


def test_a_fall_in_an_acceptance_rate_is_red_and_a_fall_in_volume_is_green() -> None:
    assert "worse" in render._change_html(-0.029, "accepted_24h")
    assert "worse" in render._change_html(-0.063, "decided_15")
    assert "better" in render._change_html(-0.1, "volume")
    assert "worse" in render._change_html(0.1, "deviation_rate")
    assert "better" in render._change_html(0.05, "satisfaction")
    assert "class='better'" not in render._change_html(0.2, "consultations")


def test_the_report_colours_october_by_what_each_change_means(
    produced: tuple[Produced, dict[str, str]],
) -> None:
    page = produced[0].html.read_text(encoding="utf-8")
    # October against September: acceptance within 24 h fell (2/3 from 1/1): bad news;
    # volume rose (4 from 1): bad news too.
    assert "worse" in _row(page, "24 小时受理率") and "better" not in _row(page, "24 小时受理率")
    assert "worse" in _row(page, "投诉量")


def test_the_report_gives_its_times_in_beijing_time(
    produced: tuple[Produced, dict[str, str]],
) -> None:
    page = produced[0].html.read_text(encoding="utf-8")
    assert "数据截至 2026-11-23 12:00 (北京时间)" in page  # dataset.AS_OF is 04:00 UTC
    assert re.search(r"生成时间 2026-11-23 12:\d\d \(北京时间\)", page)
    assert "UTC" not in page


def test_the_report_has_a_print_stylesheet(produced: tuple[Produced, dict[str, str]]) -> None:
    page = produced[0].html.read_text(encoding="utf-8")
    assert "@media print" in page and "@page" in page


def _chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    browser = tool("chromium", "chromium-browser", "google-chrome")
    return subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",  # the test may run as root, where the sandbox refuses to start
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            "--window-size=1280,900",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_at_1280_px_nothing_overflows_and_every_row_label_stays_on_one_line(
    produced: tuple[Produced, dict[str, str]], tmp_path: Path
) -> None:
    html = produced[0].html
    measured = tmp_path / "measured.html"
    measured.write_text(
        html.read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>"),
        encoding="utf-8",
    )
    done = _chromium(["--dump-dom", measured.as_uri()], tmp_path / "profile")
    found = re.search(r"<title>(\{.*?\})</title>", done.stdout)
    assert found, done.stderr[-2000:]
    seen = json.loads(found.group(1).replace("&quot;", '"'))
    assert seen == {"viewport": 1280, "overflow": 0, "scrolling": 0, "squeezed": []}
    shot = tmp_path / "report.png"
    _chromium([f"--screenshot={shot}", html.as_uri()], tmp_path / "profile")
    width, height = struct.unpack(">II", shot.read_bytes()[16:24])  # the PNG's IHDR
    assert (width, height) == (1280, 900)


def test_printed_from_chromium_the_report_is_a4_landscape_with_every_section(
    produced: tuple[Produced, dict[str, str]], tmp_path: Path
) -> None:
    pdf = tmp_path / "report.pdf"
    _chromium(
        ["--no-pdf-header-footer", f"--print-to-pdf={pdf}", produced[0].html.as_uri()],
        tmp_path / "profile",
    )
    info = subprocess.run(
        [tool("pdfinfo"), str(pdf)], capture_output=True, text=True, check=True
    ).stdout
    assert re.search(r"Page size:\s+84\d\.\d+ x 59\d\.\d+ pts \(A4\)", info), info
    text = subprocess.run(
        [tool("pdftotext"), str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for heading in ("投诉统计报告 2026年10月", "一、汇总", "九、按处理人", "升级、调解与回访"):
        assert heading in text, heading
