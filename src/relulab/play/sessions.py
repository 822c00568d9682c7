"""The server's sessions: one worker process each, at most ``limits.max_sessions``, closed when the page closes
or goes quiet for ``limits.idle_timeout`` seconds (closing a session ends its process, which frees its memory).

Workers are forked from a ``forkserver`` that has imported the engine once, so a new session starts in tens of
milliseconds and shares the imported code's memory; each is a separate process, so a session's memory limit,
priority and crashes stay its own.  A session's id is a random token: knowing it is what lets a page drive it.
"""
import multiprocessing
import os
import secrets
import threading
import time

from .settings import Limits

CALL_SECONDS = 15.0   # how long the server waits for a worker's answer
CLOSE_SECONDS = 3.0


class SessionError(Exception):
    """A request the sessions cannot serve; ``status`` is the HTTP status that says why."""

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


def _context():
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["relulab.play.worker"])
        return ctx
    return multiprocessing.get_context("spawn")


def _nothing():
    pass


class Session:
    def __init__(self, sid, process, conn):
        self.id, self.process, self.conn = sid, process, conn
        self.lock = threading.Lock()
        self.last_seen = time.monotonic()
        self.created = time.time()
        self._request = 0
        self.closed = False

    def call(self, name, *args, timeout=CALL_SECONDS):
        """Send one command and wait for its answer (answers to earlier, timed-out requests are skipped)."""
        self.last_seen = time.monotonic()
        with self.lock:
            if self.closed:
                raise SessionError("this session is closed", 410)
            self._request += 1
            request = self._request
            try:
                self.conn.send((request, name, args))
                deadline = time.monotonic() + timeout
                while True:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or not self.conn.poll(remaining):
                        raise SessionError(f"the session's worker did not answer {name!r} within {timeout:g} s", 504)
                    answer, payload = self.conn.recv()
                    if answer == request:
                        return payload
            except (EOFError, OSError, BrokenPipeError):
                self.closed = True
                raise SessionError(f"the session's worker has stopped (exit code {self.process.exitcode}); "
                                   "reload the page to start a new one", 410) from None

    def close(self):
        """Ask the worker to exit, then make sure it has: terminate, and kill if it still lingers."""
        if not self.closed:
            try:
                self.call("close", timeout=CLOSE_SECONDS)
            except SessionError:
                pass
        self.closed = True
        self.process.join(CLOSE_SECONDS)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(CLOSE_SECONDS)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(CLOSE_SECONDS)
        self.conn.close()


class Sessions:
    def __init__(self, limits=Limits()):
        self.limits = limits
        self._sessions = {}
        self._starting = 0
        self._lock = threading.Lock()
        self._context = _context()

    def warm_up(self):
        """Start the fork server (it imports the engine once) before the first page asks for a session."""
        process = self._context.Process(target=_nothing, daemon=True)
        process.start()
        process.join()

    def __len__(self):
        with self._lock:
            return len(self._sessions)

    def create(self, settings):
        """A new session for already-validated settings; 503 when the server is full."""
        with self._lock:
            if len(self._sessions) + self._starting >= self.limits.max_sessions:
                raise SessionError(f"the playground is full: {self.limits.max_sessions} sessions are open; close "
                                   "one or try again later", 503)
            self._starting += 1
        try:
            from .worker import main
            parent, child = self._context.Pipe()
            process = self._context.Process(target=main, args=(child, settings, self.limits.as_dict()),
                                            name="relulab-play-worker", daemon=True)
            process.start()
            child.close()
            session = Session(secrets.token_urlsafe(18), process, parent)
        finally:
            with self._lock:
                self._starting -= 1
        with self._lock:
            self._sessions[session.id] = session
        return session

    def get(self, sid):
        with self._lock:
            session = self._sessions.get(sid)
        if session is None:
            raise SessionError("no such session (it was closed, or idle too long); reload the page", 404)
        session.last_seen = time.monotonic()
        return session

    def close(self, sid):
        with self._lock:
            session = self._sessions.pop(sid, None)
        if session is None:
            return False
        session.close()
        return True

    def reap(self):
        """Close sessions idle for longer than ``idle_timeout`` and those whose worker died; their ids."""
        now = time.monotonic()
        with self._lock:
            gone = [s for s in self._sessions.values()
                    if now - s.last_seen > self.limits.idle_timeout or not s.process.is_alive()]
            for s in gone:
                del self._sessions[s.id]
        for s in gone:
            s.close()
        return [s.id for s in gone]

    def close_all(self):
        with self._lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
        for s in sessions:
            s.close()

    def stats(self):
        """How many sessions, and each worker's memory (kB, from /proc where there is one); no ids."""
        with self._lock:
            sessions = list(self._sessions.values())
        workers = [{"pid": s.process.pid, "alive": s.process.is_alive(), **memory_kb(s.process.pid),
                    "idle_seconds": round(time.monotonic() - s.last_seen, 1)} for s in sessions]
        return {"sessions": len(sessions), "max_sessions": self.limits.max_sessions,
                "server": memory_kb(os.getpid()), "workers": workers}


def memory_kb(pid):
    """Resident (rss) and proportional (pss: shared pages split between their users) memory of a process."""
    out = {}
    for path, keys in ((f"/proc/{pid}/status", ("VmRSS",)), (f"/proc/{pid}/smaps_rollup", ("Pss",))):
        try:
            with open(path) as handle:
                for line in handle:
                    name, _, value = line.partition(":")
                    if name in keys:
                        out[name.lower().replace("vm", "")] = int(value.split()[0])
        except OSError:
            pass
    return out
