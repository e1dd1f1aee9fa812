"""The deployment lifecycle over the runtime: preflight, pull, start-up wait, diagnosis, status."""
