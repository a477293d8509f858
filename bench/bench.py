"""bench/run: wfhookd against its ceilings and php-fpm, in interleaved rounds (docs/performance.md).

Targets, all through one private nginx (worker_processes 1, access_log off) except f:
  a  nginx `return 200`                          the nginx path's ceiling
  b  bare pre-forked libfcgi responder           the architecture's ceiling (bench/bare_responder.cpp)
  c  wfhookd /customAction, auth on, noop action
  d  php-fpm running bench/customAction.php      the same checks in PHP
  e  wfhookd /customAction, exec action /bin/true
  f  wfhookd over FastCGI without nginx          bench/fcgi_load.cpp
and, measured right after e in every round:
  e0 posix_spawn + waitpid of /bin/true in a loop, one loop per CPU, no wfhookd
     (bench/spawn_loop.cpp): what starting a process costs on this machine, e's ceiling
The document store (bench/store.py; a store made in the run's directory, served by a wfhookd
instance of its own, and the same files by nginx alone):
  g  wfhookd /metadata of a file                  against c
  h  nginx autoindex_format json, 1,000 files     i's ceiling
  i  wfhookd /files of the same folder, max=1000
  j  nginx, a 64 MiB file as a static file        k's ceiling
  k  wfhookd /download of it: X-Accel-Redirect, then nginx sends it
  l  wfhookd /thumbnail, cached (200 px of a 6000x4000 JPEG)   against g
  m  the first thumbnail of that JPEG in a fresh worker: CPU time and peak RSS
  n  nginx writes a 256 MiB PUT body to a file (client_body_in_file_only), then 200
  o  wfhookd /upload of the same body through nginx: MB/s and the worker's peak RSS
and, measured right after o in every round:
  o0 the same body written to the store's file system as wfhookd writes an upload (64 KiB
     writes, sync_file_range every 8 MiB, fsync), by bench/store.py itself: the disk's rate for
     o's writes, o's ceiling (wfhookd answers once the upload is on disk; nginx in n never syncs)
"""

import argparse
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import http.client
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import tempfile
import time

import common
import store
from common import BenchError, log

TARGETS = {
    "a": "nginx return 200",
    "b": "bare libfcgi responder",
    "c": "wfhookd noop",
    "d": "php-fpm",
    "e": "wfhookd exec /bin/true",
    "f": "wfhookd direct (fcgi_load)",
    "g": "wfhookd /metadata",
    "h": "nginx autoindex json, 1,000",
    "i": "wfhookd /files, 1,000 items",
    "j": "nginx static file, 64 MiB",
    "k": "wfhookd /download 64 MiB",
    "l": "wfhookd /thumbnail, cached",
    "m": "first thumbnail 6000x4000",
    "n": "nginx body to file, 256 MiB",
    "o": "wfhookd /upload, 256 MiB",
}
SHORT = {"a": "nginx\\nreturn 200", "b": "bare\\nlibfcgi", "c": "wfhookd\\nnoop", "d": "php-fpm\\n",
         "e": "wfhookd\\nexec /bin/true", "f": "wfhookd direct\\n(no nginx)",
         "g": "wfhookd\\n/metadata", "h": "nginx\\nautoindex", "i": "wfhookd\\n/files 1,000",
         "j": "nginx\\nstatic 64 MiB", "k": "wfhookd\\n/download", "l": "wfhookd\\n/thumbnail"}
ALL_TARGETS = "".join(TARGETS)
# Targets measured as a request rate by wrk (a-e, g-l) or fcgi_load (f); m, n and o are not.
RATE_TARGETS = "abcdefghijkl"
APP = {"a": None, "b": "bare", "c": "wfhookd", "d": "php", "e": "wfhookd", "f": "wfhookd",
       "g": "store", "h": None, "i": "store", "j": None, "k": "store", "l": "store",
       "m": "fresh", "n": None, "o": "store"}
PORT_OFFSET = {"a": 0, "b": 1, "c": 2, "d": 3, "e": 4,
               "g": 5, "i": 5, "k": 5, "l": 5, "o": 5, "h": 6, "j": 6, "n": 6}
# What a target's figure is (ratios are taken between these): uploads in MB/s.
FIGURE = {"n": "mb_s", "o": "mb_s"}
# Ratios of medians reported, numerator first.
RATIOS = [("c", "b"), ("c", "d"), ("c", "a"), ("b", "a"), ("b", "d"), ("f", "c"),
          ("g", "c"), ("i", "h"), ("k", "j"), ("l", "g"), ("o", "n")]

# The issue's targets; evaluated from the medians of one run.
GOALS = [
    ("c/b", ">=", 0.95, "c/b (wfhookd vs the bare responder)"),
    ("c/d", ">=", 1.8, "c/d (wfhookd vs php-fpm)"),
    ("c.p99_ms", "<=", 3.0, "c p99 latency at {conns} connections, ms"),
    ("c.rss_max_kib", "<=", 4096, "RSS per wfhookd worker, KiB"),
    ("e.rps", ">=", 1000, "e exec /bin/true, req/s"),
    ("e0.rate", ">=", 1000, "e0 ceiling: /bin/true spawned and reaped per s without wfhookd"),
    ("instructions.wfhookd", "<=", 6000, "user-space instructions per request in a worker"),
    ("g/c", ">=", 0.8, "g/c (/metadata vs /customAction noop)"),
    ("i/h", ">=", 0.5, "i/h (/files of 1,000 items vs nginx autoindex json)"),
    ("k/j", ">=", 0.9, "k/j (/download of 64 MiB by X-Accel-Redirect vs nginx static)"),
    ("l/g", ">=", 0.8, "l/g (cached /thumbnail vs /metadata)"),
    ("m.cpu_ms", "<=", 150, "m first thumbnail of a 6000x4000 JPEG: worker CPU, ms"),
    ("m.hwm_kib", "<=", 65536, "m first thumbnail: worker peak RSS (VmHWM), KiB"),
    ("o.app_hwm_kib", "<", 16384, "o upload of 256 MiB: worker peak RSS (VmHWM), KiB"),
]


