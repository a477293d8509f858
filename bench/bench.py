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
from common import BenchError, log

TARGETS = {
    "a": "nginx return 200",
    "b": "bare libfcgi responder",
    "c": "wfhookd noop",
    "d": "php-fpm",
    "e": "wfhookd exec /bin/true",
    "f": "wfhookd direct (fcgi_load)",
}
SHORT = {"a": "nginx\\nreturn 200", "b": "bare\\nlibfcgi", "c": "wfhookd\\nnoop", "d": "php-fpm\\n",
         "e": "wfhookd\\nexec /bin/true", "f": "wfhookd direct\\n(no nginx)"}
APP = {"a": None, "b": "bare", "c": "wfhookd", "d": "php", "e": "wfhookd", "f": "wfhookd"}
PORT_OFFSET = {"a": 0, "b": 1, "c": 2, "d": 3, "e": 4}

# The issue's targets; evaluated from the medians of one run.
GOALS = [
    ("c/b", ">=", 0.95, "c/b (wfhookd vs the bare responder)"),
    ("c/d", ">=", 1.8, "c/d (wfhookd vs php-fpm)"),
    ("c.p99_ms", "<=", 3.0, "c p99 latency at {conns} connections, ms"),
    ("c.rss_max_kib", "<=", 4096, "RSS per wfhookd worker, KiB"),
    ("e.rps", ">=", 1000, "e exec /bin/true, req/s"),
    ("e0.rate", ">=", 1000, "e0 ceiling: /bin/true spawned and reaped per s without wfhookd"),
    ("instructions.wfhookd", "<=", 6000, "user-space instructions per request in a worker"),
]


