"""Every kopf setting, chosen deliberately in one place; clients created here, closed in cleanup."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import kopf

from parity import constants, metrics
from parity.handlers.children import configure_child_watches
from parity.handlers.config import OperatorConfig
from parity.handlers.diffbase import LeanAnnotationsDiffBaseStorage
from parity.handlers.quiet import QuietPasses
from parity.handlers.triggers import Triggers
from parity.kube.client import Kube
from parity.memtrim import MemoryTrimmer
from parity.policyreports import PolicyReportPublisher


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, logger, **_) -> None:
    config = OperatorConfig.from_env()

    # State kopf keeps on our objects: annotations under our own prefix (never status, which
    # is ours and typed), our own finalizer. Changing these later would orphan stored state.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=constants.ANNOTATION_PREFIX)
    # The same diff base as kopf's, built without deep-copying status first (handlers/diffbase.py).
    settings.persistence.diffbase_storage = LeanAnnotationsDiffBaseStorage(
        prefix=constants.ANNOTATION_PREFIX, key="last-handled-configuration")
    settings.persistence.finalizer = constants.FINALIZER
    # After patching its own annotations kopf waits this long for that version to come back
    # through the watch before it acts on an older event; past it, it acts on the older body,
    # which lacks the last-handled annotation, so the create handler runs a second time (a full
    # sync that LISTs). On a loaded machine the environment's events arrived 15 s late: with
    # kopf's 5 s every environment was created twice (20 runs for 10, 95 for 40), with 30 s once.
    # A newer event still wakes the wait at once, so only a lost patch event waits the full time.
    settings.persistence.consistency_timeout = 30

    # Watches: the server closes the stream before the client gives up, so a quiet watch is
    # renewed cleanly instead of timing out as an error. Requests fail fast and are retried.
    settings.watching.server_timeout = 270
    settings.watching.client_timeout = 300
    settings.watching.connect_timeout = 10
    # Only our children are sent by the API server (handlers/children.py says why).
    configure_child_watches(settings)
    settings.networking.request_timeout = 30
    settings.networking.connect_timeout = 10

    # The probes' and actuators' HTTP client logs every request at INFO: a line per member per
    # pass drowns what the operator itself says.
    logging.getLogger("httpx").setLevel(logging.WARNING)

    # Events: handler successes are noise; warnings and our own drift events are not.
    settings.posting.enabled = True
    settings.posting.level = logging.WARNING

    # Sync handlers run in this thread pool, which is what bounds the work done at once.
    # (kopf 1.45 dropped time-based event batching: bursts are collapsed by handlers/triggers.py.)
    settings.execution.max_workers = config.max_workers
    # kopf runs one queue worker per object with events, and a limit on them is per watched kind:
    # the watch stops reading until a worker ends. With a limit of 50 and workers kept for 60 s of
    # quiet, the 51st environment created at once waited for another environment's worker to
    # idle out, a minute (the convergence cliff between 40 and 55 environments). No limit, and
    # 0.5 s instead of kopf's 5: an idle worker holds its object's last parsed body, and while
    # environments converge that was every child's (-9 MiB RSS at 100 environments). A new
    # event after that starts a new worker, a task: cheap next to the event's parsing.
    settings.queueing.worker_limit = None
    settings.queueing.idle_timeout = 0.5

    # One operator replica (Recreate strategy): no peering objects needed.
    settings.peering.standalone = True

    memo.config = config
    memo.kube = Kube.connect()
    memo.triggers = Triggers()
    # A Ready environment's timer pass is read in full at least this often (handlers/quiet.py):
    # half the heartbeat, so the heartbeat's status write stays on time.
    memo.quiet_passes = QuietPasses(full_pass_seconds=config.status_heartbeat_seconds / 2)
    memo.runtime = {}  # (namespace, name) -> last probe results; cleaned on deletion
    memo.actuation = {}  # (namespace, name) -> last status.actuation record; cleaned on deletion
    memo.policy_reports = PolicyReportPublisher(config.policy_reports, ttl=config.policy_reports_recheck_seconds)  # per-environment state cleaned on deletion
    memo.metrics_server = metrics.serve(config.metrics_port)
    # Syncs asked for by child and baseline events run here, not in kopf's pool (common.request_sync).
    memo.sync_pool = ThreadPoolExecutor(max_workers=config.max_workers, thread_name_prefix="parity-sync")
    memo.memory_trimmer = MemoryTrimmer(config.malloc_trim_seconds)
    memo.memory_trimmer.start()
    logger.info("parity operator configured: %s; API %s", config, memo.kube.host)


@kopf.on.cleanup()
def close_clients(memo: kopf.Memo, **_) -> None:
    # The pool first: syncs not started yet are dropped rather than run against a closed client.
    sync_pool = getattr(memo, "sync_pool", None)
    if sync_pool is not None:
        sync_pool.shutdown(wait=False, cancel_futures=True)
    kube = getattr(memo, "kube", None)
    if kube is not None:
        kube.close()
    trimmer = getattr(memo, "memory_trimmer", None)
    if trimmer is not None:
        trimmer.stop()
    server = getattr(memo, "metrics_server", None)
    if server is not None:
        httpd = server[0] if isinstance(server, tuple) else server
        httpd.shutdown()
