"""The report stage: every number of the paper beside this run's, with the reason they differ
(:mod:`lsid.report.stage`)."""
