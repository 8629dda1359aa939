"""The desk: the web application for reviewers, auditors and admins (a second face of the CLI's operations)."""
