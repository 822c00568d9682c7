"""A session's worker: its own process, bounded in memory, CPU priority and update rate, running one ``Playground``.

Two threads, so that the page never waits on a long computation:

- the pipe thread answers the server: the latest state and data (JSON prepared by the compute thread) at once,
  every other command by handing it to the compute thread and relaying the reply;
- the compute thread owns the ``Playground`` (and so all engine work: relulab's grad mode and random state are
  process-wide, so one thread does it all).  It paces updates to the session's speed, refreshes the state every
  ``SNAPSHOT_SECONDS`` while training, and runs the tools (Hessian, escape, doctor) after replying "started";
  meanwhile it is busy and other commands are refused with a message.

The process exits when the server closes the session or goes away (the pipe ends), which frees everything.
"""
import json
import math
import os
import queue
import threading
import time
from collections import deque

from ..train.config import ConfigError
from .engine import PlayError, Playground
from .settings import Limits, SettingsError, validate

SNAPSHOT_SECONDS = 0.2   # state refresh while training (and a page asks for it)
CURVE_SECONDS = 0.1      # a point of the loss curves while training (full training and validation loss)
UNITS_SECONDS = 0.5      # hidden units' responses refresh while training (they are the largest part)
REPLY_SECONDS = 10.0     # the pipe thread's wait for the compute thread's answer to a quick command
TOOLS = ("hessian", "escape", "doctor")  # long: run after replying "started" (θ = 0 is instant)
EXPECTED = (SettingsError, ConfigError, PlayError, ValueError)


def main(conn, settings, limits):
    """The worker process's entry point (see the module docstring)."""
    limits = Limits(**limits)
    _bound_resources(limits)
    Worker(conn, settings, limits).serve()


def _bound_resources(limits):
    """Lower CPU priority than the server (the pages stay responsive), one BLAS thread (sessions are many and
    small), and at most ``memory_mb`` more address space than the process has at start."""
    try:
        os.nice(5)
    except (AttributeError, OSError):
        pass
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(limits=1)
    except ImportError:
        pass
    try:
        import resource
        with open("/proc/self/statm") as handle:
            used = int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        ceiling = used + int(limits.memory_mb) * 2 ** 20
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            ceiling = min(ceiling, hard)
        resource.setrlimit(resource.RLIMIT_AS, (ceiling, hard))
    except (ImportError, OSError, ValueError):
        pass  # not Linux: the model-size limits still bound a worker's memory


class _Reply:
    def __init__(self):
        self.event, self.value = threading.Event(), None

    def set(self, value):
        self.value = value
        self.event.set()


