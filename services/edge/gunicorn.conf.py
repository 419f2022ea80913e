"""gunicorn settings of the edge (`edge.http.server:app`): uvicorn workers whose WSGI edge runs on a pool of
threads, sized and bound from the environment."""
import os
import shutil
import tempfile

from pupns.cores import usable_cores

bind = os.environ.get("PUPNS_EDGE_BIND", "127.0.0.1:8000")
# uvicorn (httptools, uvloop) answers a full edge's turn-aways on its event loop (edge.http.server); gthread
# spent ~4x the CPU per turn-away parsing HTTP in Python (edge.http.worker says how that was measured).
worker_class = "edge.http.worker.EdgeWorker"
workers = int(os.environ.get("PUPNS_EDGE_WORKERS", str(max(2, usable_cores()))))
# Threads per worker that run the WSGI edge (a2wsgi's pool). Admission control keeps at most
# PUPNS_EDGE_CAPACITY_MAX requests per worker at the back end (default: threads minus a quarter, see
# edge.settings), so some threads stay free for the turn-aways the event loop cannot decide alone.
# 2 workers x 8 threads by default, chosen by measurement under gthread on the edge's own core at 10x load (the
# bench machine has 2 vCPUs whose speed drifts): while it was slow, 2x8 beat 2x16 in every interleaved pair
# (goodput 93-103/s against 75-87/s, turn-away p99 12-34 ms against 16-254 ms): more threads contend for the GIL
# with the admitted requests' own edge work, that wait counts as back-end latency, so the gradient shrinks the
# limit and the back end idles. When it was fast, 1x12, 2x8 and 2x16 were within noise (bench/results/edge_load.md).
threads = int(os.environ.get("PUPNS_EDGE_THREADS", "8"))
os.environ.setdefault("PUPNS_EDGE_THREADS", str(threads))  # edge.settings derives the ceiling from it
# Every back-end call of the edge has a deadline: a slow or dead service costs 5 s at most, then 503.
os.environ.setdefault("PUPNS_RPC_TIMEOUT", "5")
# Admission control answers a full edge at once, so no request should ever approach these.
timeout = int(os.environ.get("PUPNS_EDGE_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("PUPNS_EDGE_GRACEFUL_TIMEOUT", "20"))
keepalive = 5
# The kernel's accept queue is only a buffer for connection bursts: the worker accepts eagerly and admission
# control answers from inside it. Too small a backlog drops SYNs (a client-side 1 s+ stall).
backlog = int(os.environ.get("PUPNS_EDGE_BACKLOG", "512"))
max_requests = 0  # long-lived workers keep their RPC proxies
preload_app = False  # MongoClient and AMQP connections are made after the fork, in each worker
accesslog = os.environ.get("PUPNS_EDGE_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("PUPNS_EDGE_LOG_LEVEL", "info")
limit_request_line = 8190
proc_name = "pupns-edge"


_own_metrics_dir: list[str] = []  # the directory on_starting made for this run, removed on exit


def on_starting(server):
    """Give the run its prometheus_client multiprocess directory, emptied of any earlier run's values.

    Every worker writes its metrics there and /metrics, whichever worker answers, sums them. The variable must
    be set before a worker imports prometheus_client: the master runs this before it forks any worker, and the
    workers inherit the environment. pupns_dev and the deploy manifests set it; a run without it (a test
    starting gunicorn itself) gets a fresh directory of its own.
    """
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        path = tempfile.mkdtemp(prefix="pupns-edge-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
        _own_metrics_dir.append(path)
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))


def child_exit(server, worker):
    """Drop a dead worker's live gauges (in-flight) from the sum; its counters stay counted."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """Remove the metrics directory this run made for itself."""
    for path in _own_metrics_dir:
        shutil.rmtree(path, ignore_errors=True)


def worker_exit(server, worker):
    """Close this worker's RPC proxies so reply queues go away with it."""
    from edge.http.app import app

    inner = getattr(app, "_app", None)
    if inner is not None and hasattr(inner.backend, "close"):
        inner.backend.close()


def post_worker_init(worker):
    """Freeze what the worker imported, so the collector never walks it again.

    A full collection over the edge's ~64,000 objects after import holds the GIL for ~40 ms on the 2-vCPU
    bench machine, stalling every thread that is turning a request away; after gc.freeze() it costs
    ~0 ms. Objects made later (connections, caches) are still collected as usual.
    """
    import gc

    gc.collect()
    gc.freeze()
