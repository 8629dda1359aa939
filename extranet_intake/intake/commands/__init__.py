"""Command groups of the ``extranet-intake`` command line, one module per area."""
