"""The audit: where the money went (report, dashboard) and where tasks should start."""
