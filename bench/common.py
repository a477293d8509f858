"""Shared helpers of bench/run and bench/instructions (docs/performance.md).

Process supervision (everything started here is stopped here, also on Ctrl-C or an error),
/proc sampling (CPU, RSS), configuration templates and a description of the machine.
"""

import ctypes
import datetime
import glob
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
WFHOOKD = os.path.join(BUILD, "wfhookd")
BARE = os.path.join(BUILD, "bench", "bare_responder")
FCGI_LOAD = os.path.join(BUILD, "bench", "fcgi_load")
CLK_TCK = os.sysconf("SC_CLK_TCK")
USERNAME = "bench@example.com"
QUERY = "name=noop&documentId=123&documentVersionId=456"


class BenchError(Exception):
    pass


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------------------------------------
# Stopping on signals: SIGTERM and SIGHUP become an exception, like Ctrl-C, so that every
# `finally` runs and the supervisor stops what it started.

class Interrupted(BaseException):
    pass


def _raise_interrupted(signum, _frame):
    raise Interrupted(f"signal {signum}")


def install_signal_handlers():
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, _raise_interrupted)


_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


def _child_setup():
    # A daemon we start dies with us even if we are SIGKILLed (no orphans on this machine).
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class Supervisor:
    """Starts daemons in sessions of their own and stops all of them (and their children)."""

    def __init__(self):
        self.procs = []  # (name, Popen, stop signal, log file object)
        self.logs = {}  # pid -> log path

    def start(self, name, argv, log_path, stop_signal=signal.SIGTERM, env=None):
        logf = open(log_path, "ab", buffering=0)
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                             start_new_session=True, preexec_fn=_child_setup, env=env)
        self.procs.append((name, p, stop_signal, logf))
        self.logs[p.pid] = log_path
        return p

    def alive(self, p):
        return p.poll() is None

    def check_alive(self):
        for name, p, _, _ in self.procs:
            if p.poll() is not None:
                raise BenchError(f"{name} exited with status {p.returncode}; the end of "
                                 f"{self.logs[p.pid]}:\n{tail(self.logs[p.pid], 8)}")

    def stop(self, p, timeout=15):
        for i, (name, q, sig, logf) in enumerate(self.procs):
            if q is not p:
                continue
            if q.poll() is None:
                try:
                    q.send_signal(sig)
                    q.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    log(f"{name} did not stop within {timeout} s; killing it")
                    q.kill()
                    q.wait()
            kill_session(q.pid)
            logf.close()
            del self.procs[i]
            return

    def stop_all(self):
        # Front end first, so that no new work reaches the back ends while they stop.
        for name, p, _, _ in reversed(list(self.procs)):
            self.stop(p)

    def sessions(self):
        return [p.pid for _, p, _, _ in self.procs]


