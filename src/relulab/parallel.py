"""Run independent jobs in parallel: a local process pool by default, Ray when a cluster is named.

``map_unordered(fn, items)`` yields ``(index, result)`` as each job finishes.  Locally every worker process
runs with one BLAS thread, so N workers use N cores and never oversubscribe them, and a job computes the same
numbers whichever worker runs it.  The sweep, ``relulab cv`` and the minimum-ratio study all run through here;
it depends on nothing else in relulab, so any layer may use it.
"""
import os

RAY_HINT = 'Ray is an optional extra: pip install -e ".[ray]"  (or pip install "ray[tune]")'


def default_workers():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def check_workers(workers):
    if workers is None:
        return default_workers()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"--workers must be a positive integer, got {workers!r}")
    return workers


def _limit_blas():
    from threadpoolctl import threadpool_limits
    global _LIMITS
    _LIMITS = threadpool_limits(limits=1, user_api="blas")  # kept alive for the worker's lifetime


def _call(job):
    fn, index, item = job
    return index, fn(item)


def map_unordered(fn, items, workers=None, ray=None):
    """Yield (index, fn(item)) for every item, in the order they finish.  ``fn`` must be a module-level
    function (it is sent to other processes).  ``ray``: None (local), "auto" or a cluster address."""
    items = list(items)
    if ray:
        yield from _ray_map(fn, items, ray, workers)
        return
    workers = min(check_workers(workers), max(len(items), 1))
    if workers == 1:
        from threadpoolctl import threadpool_limits
        with threadpool_limits(limits=1, user_api="blas"):
            for index, item in enumerate(items):
                yield index, fn(item)
        return
    import multiprocessing
    # spawn, not fork: a forked child inherits locks held by other threads (BLAS, tqdm) and can hang.
    pool = multiprocessing.get_context("spawn").Pool(workers, initializer=_limit_blas)
    try:
        for index, result in pool.imap_unordered(_call, [(fn, i, item) for i, item in enumerate(items)]):
            yield index, result
        pool.close()
    except BaseException:
        pool.terminate()  # Ctrl-C or a failed job: stop the workers now; finished results are already out
        raise
    finally:
        pool.join()


def connect_ray(address):
    """ray.init on an existing cluster ("auto" or host:port); a clear error without the extra."""
    loopback = address.split(":")[0] in ("127.0.0.1", "localhost")
    if loopback:
        # Ray rewrites 127.0.0.1 to the machine's network address unless this is off, and a cluster bound to
        # loopback never answers there.  It is read when ray is first imported.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise ValueError(f"--ray needs Ray. {RAY_HINT}") from None
    if not ray.is_initialized():
        options = {}
        if loopback:
            # A loopback cluster: keep this driver on loopback too (Ray would otherwise pick the machine's
            # network address for it, which a cluster bound to 127.0.0.1 never answers).
            options["_node_ip_address"] = "127.0.0.1"
        ray.init(address=address, log_to_driver=False, include_dashboard=False, **options)
    return ray


def _ray_map(fn, items, address, workers):
    ray = connect_ray(address)
    remote = ray.remote(num_cpus=1)(_ray_job)
    pending = {remote.remote(fn, item): i for i, item in enumerate(items)}
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        for ref in done:
            yield pending.pop(ref), ray.get(ref)


def _ray_job(fn, item):
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=1, user_api="blas"):
        return fn(item)
