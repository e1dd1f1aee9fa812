"""Load testing TGI with Locust: exact LLM figures, open-loop arrivals, SLO gates and reports.

The pure parts (figures, SSE readers, prompts, arrivals, shapes, SLOs, server metrics, reports) import neither
Locust nor gevent; `users`, `plugin` and `locustfile` do (importing Locust monkey-patches with gevent), and only
Locust processes import them. `runner` drives Locust in a subprocess for the CLI.
"""
