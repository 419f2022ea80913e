"""gunicorn settings of the edge: threaded workers (gthread), sized and bound from the environment."""
import os

bind = os.environ.get("PUPNS_EDGE_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("PUPNS_EDGE_WORKERS", str(max(2, (os.cpu_count() or 1)))))
threads = int(os.environ.get("PUPNS_EDGE_THREADS", "16"))
# Admission control answers a full edge at once, so no request should ever approach these.
timeout = int(os.environ.get("PUPNS_EDGE_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("PUPNS_EDGE_GRACEFUL_TIMEOUT", "20"))
keepalive = 5
backlog = int(os.environ.get("PUPNS_EDGE_BACKLOG", "2048"))
worker_connections = int(os.environ.get("PUPNS_EDGE_CONNECTIONS", "1000"))
max_requests = 0  # long-lived workers keep their RPC proxies
preload_app = False  # MongoClient and AMQP connections are made after the fork, in each worker
accesslog = os.environ.get("PUPNS_EDGE_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("PUPNS_EDGE_LOG_LEVEL", "info")
limit_request_line = 8190
proc_name = "pupns-edge"


def worker_exit(server, worker):
    """Close this worker's RPC proxies so reply queues go away with it."""
    from edge.app import app

    inner = getattr(app, "_app", None)
    if inner is not None and hasattr(inner.backend, "close"):
        inner.backend.close()