def session_members(sid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        st = proc_stat(int(d))
        if st and int(st[3]) == sid:  # field 6 of stat: session id
            out.append(int(d))
    return out


def kill_session(sid):
    """SIGKILLs what is left of a session we created (e.g. an exec action's child)."""
    left = session_members(sid)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return left


# ---------------------------------------------------------------------------------------------
# /proc

def proc_stat(pid):
    """Fields of /proc/PID/stat after the command name (index 0 = state), or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return s[s.rindex(")") + 2:].split()


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = proc_stat(int(d))
            if st and int(st[1]) == pid:
                out.append(int(d))
    return sorted(out)


def cpu_ticks(pid):
    """utime + stime + cutime + cstime (the last two: waited-for children, e.g. exec actions)."""
    st = proc_stat(pid)
    if st is None:
        return None
    return sum(int(x) for x in st[11:15])


def rss_kib(pid, field="VmRSS"):
    """VmRSS (or another Vm* line of /proc/PID/status, e.g. VmHWM, the peak RSS) in KiB."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def hwm_kib(pid):
    """The peak RSS (VmHWM) since the process started or since reset_hwm, in KiB."""
    return rss_kib(pid, "VmHWM")


def reset_hwm(pid):
    """Sets VmHWM back to the current RSS (clear_refs 5, Linux >= 4.0); False if refused."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def process_cpu_ns(pid):
    """CPU time of a whole process (every thread, living or gone) in ns, from its POSIX CPU
    clock (what clock_getcpuclockid(3) returns: ~pid << 3 | CPUCLOCK_SCHED): ns where
    /proc/PID/stat counts 10 ms ticks. None if the process is gone."""
    try:
        return time.clock_gettime_ns(((~pid) << 3) | 2)
    except OSError:
        return None


def machine_ticks():
    """The aggregate cpu line of /proc/stat: user nice system idle iowait irq softirq steal."""
    with open("/proc/stat") as f:
        return [int(x) for x in f.readline().split()[1:9]]


# ---------------------------------------------------------------------------------------------
# Files, templates, waiting

def fill(template_path, out_path, values, mode=0o644):
    with open(template_path) as f:
        text = f.read()
    for k, v in values.items():
        text = text.replace(f"@{k}@", str(v))
    left = set(re.findall(r"@[A-Z_]+@", text))
    if left:
        raise BenchError(f"{template_path}: unfilled placeholders {sorted(left)}")
    with open(out_path, "w") as f:
        f.write(text)
    os.chmod(out_path, mode)


def write_api_key(path):
    key = os.urandom(32).hex()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    return key


def wait_for(what, predicate, timeout, supervisor=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if supervisor is not None:
            supervisor.check_alive()
        time.sleep(0.05)
    raise BenchError(f"timed out after {timeout} s waiting for {what}")


def unix_connectable(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def file_contains(path, text):
    try:
        with open(path, "rb") as f:
            return text.encode() in f.read()
    except FileNotFoundError:
        return False


def tail(path, n=20):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode(errors="replace").splitlines()
        return "\n".join(lines[-n:])
    except FileNotFoundError:
        return f"({path} does not exist)"


def wfhookd_conf(run_dir, workers):
    """The benchmark's wfhookd configuration and API key in RUN_DIR; returns (conf, key)."""
    key = write_api_key(os.path.join(run_dir, "api-key"))
    conf = os.path.join(run_dir, "wfhookd.conf")
    fill(os.path.join(BENCH, "wfhookd.conf.in"), conf,
         {"RUN": run_dir, "WORKERS": workers, "USERNAME": USERNAME})
    check = subprocess.run([WFHOOKD, "-t", "-c", conf], capture_output=True, text=True)
    if check.returncode != 0:
        raise BenchError(f"wfhookd -t refused the generated configuration:\n{check.stderr}")
    return conf, key


def start_wfhookd(sup, run_dir, conf, prefix=None, name="wfhookd"):
    logp = os.path.join(run_dir, f"{name}.log")
    p = sup.start(name, (prefix or []) + [WFHOOKD, "-c", conf], logp)
    return p, logp


def require_tools(names):
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        raise BenchError(f"missing {', '.join(missing)}: run scripts/install-deps bench")
    for b in (WFHOOKD, BARE, FCGI_LOAD):
        if not os.access(b, os.X_OK):
            raise BenchError(f"{b} is missing: run make bench-tools")


def run_text(argv):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        return (r.stdout + r.stderr).strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def php_fpm_binary():
    found = sorted(glob.glob("/usr/sbin/php-fpm*"))
    if not found:
        raise BenchError("php-fpm is missing: run scripts/install-deps bench")
    return found[-1]


def machine():
    info = {}
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
    info["nproc"] = len(os.sched_getaffinity(0))
    info["kernel"] = platform.release()
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                info["memory_mib"] = int(line.split()[1]) // 1024
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    info["os"] = line.split("=", 1)[1].strip().strip('"')
    except FileNotFoundError:
        pass
    virt = run_text(["systemd-detect-virt"])
    if virt:
        info["virtualization"] = virt
    info["hostname"] = platform.node()
    return info


def versions():
    def first(text):
        return text.splitlines()[0] if text else ""

    commit = run_text(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    dirty = run_text(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"])
    return {
        "wfhookd": first(run_text([WFHOOKD, "-V"])),
        "git": commit + (" (+ uncommitted changes)" if dirty else ""),
        "nginx": first(run_text(["nginx", "-v"])),
        "php_fpm": first(run_text([php_fpm_binary(), "-v"])) if glob.glob("/usr/sbin/php-fpm*") else "",
        "wrk": first(run_text(["wrk", "-v"])).split(" Copyright")[0],
        "libfcgi": run_text(["dpkg-query", "-W", "-f=${Version}", "libfcgi0ldbl"]),
        "compiler": first(run_text([os.environ.get("CXX", "g++"), "--version"])),
        "valgrind": run_text(["valgrind", "--version"]),
    }


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def main_wrapper(fn):
    install_signal_handlers()
    try:
        sys.exit(fn())
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        sys.exit(1)
    except (KeyboardInterrupt, Interrupted):
        print("\nbench: interrupted; everything it started has been stopped", file=sys.stderr)
        sys.exit(130)
