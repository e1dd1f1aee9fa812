"""What runs inside the Locust processes: the plug-in (options, listeners, reports), the per-process runtime and
the run's stop control. These import Locust and gevent (importing Locust monkey-patches the interpreter), so only
Locust processes import them: the locustfiles (`orchestrator/load/locustfile.py`, `loadtest/`) do, through
`plugin`."""
