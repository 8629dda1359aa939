"""The intake layer: sources, store, pipeline, command line."""

import parsers  # noqa: F401 - first: it pins openpyxl's XML writer before any openpyxl import
