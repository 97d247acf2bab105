"""Service layer: APScheduler service, daily digests and mail (see issue 7)."""
