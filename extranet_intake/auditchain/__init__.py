"""The hash-chained audit log, on its own: entry hashing, append, verify, signed checkpoints (docs/audit.md).

It depends on nothing of the product but the error root (``errors``); intake, provisioning, the
desk and the mailer write and read the log through it.
"""
