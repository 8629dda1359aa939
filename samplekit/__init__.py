"""Sample and form-authoring tooling: not part of the installed product.

It builds the committed sample set (``samples/``), the scanned-form and stack samples
(``samples/scans``, ``samples/stacks``) and runs the embedded demo over them. Run it from a checkout:
``python -m samplekit generate|scans|stacks`` and ``python -m samplekit.demo`` (``scripts/demo``).
"""

from extranet_intake import parsers  # noqa: F401 - first: it pins openpyxl's XML writer before any openpyxl import (samples/ is byte-compared)
