"""bench/instructions: user-space instructions and syscalls per /customAction request in one
worker (docs/performance.md).

Instructions: one worker (workers = 1) under `valgrind --tool=callgrind`, driven directly by
bench/fcgi_load with one connection for N requests; a second, identical run with no request is
the baseline (start-up and shutdown). Ir per request = (Ir(N) - Ir(0)) / N, in total and per
function (callgrind_annotate of both runs, subtracted). The same for the bare responder.

Syscalls: the same worker without valgrind, `strace -c -p WORKER` while fcgi_load sends M
requests: calls per request by syscall (wfhookd noop, wfhookd exec /bin/true, bare responder).
"""

import argparse
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import common
from common import BenchError, log

KINDS = {
    "wfhookd": "wfhookd /customAction noop (auth on)",
    "bare": "bare libfcgi responder",
}


def start_server(sup, kind, run_dir, prefix=None):
    """Starts wfhookd or the bare responder with one worker; returns (master, worker, socket)."""
    if kind == "bare":
        sock = os.path.join(run_dir, "bare.sock")
        p = sup.start("bare responder", (prefix or []) + [common.BARE, "-s", sock, "-w", "1"],
                      os.path.join(run_dir, "bare.log"))
        common.wait_for("the bare responder", lambda: common.unix_connectable(sock)
                        and common.children(p.pid), 60, sup)
        time.sleep(1.0)  # let the worker reach FCGX_Accept_r (slow under valgrind)
    else:
        conf, _ = common.wfhookd_conf(run_dir, 1)
        p, logp = common.start_wfhookd(sup, run_dir, conf, prefix)
        sock = os.path.join(run_dir, "wfhookd.sock")
        common.wait_for("wfhookd's worker", lambda: common.file_contains(logp, "ready:"), 120, sup)
    worker = common.children(p.pid)
    if len(worker) != 1:
        raise BenchError(f"{kind}: expected one worker, found {worker}")
    return p, worker[0], sock


def load_argv(kind, sock, key, requests, query=common.QUERY):
    argv = [common.FCGI_LOAD, "-j", "-c", "1", "-n", str(requests), "-t", "60",
            "-u", f"/customAction?{query}", f"unix:{sock}"]
    if kind == "wfhookd":
        argv[1:1] = ["-H", f"apiKey: {key}", "-H", f"username: {common.USERNAME}"]
    return argv


def api_key(run_dir):
    path = os.path.join(run_dir, "api-key")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return f.read().strip()


def drive(kind, sock, run_dir, requests, query=common.QUERY):
    r = subprocess.run(load_argv(kind, sock, api_key(run_dir), requests, query),
                       capture_output=True, text=True, timeout=900)
    try:
        res = json.loads(r.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        raise BenchError(f"fcgi_load failed: {r.stdout}{r.stderr}")
    if res["ok"] != requests:
        raise BenchError(f"{kind}: {res['ok']} of {requests} requests succeeded: {res}")
    return res


def callgrind_total(path):
    with open(path) as f:
        for line in f:
            m = re.match(r"(?:summary|totals):\s+(\d+)", line)
            if m:
                return int(m.group(1))
    raise BenchError(f"{path}: no totals line")


ANNOTATE_LINE = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.+?)\s*$")