def parse_args():
    ap = argparse.ArgumentParser(prog="bench/run", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument("--duration", type=float, default=10, help="seconds per target and round (10)")
    ap.add_argument("--warmup", type=float, default=2, help="warm-up seconds per target (2)")
    ap.add_argument("--workers", type=int, default=2, help="workers of b, c, d, e (default 2)")
    ap.add_argument("--connections", type=int, default=32, help="concurrent connections (32)")
    ap.add_argument("--targets", default="abcdef", help="subset to run, e.g. bc (default abcdef)")
    ap.add_argument("--port-base", type=int, default=18380, help="ports BASE..BASE+4 (18380)")
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
    a.targets = "".join(t for t in "abcdef" if t in a.targets)
    if not a.targets or a.rounds < 1 or a.duration < 2 or a.workers < 1:
        ap.error("need at least one target, --rounds >= 1, --duration >= 2, --workers >= 1")
    return a


class Stack:
    """nginx, the bare responder, wfhookd and php-fpm, generated into a private directory."""

    def __init__(self, args, sup, run_dir):
        self.args, self.sup, self.run = args, sup, run_dir
        self.prefix = os.path.join(run_dir, "nginx")
        self.pids = {}
        self.logs = {}

    def url(self, t, query=common.QUERY):
        return f"http://127.0.0.1:{self.args.port_base + PORT_OFFSET[t]}/customAction?{query}"

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
        ports = {f"PORT_{t.upper()}": a.port_base + o for t, o in PORT_OFFSET.items()}
        common.fill(os.path.join(common.BENCH, "nginx.conf.in"),
                    os.path.join(self.prefix, "conf", "nginx.conf"),
                    {"USER": "user root root;" if os.geteuid() == 0 else "", "PREFIX": self.prefix,
                     "RUN": run, "PHP_SCRIPT": os.path.join(common.BENCH, "customAction.php"),
                     **ports})
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
        for name in ("bare", "wfhookd", "php"):
            if name in needed:
                common.wait_for(f"{a.workers} {name} workers", lambda n=name: len(
                    common.children(self.pids[n])) >= a.workers, 20, sup)

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

    def fcgi_load_argv(self, key=None):
        return [common.FCGI_LOAD, "-j", "-H", f"apiKey: {key or self.key}",
                "-H", f"username: {common.USERNAME}", "-u", f"/customAction?{common.QUERY}",
                "unix:" + os.path.join(self.run, "wfhookd.sock")]

    def load_argv(self, t, duration):
        a = self.args
        if t == "f":
            return self.fcgi_load_argv() + ["-c", str(a.connections), "-d", str(duration)]
        query = "name=true&documentId=123&documentVersionId=456" if t == "e" else common.QUERY
        return ["wrk", "-t1", f"-c{a.connections}", f"-d{duration:g}s", "--latency",
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


def measure(stack, t, duration, quiet=False):
    """One run of target t: load for `duration` s; CPU sampled over the middle of the run."""
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
    r["rps"] = round(r["rps"], 1)
    if not quiet:
        log(f"  {t} {TARGETS[t]:<28} {r['rps']:>9.0f} req/s  p50 {r['p50_ms']:.3f} ms  "
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


def summarize(results, args):
    for t, res in results["targets"].items():
        runs = res["runs"]
        res["median"] = {k: median_of(runs, k) for k in (
            "rps", "p50_ms", "p99_ms", "nginx_us_per_req", "app_us_per_req", "nginx_cpu_pct",
            "app_cpu_pct", "loadgen_cpu_pct", "other_cpu_pct")}
        res["median"]["rss_max_kib"] = max((r["rss_max_kib"] for r in runs if r.get("rss_max_kib")),
                                           default=None)
        res["errors"] = sum(r["errors"] for r in runs)
        res["non2xx"] = sum(r["non2xx"] for r in runs)
    med = {t: res["median"] for t, res in results["targets"].items()}
    ratios = {}
    for x, y in (("c", "b"), ("c", "d"), ("c", "a"), ("b", "a"), ("b", "d"), ("f", "c")):
        if x in med and y in med and med[y]["rps"]:
            ratios[f"{x}/{y}"] = round(med[x]["rps"] / med[y]["rps"], 3)
    ceiling = results.get("spawn_ceiling")
    if ceiling:
        ceiling["median"] = statistics.median(r["rate"] for r in ceiling["runs"])
        if "e" in med and ceiling["median"]:
            ratios["e/e0"] = round(med["e"]["rps"] / ceiling["median"], 3)
    results["ratios"] = ratios
    # The same ratios round by round (both targets ran back to back, so they shared the same
    # background load): sturdier than the ratio of medians on a busy machine.
    per_round = {}
    for key in ratios:
        x, y = key.split("/")
        if x not in results["targets"] or y not in results["targets"]:
            continue
        rx = {r["round"]: r["rps"] for r in results["targets"][x]["runs"]}
        ry = {r["round"]: r["rps"] for r in results["targets"][y]["runs"]}
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
        met = None if value is None else (value >= limit if op == ">=" else value <= limit)
        goals.append({"goal": f"{key} {op} {limit:g}", "label": label.format(conns=args.connections),
                      "value": value, "met": met})
    results["goals"] = goals


def table_md(results):
    s = results["settings"]
    m = results["machine"]
    lines = [
        f"Run of {results['date']} ({'--quick, ' if s['quick'] else ''}{s['rounds']} round(s) × "
        f"{s['duration']:g} s per target, {s['connections']} connections, {s['workers']} workers "
        f"for b–e; `wrk -t1` through nginx `worker_processes 1`) on {m.get('cpu_model', '?')}, "
        f"{m['nproc']} CPUs, {m.get('memory_mib', 0) // 1024} GiB, kernel {m['kernel']}"
        f"{', ' + m['virtualization'] if m.get('virtualization') else ''}; load average "
        f"{results['loadavg_start'][0]:.2f} at the start. wfhookd {results['versions']['git']}.",
        "",
        "| target | median req/s | req/s per round | p50 ms | p99 ms | nginx µs CPU/req | "
        "worker µs CPU/req | max worker RSS KiB | errors / non-2xx | other load % |",
        "|---|---:|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for t, res in results["targets"].items():
        md = res["median"]
        per = " / ".join(f"{r['rps']:.0f}" for r in res["runs"])
        lines.append(
            f"| ({t}) {TARGETS[t]} | **{md['rps']:,.0f}** | {per} | {fmt(md['p50_ms'], '.2f')} | "
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
    if results["ratios"]:
        lines.append("Ratios of median req/s: " + ", ".join(
            f"{k} = {v:.2f}" for k, v in results["ratios"].items()) + ".")
        lines.append("Round by round (each pair ran back to back): " + "; ".join(
            f"{k} {' / '.join(f'{x:.2f}' for x in v['rounds'])}"
            for k, v in results["ratios_per_round"].items() if k in ("c/b", "c/d", "f/c")) + ".")
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
    lines += ["| goal | value | met |", "|---|---:|---|"]
    for g in results["goals"]:
        v = g["value"]
        vs = "-" if v is None else (f"{v:,.0f}" if abs(v) >= 100 else f"{v:.2f}")
        lines.append(f"| {g['label']}: {g['goal'].split(' ', 1)[1]} | {vs} | "
                     f"{'yes' if g['met'] else ('not measured' if g['met'] is None else '**no**')} |")
    return "\n".join(lines) + "\n"


def chart(results, out_dir):
    dat = os.path.join(out_dir, "chart.dat")
    with open(dat, "w") as f:
        f.write("# i label rps_median rps_min rps_max p50_ms p99_ms\n")
        for i, (t, res) in enumerate(results["targets"].items()):
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
    r = subprocess.run(["gnuplot", "-e", f"datafile='{dat}'; outfile='{png}'; charttitle='{title}'",
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
                                                         if not args.no_instructions else []))
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    out_dir = args.out or os.path.join(common.BENCH, "results", stamp + ("-quick" if args.quick else ""))
    os.makedirs(out_dir, exist_ok=True)
    results = {
        "schema": 1,
        "date": common.now_iso(),
        "settings": {"rounds": args.rounds, "duration": args.duration, "warmup": args.warmup,
                     "workers": args.workers, "connections": args.connections,
                     "targets": args.targets, "quick": args.quick,
                     "load": "wrk -t1 -cC --latency through nginx (a-e); bench/fcgi_load -cC (f)",
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
        stack.start()
        stack.check()
        if args.serve:
            return serve(stack)
        log(f"warm-up: {args.warmup:g} s per target")
        for t in args.targets:
            measure(stack, t, args.warmup, quiet=True)
            truncate_logs(stack)
        for rnd in range(1, args.rounds + 1):
            log(f"round {rnd}/{args.rounds}")
            for t in args.targets:
                r = measure(stack, t, args.duration)
                r["round"] = rnd
                bad = truncate_logs(stack) if APP[t] == "wfhookd" else 0
                if bad:
                    r["wfhookd_non200_logged"] = bad
                results["targets"].setdefault(t, {"label": TARGETS[t], "runs": []})["runs"].append(r)
                sup.check_alive()
                if t == "e":
                    results.setdefault("spawn_ceiling", {"runs": []})["runs"].append(
                        dict(spawn_ceiling(args.duration), round=rnd))
    finally:
        sup.stop_all()
        keep = os.path.join(out_dir, "run")
        shutil.copytree(run_dir, keep, ignore=shutil.ignore_patterns("*.sock", "api-key"),
                        dirs_exist_ok=True)
        shutil.rmtree(run_dir, ignore_errors=True)
    log("stopped nginx, the bare responder, wfhookd and php-fpm")
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
    for name in ("bare", "wfhookd", "php"):
        if name in stack.pids:
            print(f"{name} master {stack.pids[name]} (workers {common.children(stack.pids[name])})")
    print("\nLoad commands:")
    for t in stack.args.targets:
        print(f"  ({t}) {TARGETS[t]}:\n    " + shlex.join(stack.load_argv(t, stack.args.duration)))
    print(flush=True)
    while True:
        time.sleep(3600)


def truncate_logs(stack):
    """Empties wfhookd's log (one line per request) between runs; returns the number of
    request lines whose status was not 200."""
    path = stack.logs.get("wfhookd")
    if not path:
        return 0
    bad = 0
    with open(path, "rb") as f:
        for line in f:
            if b" request " in line and b" status=200 " not in line:
                bad += 1
    os.truncate(path, 0)
    return bad


if __name__ == "__main__":
    common.main_wrapper(main)