def parse_args():
    ap = argparse.ArgumentParser(prog="bench/run", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument("--duration", type=float, default=10, help="seconds per target and round (10)")
    ap.add_argument("--warmup", type=float, default=2, help="warm-up seconds per target (2)")
    ap.add_argument("--workers", type=int, default=2,
                    help="workers of b, c, d, e and the store instance (default 2)")
    ap.add_argument("--connections", type=int, default=32, help="concurrent connections (32)")
    ap.add_argument("--targets", help=f"subset to run, e.g. bc (default {ALL_TARGETS})")
    ap.add_argument("--store", action="store_true",
                    help=f"the document store's targets {store.STORE_TARGETS} and their baseline c "
                         "(added to --targets if given)")
    ap.add_argument("--port-base", type=int, default=18380, help="ports BASE..BASE+6 (18380)")
    ap.add_argument("--quick", action="store_true",
                    help="functional run: 1 round of 3 s, 1 s warm-up, short callgrind")
    ap.add_argument("--no-instructions", action="store_true", help="skip bench/instructions")
    ap.add_argument("--publish", action="store_true",
                    help="copy the result to docs/performance/latest.{json,png} and the table "
                         "into docs/performance.md")
    ap.add_argument("--serve", action="store_true",
                    help="start everything, print the load commands, wait for Ctrl-C (for "
                         "profiling by hand: perf, strace)")
    ap.add_argument("--out", help="result directory (default bench/results/DATE)")
    a = ap.parse_args()
    if a.quick:
        a.rounds, a.duration, a.warmup = 1, 3, 1
    if a.store:
        a.targets = (a.targets or "") + "c" + store.STORE_TARGETS
    elif a.targets is None:
        a.targets = ALL_TARGETS
    a.targets = "".join(t for t in ALL_TARGETS if t in a.targets)
    if not a.targets or a.rounds < 1 or a.duration < 2 or a.workers < 1:
        ap.error("need at least one target, --rounds >= 1, --duration >= 2, --workers >= 1")
    return a


class Stack:
    """nginx, the bare responder, wfhookd and php-fpm, and for the store targets wfhookd's
    store instance, generated into a private directory."""

    def __init__(self, args, sup, run_dir):
        self.args, self.sup, self.run = args, sup, run_dir
        self.prefix = os.path.join(run_dir, "nginx")
        self.pids = {}
        self.logs = {}
        self.store = store.StoreBench(self)
        self.store_targets = "".join(t for t in args.targets if t in store.STORE_TARGETS)

    def port(self, t):
        return self.args.port_base + PORT_OFFSET[t]

    def label(self, t):
        return TARGETS[t]

    def url(self, t, query=common.QUERY):
        if t in store.STORE_TARGETS:
            return f"http://127.0.0.1:{self.port(t)}{self.store.path(t)}"
        return f"http://127.0.0.1:{self.port(t)}/customAction?{query}"

    def generate(self):
        a, run = self.args, self.run
        self.conf, self.key = common.wfhookd_conf(run, a.workers)
        common.fill(os.path.join(common.BENCH, "php-fpm.conf.in"), os.path.join(run, "php-fpm.conf"),
                    {"RUN": run, "WORKERS": a.workers, "API_KEY": self.key,
                     "USERNAME": common.USERNAME}, mode=0o600)
        snippets = os.path.join(self.prefix, "conf", "snippets")
        os.makedirs(snippets)
        for d in ("client_body", "fastcgi", "proxy", "uwsgi", "scgi"):
            os.makedirs(os.path.join(self.prefix, "tmp", d))
        for n in ("fastcgi", "locations", "errors"):
            shutil.copy(os.path.join(common.ROOT, "nginx", f"wfhookd-{n}.conf"), snippets)
        # b and d: the operator's FastCGI snippet with only the upstream changed.
        with open(os.path.join(snippets, "wfhookd-fastcgi.conf")) as f:
            fastcgi = f.read()
        if len(re.findall(r"^fastcgi_pass wfhookd;$", fastcgi, re.M)) != 1:
            raise BenchError("nginx/wfhookd-fastcgi.conf no longer has one 'fastcgi_pass wfhookd;' "
                             "line: update bench/bench.py")
        for name, upstream in (("bare", "bench_bare"), ("php", "bench_php")):
            with open(os.path.join(snippets, f"bench-{name}-fastcgi.conf"), "w") as f:
                f.write(fastcgi.replace("fastcgi_pass wfhookd;", f"fastcgi_pass {upstream};"))
        # g to o: the store (made only when one of them runs; nginx.conf names it anyway).
        store_values = self.store.nginx_values(snippets)
        if self.store_targets:
            self.store.generate(a.workers)
        ports = {f"PORT_{t.upper()}": a.port_base + o for t, o in PORT_OFFSET.items()}
        ports.update({"PORT_STORE": self.port("g"), "PORT_FILES": self.port("h")})
        common.fill(os.path.join(common.BENCH, "nginx.conf.in"),
                    os.path.join(self.prefix, "conf", "nginx.conf"),
                    {"USER": "user root root;" if os.geteuid() == 0 else "", "PREFIX": self.prefix,
                     "RUN": run, "PHP_SCRIPT": os.path.join(common.BENCH, "customAction.php"),
                     **ports, **store_values})
        self.nginx_argv = ["nginx", "-p", self.prefix, "-c", os.path.join(self.prefix, "conf", "nginx.conf"),
                           "-e", os.path.join(self.prefix, "error.log")]
        r = subprocess.run(self.nginx_argv + ["-t", "-q"], capture_output=True, text=True)
        if r.returncode != 0:
            raise BenchError(f"nginx -t refused the generated configuration:\n{r.stderr}")

    def start(self):
        a, run, sup = self.args, self.run, self.sup
        needed = {APP[t] for t in a.targets}
        if "bare" in needed:
            self.logs["bare"] = os.path.join(run, "bare.log")
            p = sup.start("bare responder", [common.BARE, "-s", os.path.join(run, "bare.sock"),
                                             "-w", str(a.workers)], self.logs["bare"])
            self.pids["bare"] = p.pid
        if "wfhookd" in needed:
            p, self.logs["wfhookd"] = common.start_wfhookd(sup, run, self.conf)
            self.pids["wfhookd"] = p.pid
        if "php" in needed:
            self.logs["php"] = os.path.join(run, "php-fpm.log")
            argv = [common.php_fpm_binary(), "-F", "-y", os.path.join(run, "php-fpm.conf")]
            if os.geteuid() == 0:
                argv.append("-R")  # the pool runs as root, like the other targets
            p = sup.start("php-fpm", argv, os.path.join(run, "php-fpm.out"))
            self.pids["php"] = p.pid
        if self.store_targets:  # also for h, j, m, n alone: the ids come from it
            needed.add("store")
            p, self.logs["store"] = self.store.start(sup, a.workers)
            self.pids["store"] = p.pid
        p = sup.start("nginx", self.nginx_argv, os.path.join(run, "nginx.out"))
        self.pids["nginx"] = p.pid

        if "wfhookd" in needed:
            common.wait_for("wfhookd's workers", lambda: common.file_contains(
                self.logs["wfhookd"], "ready:"), 20, sup)
        for name, sock in (("bare", "bare.sock"), ("php", "php-fpm.sock")):
            if name in needed:
                common.wait_for(f"{name} socket", lambda s=sock: common.unix_connectable(
                    os.path.join(run, s)), 20, sup)
        common.wait_for("nginx", lambda: self.http_status("a") is not None, 20, sup)
        for name in ("bare", "wfhookd", "php", "store"):
            if name in needed:
                common.wait_for(f"{a.workers} {name} workers", lambda n=name: len(
                    common.children(self.pids[n])) >= a.workers, 20, sup)
        if self.store_targets:
            self.store.discover()

    def http(self, t, query=common.QUERY, key=None, user=common.USERNAME):
        c = http.client.HTTPConnection("127.0.0.1", self.args.port_base + PORT_OFFSET[t], timeout=10)
        try:
            c.request("GET", f"/customAction?{query}",
                      headers={"apiKey": self.key if key is None else key, "username": user})
            r = c.getresponse()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read().decode()
        finally:
            c.close()

    def http_status(self, t):
        try:
            return self.http(t)[0]
        except OSError:
            return None

    def check(self):
        """Each target answers the benchmark request correctly, and refuses a wrong key."""
        a = self.args
        for t in a.targets:
            if t in store.STORE_TARGETS:
                continue
            if t == "f":
                for key, want in ((self.key, 200), ("wrong-key-wrong-key", 403)):
                    r = subprocess.run(self.fcgi_load_argv(key) + ["-n", "5", "-c", "1", "-s", str(want)],
                                       capture_output=True, text=True)
                    if r.returncode != 0:
                        raise BenchError(f"target f: expected {want} from wfhookd:\n{r.stdout}{r.stderr}")
                continue
            query = "name=true&documentId=123&documentVersionId=456" if t == "e" else common.QUERY
            status, headers, body = self.http(t, query)
            # The same answer from every target, framed the same way (not chunked).
            if status != 200 or body != '{"status":"success"}' or \
                    headers.get("content-length") != "20" or \
                    not headers.get("content-type", "").startswith("application/json"):
                raise BenchError(f"target {t} ({TARGETS[t]}) answered {status} {headers} {body!r}")
            if t in "cde":
                status, _, body = self.http(t, query, key="wrong-key-wrong-key")
                if status != 403:
                    raise BenchError(f"target {t} accepted a wrong API key: {status} {body!r}")
                status, _, body = self.http(t, query, user="stranger@example.com")
                if status != 403:
                    raise BenchError(f"target {t} accepted an unlisted user: {status} {body!r}")
                status, _, body = self.http(t, "name=noop")
                if status != 400:
                    raise BenchError(f"target {t} accepted a request without documentId: {status}")
        log("every target answers correctly (and c, d, e refuse a wrong key, user or query)")
        if self.store_targets:
            self.store.check(self.store_targets)

    def fcgi_load_argv(self, key=None):
        return [common.FCGI_LOAD, "-j", "-H", f"apiKey: {key or self.key}",
                "-H", f"username: {common.USERNAME}", "-u", f"/customAction?{common.QUERY}",
                "unix:" + os.path.join(self.run, "wfhookd.sock")]

    def load_argv(self, t, duration):
        a = self.args
        if t == "f":
            return self.fcgi_load_argv() + ["-c", str(a.connections), "-d", str(duration)]
        query = "name=true&documentId=123&documentVersionId=456" if t == "e" else common.QUERY
        # The 64 MiB transfers: fewer connections, a longer timeout (bench/store.py).
        conns, timeout = ((store.DOWNLOAD_CONNECTIONS, ["--timeout", store.DOWNLOAD_TIMEOUT])
                          if t in "jk" else (a.connections, []))
        return ["wrk", "-t1", f"-c{conns}", f"-d{duration:g}s", "--latency", *timeout,
                "-H", f"apiKey: {self.key}", "-H", f"username: {common.USERNAME}", self.url(t, query)]

    def app_pids(self, t):
        return common.children(self.pids[APP[t]]) if APP[t] else []

    def nginx_pids(self, t):
        return common.children(self.pids["nginx"]) if t != "f" else []


def parse_wrk(out):
    def ms(value):
        m = re.match(r"([\d.]+)(us|ms|s)$", value)
        if not m:
            return None
        return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]

    r = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    r["rps"] = float(m.group(1)) if m else 0.0
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    r["requests"] = int(m.group(1)) if m else 0
    for pct in ("50", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        r[f"p{pct}_ms"] = ms(m.group(1)) if m else None
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    r["errors"] = sum(int(x) for x in m.groups()) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    r["non2xx"] = int(m.group(1)) if m else 0
    return r


def measure(stack, t, duration, quiet=False, label="warm-up"):
    """One run of target t: load for `duration` s; CPU sampled over the middle of the run.
    m, n and o are measured by bench/store.py (`label` names m's log)."""
    if t == "m":
        return dict(stack.store.measure_first_thumbnail(stack.sup, label), errors=0, non2xx=0)
    if t in "no":
        return dict(stack.store.measure_uploads(t, duration, quiet), errors=0, non2xx=0)
    argv = stack.load_argv(t, duration)
    w0 = max(0.5, 0.15 * duration)
    w1 = duration - w0
    nginx, app = stack.nginx_pids(t), stack.app_pids(t)
    start = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(w0)
        ours = nginx + app + [p.pid]
        c0 = {pid: common.cpu_ticks(pid) for pid in ours}
        m0, t0 = common.machine_ticks(), time.monotonic()
        time.sleep(max(0.1, start + w1 - time.monotonic()))
        c1 = {pid: common.cpu_ticks(pid) for pid in ours}
        m1, t1 = common.machine_ticks(), time.monotonic()
        rss = {pid: common.rss_kib(pid) for pid in app}
        nginx_rss = {pid: common.rss_kib(pid) for pid in nginx}
        out, _ = p.communicate(timeout=duration + 30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    if p.returncode not in (0, 1) and t == "f" or p.returncode != 0 and t != "f":
        raise BenchError(f"{argv[0]} exited with {p.returncode}:\n{out}")
    r = json.loads(out.strip().splitlines()[-1]) if t == "f" else parse_wrk(out)
    if t == "f":
        r["non2xx"] = r.pop("bad_status")
        r["errors"] = r["errors"]

    win = t1 - t0

    def pct(pids):  # % of one core over the window
        ticks = sum((c1[x] or 0) - (c0[x] or 0) for x in pids if c0.get(x) is not None and c1.get(x) is not None)
        return 100.0 * ticks / CLK / win

    dm = [b - a for a, b in zip(m0, m1)]
    total = sum(dm) or 1
    busy = total - dm[3] - dm[4]
    ours_ticks = sum((c1[x] or 0) - (c0[x] or 0) for x in ours if c0.get(x) is not None and c1.get(x) is not None)
    r.update({
        "nginx_cpu_pct": round(pct(nginx), 1),
        "app_cpu_pct": round(pct(app), 1),
        "loadgen_cpu_pct": round(pct([p.pid]), 1),
        "machine_pct": {"user": round(100 * (dm[0] + dm[1]) / total, 1),
                        "sys": round(100 * dm[2] / total, 1),
                        "softirq": round(100 * (dm[5] + dm[6]) / total, 1),
                        "idle": round(100 * (dm[3] + dm[4]) / total, 1),
                        "steal": round(100 * dm[7] / total, 1)},
        # CPU used by processes other than ours (other agents, the system): the noise.
        "other_cpu_pct": round(max(0.0, 100.0 * (busy - dm[5] - dm[6] - ours_ticks) / CLK / win), 1),
        "app_workers": len(app),
        "rss_max_kib": max((v for v in rss.values() if v), default=None),
        "nginx_rss_kib": max((v for v in nginx_rss.values() if v), default=None),
    })
    rps = r["rps"] or 1
    r["nginx_us_per_req"] = round(r["nginx_cpu_pct"] / 100 / rps * 1e6, 1) if nginx else None
    r["app_us_per_req"] = round(r["app_cpu_pct"] / 100 / rps * 1e6, 1) if app else None
    if t in "jk":
        r["mb_s"] = round(r["rps"] * store.LARGE_SIZE / 1e6, 1)
    r["rps"] = round(r["rps"], 1)
    if not quiet:
        log(f"  {t} {TARGETS[t]:<28} {r['rps']:>9.{1 if r['rps'] < 100 else 0}f} req/s  "
            f"{str(r['mb_s']) + ' MB/s  ' if 'mb_s' in r else ''}p50 {r['p50_ms']:.3f} ms  "
            f"p99 {r['p99_ms']:.3f} ms  cpu/req nginx {fmt(r['nginx_us_per_req'])} "
            f"app {fmt(r['app_us_per_req'])} us  errors {r['errors']} non-2xx {r['non2xx']}  "
            f"other load {r['other_cpu_pct']:.0f}%")
    return r


CLK = common.CLK_TCK


def fmt(v, spec=".1f"):
    return "-" if v is None else format(v, spec)


def median_of(runs, key):
    vals = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(vals) if vals else None


# What "median" holds per kind of target: medians over the rounds, and for peaks the largest.
MEDIANS = {"rate": ("rps", "p50_ms", "p99_ms", "nginx_us_per_req", "app_us_per_req", "nginx_cpu_pct",
                    "app_cpu_pct", "loadgen_cpu_pct", "other_cpu_pct"),
           "m": ("cpu_ms", "rss_before_kib", "request_ms", "thumbnail_bytes"),
           "upload": ("mb_s", "nginx_cpu_ms_per_upload", "app_cpu_ms_per_upload",
                      "loadgen_cpu_ms_per_upload", "other_cpu_pct")}
PEAKS = {"rate": ("rss_max_kib",), "m": ("hwm_kib", "rss_after_kib"),
         "upload": ("app_hwm_kib", "nginx_hwm_kib")}


def kind(t):
    return "m" if t == "m" else "upload" if t in "no" else "rate"


def figure(t):
    return FIGURE.get(t, "rps")


def summarize(results, args):
    for t, res in results["targets"].items():
        runs = res["runs"]
        res["median"] = {k: median_of(runs, k) for k in MEDIANS[kind(t)]}
        for k in PEAKS[kind(t)]:
            res["median"][k] = max((r[k] for r in runs if r.get(k)), default=None)
        if t in "jk":
            res["median"]["mb_s"] = median_of(runs, "mb_s")
        res["errors"] = sum(r["errors"] for r in runs)
        res["non2xx"] = sum(r["non2xx"] for r in runs)
    med = {t: res["median"] for t, res in results["targets"].items()}
    ratios = {}
    for x, y in RATIOS:
        if x in med and y in med and med[x].get(figure(x)) and med[y].get(figure(y)):
            ratios[f"{x}/{y}"] = round(med[x][figure(x)] / med[y][figure(y)], 3)
    ceiling = results.get("spawn_ceiling")
    if ceiling:
        ceiling["median"] = statistics.median(r["rate"] for r in ceiling["runs"])
        if "e" in med and ceiling["median"]:
            ratios["e/e0"] = round(med["e"]["rps"] / ceiling["median"], 3)
    disk = results.get("durable_write_ceiling")
    if disk:
        disk["median"] = statistics.median(r["mb_s"] for r in disk["runs"])
        if "o" in med and disk["median"]:
            ratios["o/o0"] = round(med["o"]["mb_s"] / disk["median"], 3)
    results["ratios"] = ratios
    # The same ratios round by round (both targets ran back to back, so they shared the same
    # background load): sturdier than the ratio of medians on a busy machine.
    per_round = {}
    for key in ratios:
        x, y = key.split("/")
        if x not in results["targets"] or y not in results["targets"]:
            continue
        rx = {r["round"]: r[figure(x)] for r in results["targets"][x]["runs"]}
        ry = {r["round"]: r[figure(y)] for r in results["targets"][y]["runs"]}
        vals = [round(rx[n] / ry[n], 3) for n in sorted(rx) if ry.get(n)]
        per_round[key] = {"rounds": vals, "median": statistics.median(vals) if vals else None}
    results["ratios_per_round"] = per_round
    goals = []
    for key, op, limit, label in GOALS:
        value = None
        if "/" in key:
            value = ratios.get(key)
        elif key == "e0.rate":
            value = results.get("spawn_ceiling", {}).get("median")
        elif key.startswith("instructions."):
            inst = results.get("instructions", {}).get(key.split(".")[1])
            value = inst["ir_per_request"] if inst else None
        else:
            t, field = key.split(".")
            value = med.get(t, {}).get(field)
        met = None if value is None else {">=": value >= limit, "<=": value <= limit,
                                          "<": value < limit}[op]
        goals.append({"goal": f"{key} {op} {limit:g}", "label": label.format(conns=args.connections),
                      "value": value, "met": met})
    results["goals"] = goals


def table_md(results):
    s = results["settings"]
    m = results["machine"]
    lines = [
        f"Run of {results['date']} ({'--quick, ' if s['quick'] else ''}{s['rounds']} round(s) × "
        f"{s['duration']:g} s per target, {s['connections']} connections, {s['workers']} workers "
        f"for b–e{' and the store (g–o)' if set(s['targets']) & set(store.STORE_TARGETS) else ''}; "
        f"`wrk -t1` through nginx `worker_processes 1`) on {m.get('cpu_model', '?')}, "
        f"{m['nproc']} CPUs, {m.get('memory_mib', 0) // 1024} GiB, kernel {m['kernel']}"
        f"{', ' + m['virtualization'] if m.get('virtualization') else ''}; load average "
        f"{results['loadavg_start'][0]:.2f} at the start. wfhookd {results['versions']['git']}.",
        "",
        "| target | median req/s | req/s per round | p50 ms | p99 ms | nginx µs CPU/req | "
        "worker µs CPU/req | max worker RSS KiB | errors / non-2xx | other load % |",
        "|---|---:|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for t, res in results["targets"].items():
        if t not in RATE_TARGETS:
            continue
        md = res["median"]
        per = " / ".join(rate(r["rps"]) for r in res["runs"])
        lines.append(
            f"| ({t}) {TARGETS[t]} | **{rate(md['rps'])}** | {per} | {fmt(md['p50_ms'], '.2f')} | "
            f"{fmt(md['p99_ms'], '.2f')} | {fmt(md['nginx_us_per_req'])} | {fmt(md['app_us_per_req'])} | "
            f"{fmt(md['rss_max_kib'], 'd') if md['rss_max_kib'] else '-'} | {res['errors']} / "
            f"{res['non2xx']} | {fmt(md['other_cpu_pct'], '.0f')} |")
    ceiling = results.get("spawn_ceiling")
    if ceiling:
        lines.append(f"| (e0) posix_spawn + waitpid /bin/true, one loop per CPU, no wfhookd | "
                     f"**{ceiling['median']:,.0f}** spawns/s | "
                     + " / ".join(f"{r['rate']:.0f}" for r in ceiling["runs"])
                     + " | | | | | | | |")
    lines.append("")
    lines += store_tables(results)
    if results["ratios"]:
        lines.append("Ratios of median req/s (MB/s for n and o): " + ", ".join(
            f"{k} = {v:.2f}" for k, v in results["ratios"].items()) + ".")
        lines.append("Round by round (each pair ran back to back): " + "; ".join(
            f"{k} {' / '.join(f'{x:.2f}' for x in v['rounds'])}"
            for k, v in results["ratios_per_round"].items()
            if k in ("c/b", "c/d", "f/c", "g/c", "i/h", "k/j", "l/g", "o/n")) + ".")
        lines.append("")
    inst = results.get("instructions")
    kinds = [k for k in ("wfhookd", "bare") if inst and k in inst]
    if kinds:
        lines.append("User-space instructions (callgrind Ir) and syscalls per request in one worker "
                     "(bench/instructions, fcgi_load with 1 connection):")
        lines.append("")
        lines.append("| per request | " + " | ".join(inst[k]["label"] for k in kinds) + " |")
        lines.append("|---|" + "---:|" * len(kinds))
        lines.append("| **Ir total** | " + " | ".join(f"**{inst[k]['ir_per_request']:,.0f}**"
                                                     for k in kinds) + " |")
        groups = []
        for k in kinds:
            groups += [g for g in inst[k]["by_group"] if g not in groups]
        for g in groups:
            lines.append(f"| Ir in {g} | " + " | ".join(
                f"{inst[k]['by_group'].get(g, 0):,}" for k in kinds) + " |")
        sc = inst.get("syscalls", {})
        if all(k in sc for k in kinds):
            lines.append("| syscalls | " + " | ".join(
                f"{sc[k]['total_per_request']:g} ({', '.join(n for n in sc[k]['per_request'])})"
                for k in kinds) + " |")
        lines.append("")
    if results.get("nginx_warnings"):
        lines.append("nginx's error log: " + "; ".join(
            f"{k} ×{v}" for k, v in results["nginx_warnings"].items()) + ".")
        lines.append("")
    lines += ["| goal | value | met |", "|---|---:|---|"]
    for g in results["goals"]:
        v = g["value"]
        # Three decimals below 10, so that a ratio just under its limit does not read as equal.
        vs = "-" if v is None else (f"{v:,.0f}" if abs(v) >= 100 else f"{v:.2f}" if abs(v) >= 10
                                    else f"{v:.3f}")
        lines.append(f"| {g['label']}: {g['goal'].split(' ', 1)[1]} | {vs} | "
                     f"{'yes' if g['met'] else ('not measured' if g['met'] is None else '**no**')} |")
    return "\n".join(lines) + "\n"


def rate(v):
    return "-" if v is None else f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def store_tables(results):
    """The store's transfers (j, k in MB/s), its first thumbnail (m) and its uploads (n, o)."""
    targets = results["targets"]
    lines = []
    if "j" in targets or "k" in targets:
        lines.append("j and k move 64 MiB per request: " + ", ".join(
            f"({t}) {fmt(targets[t]['median']['mb_s'], ',.0f')} MB/s" for t in "jk" if t in targets)
            + f" (median; {store.DOWNLOAD_CONNECTIONS} connections).")
        lines.append("")
    if "m" in targets:
        res = targets["m"]
        md, runs = res["median"], res["runs"]
        info = results.get("store", {})
        lines += [
            f"(m) The first thumbnail ({info.get('thumbnail_size')} px) of a "
            f"{info.get('photo_pixels')} JPEG of {info.get('photo_bytes', 0) / 1e6:.1f} MB in a "
            f"fresh worker (a wfhookd with one worker, an empty cache, one request over FastCGI):",
            "",
            "| first thumbnail | median (peaks: largest) | per round |",
            "|---|---:|---|",
            f"| worker CPU time, ms | **{fmt(md['cpu_ms'])}** | "
            + " / ".join(fmt(r["cpu_ms"]) for r in runs) + " |",
            f"| worker peak RSS (VmHWM), KiB | **{fmt(md['hwm_kib'], ',d')}** | "
            + " / ".join(fmt(r["hwm_kib"], ",d") for r in runs) + " |",
            f"| worker RSS before → after, KiB | {fmt(md['rss_before_kib'], ',.0f')} → "
            f"{fmt(md['rss_after_kib'], ',d')} | "
            + " / ".join(f"{r['rss_before_kib']:,} → {r['rss_after_kib']:,}" for r in runs) + " |",
            f"| time to answer, ms | {fmt(md['request_ms'], '.0f')} | "
            + " / ".join(fmt(r["request_ms"], ".0f") for r in runs) + " |",
            "",
        ]
    ups = [t for t in "no" if t in targets]
    if ups:
        lines += [
            f"Uploads of {store.UPLOAD_SIZE >> 20} MiB through nginx, one after another (curl -T); "
            "peak RSS over each round's uploads (VmHWM reset before them):",
            "",
            "| target | median MB/s | MB/s per round | uploads | s per upload | nginx ms CPU/upload | "
            "worker ms CPU/upload | curl ms CPU/upload | worker peak RSS KiB | nginx peak RSS KiB | "
            "other load % |",
            "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for t in ups:
            res = targets[t]
            md, runs = res["median"], res["runs"]
            each = [x for r in runs for x in r["seconds_per_upload"]]
            lines.append(
                f"| ({t}) {TARGETS[t]} | **{fmt(md['mb_s'])}** | "
                + " / ".join(fmt(r["mb_s"]) for r in runs) + f" | {sum(r['uploads'] for r in runs)} | "
                f"{statistics.median(each):.2f} | {fmt(md['nginx_cpu_ms_per_upload'], '.0f')} | "
                f"{fmt(md['app_cpu_ms_per_upload'], '.0f')} | "
                f"{fmt(md['loadgen_cpu_ms_per_upload'], '.0f')} | "
                f"{fmt(md['app_hwm_kib'], ',d')} | {fmt(md['nginx_hwm_kib'], ',d')} | "
                f"{fmt(md['other_cpu_pct'], '.0f')} |")
        disk = results.get("durable_write_ceiling")
        if disk:
            lines.append(f"| (o0) the same writes as wfhookd's (64 KiB, sync_file_range every 8 MiB, "
                         f"fsync), no nginx, no socket, no wfhookd | **{disk['median']:.1f}** | "
                         + " / ".join(f"{r['mb_s']:.1f}" for r in disk["runs"]) + " | | | | | | | | |")
        lines.append("")
    return lines


def chart(results, out_dir):
    dat = os.path.join(out_dir, "chart.dat")
    with open(dat, "w") as f:
        f.write("# i label rps_median rps_min rps_max p50_ms p99_ms\n")
        rated = [(t, res) for t, res in results["targets"].items() if t in RATE_TARGETS]
        for i, (t, res) in enumerate(rated):
            rps = [r["rps"] for r in res["runs"]]
            md = res["median"]
            label = f"({t}) {SHORT[t]}"
            f.write(f'{i} "{label}" {md["rps"]:.1f} {min(rps):.1f} {max(rps):.1f} '
                    f'{md["p50_ms"] or 0:.4f} {md["p99_ms"] or 0:.4f}\n')
    png = os.path.join(out_dir, "chart.png")
    m = results["machine"]
    s = results["settings"]
    title = (f"wfhookd bench {results['date'][:10]}: {m['nproc']} × {m.get('cpu_model', '?')}, "
             f"{s['rounds']} × {s['duration']:g} s, {s['connections']} conns, {s['workers']} workers"
             f"{' (quick)' if s['quick'] else ''}")
    width = max(1400, 200 * len(rated))  # room for each target's two-line label
    r = subprocess.run(["gnuplot", "-e", f"datafile='{dat}'; outfile='{png}'; charttitle='{title}'; "
                                         f"chartwidth={width}",
                        os.path.join(common.BENCH, "chart.gp")], capture_output=True, text=True)
    if r.returncode != 0:
        log(f"gnuplot failed (the JSON result is still written):\n{r.stderr}")
        return None
    return png


def publish(results, out_dir, table):
    docs = os.path.join(common.ROOT, "docs")
    os.makedirs(os.path.join(docs, "performance"), exist_ok=True)
    shutil.copy(os.path.join(out_dir, "result.json"), os.path.join(docs, "performance", "latest.json"))
    if os.path.exists(os.path.join(out_dir, "chart.png")):
        shutil.copy(os.path.join(out_dir, "chart.png"), os.path.join(docs, "performance", "latest.png"))
    page = os.path.join(docs, "performance.md")
    with open(page) as f:
        text = f.read()
    begin, end = "<!-- bench/run --publish: begin -->", "<!-- bench/run --publish: end -->"
    if begin not in text or end not in text:
        raise BenchError(f"{page} has no {begin} ... {end} markers")
    head, rest = text.split(begin, 1)
    _, foot = rest.split(end, 1)
    with open(page, "w") as f:
        f.write(f"{head}{begin}\n{table}{end}{foot}")
    log("published to docs/performance.md and docs/performance/latest.{json,png}")


def main():
    args = parse_args()
    common.require_tools(["nginx", "wrk", "gnuplot"] + (["valgrind", "callgrind_annotate"]
                                                         if not args.no_instructions else [])
                         + (["curl"] if set(args.targets) & set("no") else []))
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    out_dir = args.out or os.path.join(common.BENCH, "results", stamp + ("-quick" if args.quick else ""))
    os.makedirs(out_dir, exist_ok=True)
    results = {
        "schema": 1,
        "date": common.now_iso(),
        "settings": {"rounds": args.rounds, "duration": args.duration, "warmup": args.warmup,
                     "workers": args.workers, "connections": args.connections,
                     "targets": args.targets, "quick": args.quick,
                     "load": "wrk -t1 -cC --latency through nginx (a-e, g-l; j and k with "
                             f"{store.DOWNLOAD_CONNECTIONS} connections); bench/fcgi_load -cC (f); "
                             "one request by bench/fcgi_load to a fresh wfhookd (m); curl -T, one "
                             "upload after another (n, o)",
                     "cpu_window": "utime+stime(+cutime+cstime) from /proc/PID/stat over the "
                                   "middle 70 % of each run"},
        "machine": common.machine(),
        "versions": common.versions(),
        "loadavg_start": common.loadavg(),
        "targets": {},
    }
    log(f"results in {out_dir}")
    log(f"machine: {results['machine']}; load average {results['loadavg_start']}")
    if results["loadavg_start"][0] > 0.5:
        log("note: the machine is not idle (load average > 0.5): expect noisy numbers")

    run_dir = tempfile.mkdtemp(prefix="wfbench.", dir="/tmp")
    sup = common.Supervisor()
    try:
        stack = Stack(args, sup, run_dir)
        stack.generate()
        if stack.store_targets:
            results["store"] = stack.store.info
        stack.start()
        stack.check()
        if args.serve:
            return serve(stack)
        log(f"warm-up: {args.warmup:g} s per target (m: none, it is the first request by design)")
        for t in args.targets:
            if t != "m":
                measure(stack, t, args.warmup, quiet=True)
        for name in ("wfhookd", "store"):
            truncate_logs(stack, name)
        for rnd in range(1, args.rounds + 1):
            log(f"round {rnd}/{args.rounds}")
            for t in args.targets:
                r = measure(stack, t, args.duration, label=f"round{rnd}")
                r["round"] = rnd
                bad = truncate_logs(stack, APP[t]) if APP[t] in ("wfhookd", "store") else 0
                if bad:
                    r["wfhookd_non200_logged"] = bad
                results["targets"].setdefault(t, {"label": TARGETS[t], "runs": []})["runs"].append(r)
                sup.check_alive()
                if t == "e":
                    results.setdefault("spawn_ceiling", {"runs": []})["runs"].append(
                        dict(spawn_ceiling(args.duration), round=rnd))
                if t == "o":
                    results.setdefault("durable_write_ceiling", {"runs": []})["runs"].append(
                        dict(stack.store.durable_write_ceiling(), round=rnd))
    finally:
        sup.stop_all()
        keep = os.path.join(out_dir, "run")
        # Not the store's data (hundreds of MiB), nginx's temporary files (an upload cut short
        # leaves one) nor the secrets.
        shutil.copytree(run_dir, keep, ignore=shutil.ignore_patterns("*.sock", "api-key", "link-secret",
                                                                     "data", "tmp"),
                        dirs_exist_ok=True)
        shutil.rmtree(run_dir, ignore_errors=True)
    log("stopped nginx, the bare responder, wfhookd and php-fpm")
    results["nginx_warnings"] = nginx_warnings(os.path.join(keep, "nginx", "error.log"))
    results["loadavg_end"] = common.loadavg()

    if not args.no_instructions:
        import instructions
        results["instructions"] = instructions.measure_all(
            requests=3000 if args.quick else 20000, out_dir=os.path.join(out_dir, "instructions"))

    summarize(results, args)
    table = table_md(results)
    with open(os.path.join(out_dir, "result.json"), "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(out_dir, "table.md"), "w") as f:
        f.write(table)
    png = chart(results, out_dir)
    print()
    print(table)
    log(f"wrote {out_dir}/result.json, table.md{', chart.png' if png else ''}")
    if args.publish:
        publish(results, out_dir, table)
    return 0


def spawn_ceiling(duration):
    """e0: /bin/true started and reaped per second by bench/spawn_loop, one loop per CPU."""
    tool = os.path.join(common.ROOT, os.environ.get("BUILD", "build"), "bench", "spawn_loop")
    out = subprocess.run([tool, f"{duration:g}"], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"rate=([0-9.]+)", out).group(1))
    log(f"  e0 posix_spawn /bin/true loop      {rate:>9.0f} spawns/s (no wfhookd)")
    return {"rate": rate}


def serve(stack):
    print(f"\nServing every target; Ctrl-C stops everything. Runtime files: {stack.run}")
    print(f"nginx master {stack.pids['nginx']} (workers {common.children(stack.pids['nginx'])})")
    for name in ("bare", "wfhookd", "php", "store"):
        if name in stack.pids:
            print(f"{name} master {stack.pids[name]} (workers {common.children(stack.pids[name])})")
    print("\nLoad commands:")
    for t in stack.args.targets:
        if t == "m":
            print(f"  (m) {TARGETS[t]}: only bench/run measures it (a fresh wfhookd each round)")
        elif t in "no":
            print(f"  ({t}) {TARGETS[t]}:\n    " + stack.store.upload_argv(t))
        else:
            print(f"  ({t}) {TARGETS[t]}:\n    " + shlex.join(stack.load_argv(t, stack.args.duration)))
    print(flush=True)
    while True:
        time.sleep(3600)


def nginx_warnings(path):
    """nginx's warnings and errors by message (e.g. an upstream response buffered to a
    temporary file), with their counts."""
    counts = {}
    try:
        with open(path, errors="replace") as f:
            for line in f:
                m = re.search(r"\[(warn|error|crit|alert|emerg)\] \d+#\d+: (?:\*\d+ )?([^,]*)", line)
                if m:
                    key = f"[{m.group(1)}] {re.sub(r'/[^ ]*', '...', m.group(2)).strip()}"
                    counts[key] = counts.get(key, 0) + 1
    except FileNotFoundError:
        pass
    return counts


def truncate_logs(stack, name="wfhookd"):
    """Empties a wfhookd instance's log (one line per request) between runs; returns the
    number of request lines whose status was not 200, which are kept in LOG.non200."""
    path = stack.logs.get(name)
    if not path:
        return 0
    bad = []
    with open(path, "rb") as f:
        for line in f:
            if b" request " in line and b" status=200 " not in line:
                bad.append(line)
    if bad:
        with open(path + ".non200", "ab") as f:
            f.writelines(bad)
    os.truncate(path, 0)
    return len(bad)


if __name__ == "__main__":
    common.main_wrapper(main)