def annotate(path, inclusive):
    r = subprocess.run(["callgrind_annotate", "--threshold=100", "--auto=no",
                        f"--inclusive={'yes' if inclusive else 'no'}", path],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise BenchError(f"callgrind_annotate {path}: {r.stderr}")
    out = {}
    for line in r.stdout.splitlines():
        m = ANNOTATE_LINE.match(line)
        if m and "PROGRAM TOTALS" not in line:
            out[m.group(2)] = out.get(m.group(2), 0) + int(m.group(1).replace(",", ""))
    return out


def short_name(fn):
    """'./malloc/malloc.c:_int_free [/usr/lib/.../libc.so.6]' -> '_int_free (libc.so.6)'."""
    m = re.match(r"(?:(.*?):)?(.+?)(?: \[(.+)\])?$", fn)
    name, obj = m.group(2), m.group(3)
    name = re.sub(r"'\d+$", "", name)  # callgrind's recursion levels: f'2 is f
    if name.startswith("0x"):  # no symbol: libfcgi's static functions (Debian strips them)
        name = f"internal function {hex(int(name, 16))}"
    name = re.sub(r"\[abi:cxx11\]", "", name)
    if "(" in name and "operator" not in name:
        name = name[:name.index("(")] + "()"
    lib = os.path.basename(obj) if obj else ""
    return f"{name} [{lib}]" if lib else name


def per_function(loaded, base, requests, top, inclusive):
    """Ir per request by function: the loaded run minus the baseline, divided by the requests.
    callgrind_annotate lists a function once per source file its code came from (inlining),
    sometimes without the object: those entries are summed (self) or the largest is kept
    (inclusive); the entries for the callers above the request loop (inclusive >= 98 % of the
    total: main, _start, ...) are left out."""
    merged = {}
    for k, v in loaded.items():
        d = (v - base.get(k, 0)) / requests
        name = re.sub(r" \[[^\]]*\]$", "", short_name(k))
        lib = re.search(r" \[([^\]]*)\]$", short_name(k))
        cur = merged.get(name, (0.0, ""))
        value = max(cur[0], d) if inclusive else cur[0] + d
        merged[name] = (value, cur[1] or (lib.group(1) if lib else ""))
    total = max((v for v, _ in merged.values()), default=0)
    rows = [(n, v, lib) for n, (v, lib) in merged.items()
            if v > 0 and not (inclusive and v >= 0.98 * total)]
    rows.sort(key=lambda r: -r[1])
    return [{"function": n + (f" [{lib}]" if lib else ""), "ir_per_request": round(v, 1)}
            for n, v, lib in rows[:top]]


GROUPS = [  # (group, pattern on the function name with its [object])
    ("malloc/free", r"^(malloc|free|_int_malloc|_int_free|malloc_consolidate|unlink_chunk|"
                    r"tcache\w*|operator new|operator delete|cfree)\b"),
    ("fmt (formatting)", r"fmt::|\[libfmt"),
    ("libfcgi", r"\[libfcgi"),
    ("libc string functions", r"^__(mem|str)\w+"),
    ("wfhookd / bare responder code", r"\[(wfhookd|bare_responder)\]$"),
]


def by_group(top_self_all):
    out = {}
    for row in top_self_all:
        group = next((g for g, pat in GROUPS if re.search(pat, row["function"])), "other")
        out[group] = out.get(group, 0) + row["ir_per_request"]
    return {k: round(v) for k, v in sorted(out.items(), key=lambda kv: -kv[1])}


def callgrind(kind, requests, out_dir):
    files = {}
    for n in (0, requests):
        run_dir = tempfile.mkdtemp(prefix="wfbench-cg.", dir="/tmp")
        sup = common.Supervisor()
        try:
            pattern = os.path.join(out_dir, f"callgrind.out.{kind}.{n}.%p")
            prefix = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={pattern}"]
            master, worker, sock = start_server(sup, kind, run_dir, prefix)
            if n:
                t0 = time.monotonic()
                res = drive(kind, sock, run_dir, n)
                log(f"  {kind}: {n} requests under callgrind in {time.monotonic() - t0:.1f} s "
                    f"({res['rps']:.0f} req/s)")
            sup.stop(master, timeout=120)
        finally:
            sup.stop_all()
            logp = os.path.join(run_dir, "bare.log" if kind == "bare" else "wfhookd.log")
            if os.path.exists(logp):
                shutil.copy(logp, os.path.join(out_dir, f"{kind}.{n}.log"))
            shutil.rmtree(run_dir, ignore_errors=True)
        path = pattern.replace("%p", str(worker))
        if not os.path.exists(path):
            raise BenchError(f"callgrind wrote no profile for the worker ({path})")
        files[n] = path
    base, loaded = callgrind_total(files[0]), callgrind_total(files[requests])
    per_req = (loaded - base) / requests
    self_all = per_function(annotate(files[requests], False), annotate(files[0], False), requests,
                            100000, False)
    res = {
        "label": KINDS[kind],
        "requests": requests,
        "ir_baseline": base,
        "ir_loaded": loaded,
        "ir_per_request": round(per_req, 1),
        "by_group": by_group(self_all),
        "top_self": self_all[:30],
        "top_inclusive": per_function(annotate(files[requests], True), annotate(files[0], True),
                                      requests, 40, True),
        "profiles": {str(k): os.path.basename(v) for k, v in files.items()},
    }
    return res


STRACE_LINE = re.compile(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:(\d+)\s+)?(\w+)\s*$")


def syscalls(kind, requests, out_dir, query=common.QUERY, label=None):
    run_dir = tempfile.mkdtemp(prefix="wfbench-st.", dir="/tmp")
    sup = common.Supervisor()
    name = label or kind
    out = os.path.join(out_dir, f"strace.{name}.txt")
    try:
        master, worker, sock = start_server(sup, kind, run_dir)
        drive(kind, sock, run_dir, 50, query)  # warm
        st = subprocess.Popen(["strace", "-c", "-q", "-o", out, "-p", str(worker)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.5)
        try:
            drive(kind, sock, run_dir, requests, query)
        finally:
            st.send_signal(signal.SIGINT)
            _, err = st.communicate(timeout=30)
        sup.stop(master)
    finally:
        sup.stop_all()
        shutil.rmtree(run_dir, ignore_errors=True)
    calls = {}
    with open(out) as f:
        for line in f:
            m = STRACE_LINE.match(line)
            if m and m.group(3) != "total":
                calls[m.group(3)] = round(int(m.group(1)) / requests, 2)
    if not calls:
        raise BenchError(f"strace counted nothing ({err.decode(errors='replace').strip()})")
    total = round(sum(calls.values()), 2)
    return {"requests": requests, "per_request": dict(sorted(calls.items(), key=lambda kv: -kv[1])),
            "total_per_request": total}


def measure_all(requests=20000, out_dir=None, kinds=("wfhookd", "bare"), strace_requests=None,
                strace=True):
    out_dir = out_dir or os.path.join(common.BENCH, "results",
                                      time.strftime("instructions-%Y%m%d-%H%M%S", time.gmtime()))
    os.makedirs(out_dir, exist_ok=True)
    strace_requests = strace_requests or max(1000, requests // 4)
    result = {}
    for kind in kinds:
        log(f"callgrind: {KINDS[kind]}, {requests} requests and a no-request baseline")
        result[kind] = callgrind(kind, requests, out_dir)
        log(f"  {kind}: {result[kind]['ir_per_request']:,.0f} Ir per request")
    if strace and shutil.which("strace"):
        sc = {}
        for kind in kinds:
            sc[kind] = syscalls(kind, strace_requests, out_dir)
        if "wfhookd" in kinds:
            sc["wfhookd exec"] = syscalls("wfhookd", max(200, strace_requests // 10), out_dir,
                                          "name=true&documentId=123", "wfhookd-exec")
        for k, v in sc.items():
            log(f"  syscalls per request, {k}: {v['total_per_request']} "
                f"({', '.join(f'{n} {c:g}' for n, c in list(v['per_request'].items())[:12])})")
        result["syscalls"] = sc
    with open(os.path.join(out_dir, "instructions.json"), "w") as f:
        json.dump(result, f, indent=1)
    return result


def report(result):
    kinds = [k for k in KINDS if k in result]
    print()
    for k in kinds:
        r = result[k]
        print(f"{r['label']}: {r['ir_per_request']:,.0f} Ir per request "
              f"({r['requests']} requests; baseline {r['ir_baseline']:,} Ir)")
        print("  " + ", ".join(f"{g} {v:,}" for g, v in r["by_group"].items()))
    for title, key, n in (("self", "top_self", 15), ("inclusive", "top_inclusive", 25)):
        for k in kinds:
            print(f"\nIr per request by function ({title}), {KINDS[k]}:")
            for row in result[k][key][:n]:
                print(f"  {row['ir_per_request']:>9,.0f}  {row['function']}")
    for k, v in result.get("syscalls", {}).items():
        print(f"\nsyscalls per request, {k} ({v['requests']} requests): {v['total_per_request']}")
        for n, c in v["per_request"].items():
            print(f"  {c:>6g}  {n}")


def main():
    ap = argparse.ArgumentParser(prog="bench/instructions", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=20000,
                    help="requests under callgrind (default 20000, a few seconds each)")
    ap.add_argument("--quick", action="store_true", help="3000 requests")
    ap.add_argument("--targets", default="wfhookd,bare", help="wfhookd,bare (default both)")
    ap.add_argument("--no-strace", action="store_true", help="skip the syscall counts")
    ap.add_argument("--out", help="output directory (default bench/results/instructions-DATE)")
    a = ap.parse_args()
    if a.quick:
        a.requests = 3000
    kinds = tuple(k for k in a.targets.split(",") if k)
    if not kinds or any(k not in KINDS for k in kinds) or a.requests < 100:
        ap.error("--targets is a list of wfhookd,bare; --requests at least 100")
    common.require_tools(["valgrind", "callgrind_annotate"] + ([] if a.no_strace else ["strace"]))
    result = measure_all(a.requests, a.out, kinds, strace=not a.no_strace)
    report(result)
    return 0


if __name__ == "__main__":
    common.main_wrapper(main)