class Worker:
    def __init__(self, conn, settings, limits):
        self.conn, self.limits = conn, limits
        self.settings = validate(settings, limits)
        self.commands = queue.Queue()
        self.closed = threading.Event()
        self.state_json, self.data_json = json.dumps({"starting": True}), json.dumps({})
        self.playground, self.error, self.tool_error = None, None, None
        self.running, self.busy, self.layer = False, None, 1
        self.version = 0
        self.wanted = threading.Event()  # a page asked for the state since the last refresh
        self._rates = deque(maxlen=16)  # (time, steps) at each refresh: the measured update rate
        self._units, self._units_at, self._units_version = None, -math.inf, 0

    # ------------------------------------------------------------------------------------------- pipe thread
    def serve(self):
        compute = threading.Thread(target=self._compute, name="relulab-play-compute", daemon=True)
        compute.start()
        try:
            while not self.closed.is_set():
                try:
                    rid, name, args = self.conn.recv()
                except (EOFError, OSError):
                    break  # the server went away
                if name == "state":
                    self.wanted.set()
                    self.conn.send((rid, self.state_json))
                elif name == "data":
                    self.conn.send((rid, self.data_json))
                elif name == "close":
                    self.closed.set()
                    self.commands.put(None)  # wake the compute thread at once
                    self.conn.send((rid, {"closed": True}))
                elif self.busy is not None:
                    self.conn.send((rid, {"error": f"busy: the {self.busy} is running", "busy": self.busy}))
                else:
                    reply = _Reply()
                    self.commands.put((name, args, reply))
                    if not reply.event.wait(REPLY_SECONDS):
                        reply.value = {"error": "the worker is busy; try again"}
                    self.conn.send((rid, reply.value))
        finally:
            self.closed.set()
            compute.join(timeout=2)

    # ------------------------------------------------------------------------------------------- compute thread
    def _compute(self):
        try:
            self.playground = Playground(self.settings, self.limits)
        except EXPECTED as e:
            self.error = str(e)
        except MemoryError:
            self.error = self._memory_message()
        self._publish(data=True)
        next_step = last_publish = last_curve = time.monotonic()
        while not self.closed.is_set():
            now = time.monotonic()
            wait = max(0.0, next_step - now) if self.running else 0.25
            try:
                command = self.commands.get(timeout=wait)
            except queue.Empty:
                command = None
            if self.closed.is_set():
                break
            if command is not None:
                self._handle(*command)
                next_step = max(next_step, time.monotonic())
                continue
            if self.running and self.playground is not None:
                now = time.monotonic()
                if now >= next_step:
                    if not self._guarded(self.playground.step, 1):
                        self.running = False
                    # pace to the speed setting; never bank more than 50 ms of missed updates
                    next_step = max(next_step + 1.0 / self.settings["speed"], now - 0.05)
                if now - last_curve >= CURVE_SECONDS:
                    self._guarded(self.playground.record_curve)
                    last_curve = now
                # refresh while someone is looking: a hidden tab's session trains without drawing
                if now - last_publish >= SNAPSHOT_SECONDS and self.wanted.is_set():
                    self.wanted.clear()
                    self._publish()
                    last_publish = now

    def _guarded(self, fn, *args):
        """Run engine work; an error becomes the page's message (and stops training) instead of a dead worker."""
        try:
            fn(*args)
            return True
        except EXPECTED as e:
            self.error = str(e)
        except MemoryError:
            self.error = self._memory_message()
        except Exception as e:  # a bug in relulab: say so, keep the worker alive
            self.error = f"internal error ({type(e).__name__}: {e}); please report it"
        return False

    def _memory_message(self):
        return (f"out of memory: this session's worker may use {self.limits.memory_mb} MB; use a smaller model or "
                "fewer points")

    def _handle(self, name, args, reply):
        try:
            value = self._command(name, args, reply)
        except EXPECTED as e:
            value = {"error": str(e)}
        except MemoryError:
            value = {"error": self._memory_message()}
        except Exception as e:
            value = {"error": f"internal error ({type(e).__name__}: {e}); please report it"}
        if not reply.event.is_set():
            reply.set(value)
        self._publish(data=name == "configure" or name == "control")

    def _command(self, name, args, reply):
        if name == "configure":
            settings = validate(args[0], self.limits)
            self.settings = settings
            if self.playground is None:
                self.playground = Playground(settings, self.limits)
                self.error = None
                return {"reset": True}
            self.error = None
            result = self.playground.configure(settings)
            if result["reset"]:
                self._units = None
            return result
        if self.playground is None:
            return {"error": self.error or "the session has no run"}
        pg = self.playground
        if name == "control":
            action, count = args
            if action == "start":
                self.running = True
                self._rates.clear()
            elif action == "pause":
                self.running = False
                pg.record_curve()
            elif action == "step":
                self.running = False
                pg.step(int(count))
                pg.record_curve()
            elif action == "reset":
                self.running = False
                pg.reset()
                self._units = None
            else:
                return {"error": f"unknown action {action!r}; use start, pause, step or reset"}
            self.error = None
            self._units_at = -math.inf
            return {"running": self.running, "step": pg.steps}
        if name == "view":
            self.layer = int(args[0])
            self._units_at = -math.inf
            return {"layer": self.layer}
        if name == "origin":
            self.running = False
            pg.origin()
            return {"done": "origin", "step": pg.steps}
        if name == "weights":
            return pg.weights()
        if name == "export":
            from .export import toml_text
            return {"toml": toml_text(pg.settings, pg.steps, [f"step {s}: {w}" for s, w in pg.switches])}
        if name in TOOLS:
            self.running = False
            self.busy, self.tool_error = name, None
            reply.set({"started": name})
            self._publish()
            try:
                getattr(pg, name)()
                self._units_at = -math.inf
            except EXPECTED as e:
                self.tool_error = {"tool": name, "message": str(e)}
            except MemoryError:
                self.tool_error = {"tool": name, "message": self._memory_message()}
            except Exception as e:  # a bug: say so on the page, keep the worker alive
                self.tool_error = {"tool": name, "message": f"internal error ({type(e).__name__}: {e}); "
                                                            "please report it"}
            finally:
                self.busy = None
            return {"started": name}
        return {"error": f"unknown command {name!r}"}

    def _publish(self, data=False):
        """Prepare the JSON the pipe thread hands out (the state; the data points too when they changed)."""
        pg, now = self.playground, time.monotonic()
        self.version += 1
        state = {"version": self.version, "running": self.running, "busy": self.busy, "error": self.error,
                 "tool_error": self.tool_error, "settings": self.settings, "limits": self.limits.as_dict()}
        if pg is not None:
            try:
                if now - self._units_at >= UNITS_SECONDS or self._units is None:
                    self._units, self._units_at = pg.units(self.layer), now
                    self._units_version += 1
                self._rates.append((now, pg.steps))
                state.update(status=pg.status(), curve=pg.curve_shown(), prediction=pg.prediction(), units=self._units,
                             units_version=self._units_version,
                             surface=pg.surface(), hessian=pg.hessian_result, escape=pg.escape_result,
                             doctor=pg.doctor_result, data_version=pg.data_version, rate=self._rate())
                if data:
                    self.data_json = _json(pg.points())
            except EXPECTED as e:
                state["error"] = str(e)
        self.state_json = _json(state)

    def _rate(self):
        """Updates per second over the last few refreshes (0 when paused)."""
        if not self.running or len(self._rates) < 2:
            return 0.0
        (t0, s0), (t1, s1) = self._rates[0], self._rates[-1]
        return (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0


def _json(obj):
    """JSON for the page: NaN and ±inf (a diverged run) become null, which JSON can carry."""
    try:
        return json.dumps(obj, allow_nan=False, separators=(",", ":"))
    except ValueError:
        return json.dumps(_finite(obj), allow_nan=False, separators=(",", ":"))


def _finite(obj):
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj
