"""Load testing TGI with Locust: exact LLM figures, open-loop arrivals, SLO gates and reports.

The options are declared once (`declaration`: Locust's parser and `orchestrator load`'s are built from it) and
checked into `options.LoadOptions`. The pure parts (figures, SSE readers, prompts, arrivals, shapes, SLOs, server
metrics, reports) import neither Locust nor gevent. What runs inside the Locust processes lives in `in_locust/`
(plug-in, runtime, stop control); `users`, `client_user` and `locustfile` import Locust too (importing it
monkey-patches with gevent), and only Locust processes import them. `runner` drives Locust in a subprocess for
the CLI (`request`: what a run is asked and gives; `locust_command`: the child's command line).
"""
