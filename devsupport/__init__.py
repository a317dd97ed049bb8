"""What the tests, the benchmarks and the local tools share (never shipped): one copy of each.

- ``devsupport.ports``: ``free_port()``, ``wait_for_port()``
- ``devsupport.processes``: ``stop()`` (politely, then firmly), ``TERMINATE_THEN_KILL``, ``SAM_STOP``
- ``devsupport.sam``: SAM CLI discovery (``find_sam``, ``sam_cli``), ``sam_env()``, the offline stand-in
  images (``OFFLINE``, ``STANDIN_IMAGE``, ``REDIS_IMAGE``, ``offline_args()``)
- ``devsupport.docker``: ``docker()``, ``docker_problem()``, Redis on a docker network for ``sam local``
  (``start_redis``, ``redis_network``, ``remove_network``); ``python -m devsupport.docker`` for scripts
- ``devsupport.events``: API Gateway events, from ``events/`` (``load_event``) or built
  (``rest_event`` for REST v1 proxy, ``http_api_event`` for HTTP API v2)
- ``devsupport.redis_server``: ``RedisServer``, a real redis-server on a free loopback port
- ``devsupport.floor_app``: ``floor_handler()``, bare Mangum + FastAPI, the benchmarks' floor
- ``devsupport.logs``: ``point_service_logs_at()``, where the service's log lines go
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
