"""The provisioning layer: dossier rules, plans, their application, review."""

from extranet_intake import parsers  # noqa: F401 - first: it pins openpyxl's XML writer before any openpyxl import
