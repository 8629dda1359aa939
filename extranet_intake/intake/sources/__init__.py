"""Mail and file sources (IMAP, Maildir, drop folder) that hand originals to the document store."""

from extranet_intake.intake.sources.ingest import Clock, Incoming, PollReport, PollStep, ingest_batch

__all__ = ["Clock", "Incoming", "PollReport", "PollStep", "ingest_batch"]
