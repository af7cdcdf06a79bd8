"""The command-line fixtures for `tousu import` and `tousu report`, the report produced from
the known dataset, and the real tools the printed-output checks convert with (LibreOffice,
pdftotext, Chromium), found at run time."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from services.context import Context
from services.reporting.files import Produced, produce
from services.reporting.periods import parse_month
from tests.cli.conftest import cli_env, tousu  # noqa: F401 - fixtures
from tests.reports import dataset

INSTALL = "run scripts/system-packages as root (make test does) to install it"


@pytest.fixture
def produced(ctx: Context, tmp_path: Path) -> tuple[Produced, dict[str, str]]:
    """October 2026's report on the dataset (the test must run at `dataset.AS_OF`)."""
    numbers = dataset.build(ctx)
    dataset.write_exposure(tmp_path / "config" / "exposure")
    return produce(ctx, parse_month("2026-10"), actor="supervisor", as_of=dataset.AS_OF), numbers


def tool(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip(f"{names[0]} is not installed: {INSTALL}")


@pytest.fixture(scope="session")
def office_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LibreOffice user profile of this session's own: instances sharing one profile
    refuse to start side by side."""
    return tmp_path_factory.mktemp("lo-profile")


@pytest.fixture
def to_pdf(office_profile: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Convert a workbook with real LibreOffice headless; returns the PDF's pages as text
    (pdftotext, one string per page)."""
    office = tool("soffice", "libreoffice")
    pdftotext = tool("pdftotext")

    def convert(workbook: Path) -> list[str]:
        out = tmp_path / "pdf"
        result = subprocess.run(
            [
                office,
                f"-env:UserInstallation={office_profile.as_uri()}",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                str(out),
                str(workbook),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        pdf = out / workbook.with_suffix(".pdf").name
        assert result.returncode == 0 and pdf.exists(), result.stderr
        text = subprocess.run(
            [pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        return text.split("\f")[:-1]  # pdftotext ends every page with a form feed

    return convert
