"""The parsing layer: forms, classify, extract (AcroForm, text layer, XLSX, OCR), validate → ``ParsedForm``.

``parse_document`` is pure and in process; untrusted bytes go through
``parsers.sandbox.SandboxedParser``, which runs the same function in a worker under memory and time
limits. The PDF libraries are imported on first use so that ``parsers.forms``/``parsers.result``
stay cheap to import for the packages that only need the definitions.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

# openpyxl picks its XML writer once, at import, from this variable: with lxml installed (pyhanko needs
# it) it would write XLSX files differently (samples/ is byte-compared) and read them with another
# parser. Every package of the product imports this one before openpyxl, so this pins the standard
# library writer and reader that the product was built and tested with.
os.environ["OPENPYXL_LXML"] = "False"

if TYPE_CHECKING:  # not at import: `intake` and `provisioning` import this package first, for the line above
    from extranet_intake.parsers.result import OcrSettings, ParsedForm

__all__ = ["parse_document"]


def parse_document(
    data: bytes,
    *,
    today: date,
    filename: str | None = None,
    ocr: OcrSettings | None = None,
    trusted_roots: Sequence[bytes] = (),
) -> ParsedForm:
    """Read one document as one of the three forms; every failure is a coded rejection, never an exception."""
    from extranet_intake.parsers.document import parse_document as parse
    from extranet_intake.parsers.result import OcrSettings

    return parse(data, today=today, filename=filename, ocr=ocr or OcrSettings(), trusted_roots=trusted_roots)
