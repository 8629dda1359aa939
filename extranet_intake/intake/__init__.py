"""The intake layer: sources, store, pipeline, command line."""

from extranet_intake import parsers  # noqa: F401 - first: it pins openpyxl's XML writer before any openpyxl import
