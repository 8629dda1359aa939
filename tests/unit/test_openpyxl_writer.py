"""openpyxl keeps its standard-library XML writer although lxml is installed (pyhanko needs it): XLSX bytes
the product writes (samples/, exports) stay what they were."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "module",
    [
        "samplekit.samples",
        "samplekit.xlsx_fiche",
        "extranet_intake.provisioning.export",
        "extranet_intake.parsers.xlsx",
    ],
)
def test_every_product_entry_pins_the_writer_before_openpyxl_loads(module: str) -> None:
    code = f"import lxml.etree, {module}, openpyxl, openpyxl.xml.functions as f; print(openpyxl.LXML, f.xmlfile)"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENPYXL_LXML": "True"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, cwd=ROOT, timeout=60
    ).stdout
    assert out.startswith("False "), out
    assert "lxml" not in out.split(" ", 1)[1]
