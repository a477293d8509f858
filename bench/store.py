"""The document store targets of bench/run (docs/performance.md, "The document store").

g to l are loaded with wrk like a to f (bench.py); this module makes the store they read,
starts wfhookd's store instance, finds the ids, checks every answer, and measures m, n and o,
which are not request rates:
  m  the first thumbnail of a 6000x4000 JPEG in a fresh worker (a wfhookd with one worker and
     an empty thumbnail cache, started for it each round): the worker's CPU time (its POSIX
     CPU clock, every thread) and peak RSS (VmHWM) for that one request
  n  nginx alone writes a 256 MiB PUT body to a file (client_body_in_file_only), then 200
  o  the same body to wfhookd's /upload through the operator's /upload location: MB/s, and
     the workers' peak RSS over the uploads (VmHWM, reset before them with clear_refs)
and, right after o in every round:
  o0 the same body written durably to the store's file system the way wfhookd writes an
     upload (64 KiB writes, writeback started every 8 MiB with sync_file_range, fsync at the
     end), from this process: no nginx, no socket, no wfhookd. The disk's rate for o's
     writes, which o (fsync'ed before it answers) cannot beat and n (never synced) does not pay
Uploads are sent one after another by curl -T (the same client for n and o) for the run's
duration, at least one.

The store lives in the run's private directory (data/, never copied into the results): a
folder of 1,000 small files, a 64 MiB file of random bytes, the JPEG (bench/photo.cpp), and,
beside the store, the 256 MiB upload body.
"""

import ctypes
import hashlib
import http.client
import json
import os
import re
import resource
import shutil
import subprocess
import time

import common
from common import BenchError, log

_libc = ctypes.CDLL(None, use_errno=True)
_libc.sync_file_range.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
SYNC_FILE_RANGE_WRITE = 2

FOLDER = "bench-1000"
FOLDER_FILES = 1000
LARGE = "large-64MiB.bin"
LARGE_SIZE = 64 << 20
PHOTO = "photo-6000x4000.jpg"
PHOTO_PIXELS = (6000, 4000)
UPLOAD = "upload-256MiB.bin"
UPLOAD_SIZE = 256 << 20
THUMB_SIZE = 200
# The 64 MiB transfers (j, k) take tens of milliseconds each: a few connections keep nginx
# and wrk busy, and wrk's 2 s default timeout would cut the slowest ones off on a busy machine.
DOWNLOAD_CONNECTIONS = 4
DOWNLOAD_TIMEOUT = "30s"

STORE_TARGETS = "ghijklmno"
# The targets served by wfhookd's store instance, and by nginx alone on the same files.
WFHOOKD_STORE = "giklo"
NGINX_FILES = "hjn"
PHOTO_TOOL = os.path.join(common.BUILD, "bench", "photo")


def write_random(path, size):
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 1 << 20)
            f.write(os.urandom(n))
            left -= n


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


class StoreBench:
    """The store, wfhookd's store instance and the fresh instance of m, for one Stack."""

    def __init__(self, stack):
        self.stack = stack
        self.run = stack.run
        self.data = os.path.join(self.run, "data")
        self.root = os.path.join(self.data, "store")
        self.body = os.path.join(self.data, "upload-body.bin")
        self.ids = {}
        self.conf = self.fresh_conf = None
        self.info = {}

    # -----------------------------------------------------------------------------------------
    # Generation

    def nginx_values(self, snippets):
        """Snippets for the store instance's upstream and the values of nginx.conf.in's store
        placeholders (needed whether or not a store target runs: the template has them)."""
        with open(os.path.join(snippets, "wfhookd-fastcgi.conf")) as f:
            fastcgi = f.read()
        with open(os.path.join(snippets, "wfhookd-locations.conf")) as f:
            locations = f.read()
        include = "include snippets/wfhookd-fastcgi.conf;"
        if locations.count(include) < 2:
            raise BenchError("nginx/wfhookd-locations.conf no longer includes "
                             "snippets/wfhookd-fastcgi.conf in its locations: update bench/store.py")
        with open(os.path.join(snippets, "bench-store-fastcgi.conf"), "w") as f:
            f.write(fastcgi.replace("fastcgi_pass wfhookd;", "fastcgi_pass bench_store;"))
        with open(os.path.join(snippets, "bench-store-locations.conf"), "w") as f:
            f.write(locations.replace(include, "include snippets/bench-store-fastcgi.conf;"))
        # The internal location of X-Accel-Redirect downloads, as nginx/dev.conf.in has it.
        with open(os.path.join(common.ROOT, "nginx", "dev.conf.in")) as f:
            dev = f.read()
        m = re.search(r"^( *)location \^~ /wfhookd-store/ \{\n.*?^\1\}\n", dev, re.M | re.S)
        if not m:
            raise BenchError("nginx/dev.conf.in has no 'location ^~ /wfhookd-store/ { ... }' "
                             "block: update bench/store.py")
        return {"STORE_LOCATION": m.group(0).rstrip("\n").replace("@STORE_ROOT@", self.root),
                "STORE_ROOT": self.root}

    def generate(self, workers):
        """The store's files and both wfhookd configurations."""
        t0 = time.monotonic()
        folder = os.path.join(self.root, FOLDER)
        os.makedirs(folder)
        # Names and sizes like a project folder's documents.
        for i in range(1, FOLDER_FILES + 1):
            with open(os.path.join(folder, f"Report {i:04d} - site survey.txt"), "wb") as f:
                f.write(b"wfhookd benchmark document %d\n" % i * (1 + i % 40))
        write_random(os.path.join(self.root, LARGE), LARGE_SIZE)
        write_random(self.body, UPLOAD_SIZE)
        photo = os.path.join(self.root, PHOTO)
        r = subprocess.run([PHOTO_TOOL, photo, str(PHOTO_PIXELS[0]), str(PHOTO_PIXELS[1])],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise BenchError(f"{PHOTO_TOOL} failed:\n{r.stderr}")
        self.info = {"folder_files": FOLDER_FILES, "large_bytes": LARGE_SIZE,
                     "photo_pixels": "x".join(map(str, PHOTO_PIXELS)),
                     "photo_bytes": os.path.getsize(photo), "upload_bytes": UPLOAD_SIZE,
                     "thumbnail_size": THUMB_SIZE}
        log(f"made the store in {time.monotonic() - t0:.1f} s: {FOLDER_FILES} files in {FOLDER}/, "
            f"{LARGE} ({LARGE_SIZE >> 20} MiB), {PHOTO} ({self.info['photo_bytes'] / 1e6:.1f} MB), "
            f"an upload body of {UPLOAD_SIZE >> 20} MiB")

        fd = os.open(os.path.join(self.run, "link-secret"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        with os.fdopen(fd, "w") as f:
            f.write(os.urandom(48).hex() + "\n")
        cache = os.path.join(self.run, "wfhookd-store-thumbnails")
        self.conf = self.wfhookd_conf("wfhookd-store", workers, cache)
        self.warm_conf = self.wfhookd_conf("wfhookd-warm", 1, cache)
        self.fresh_cache = os.path.join(self.run, "wfhookd-fresh-thumbnails")
        self.fresh_conf = self.wfhookd_conf("wfhookd-fresh", 1, self.fresh_cache)

    def wfhookd_conf(self, name, workers, thumbnails):
        conf = os.path.join(self.run, f"{name}.conf")
        common.fill(os.path.join(common.BENCH, "wfhookd-store.conf.in"), conf,
                    {"RUN": self.run, "NAME": name, "WORKERS": workers, "THUMBNAILS": thumbnails,
                     "USERNAME": common.USERNAME, "STORE_ROOT": self.root})
        check = subprocess.run([common.WFHOOKD, "-t", "-c", conf], capture_output=True, text=True)
        if check.returncode != 0:
            raise BenchError(f"wfhookd -t refused {conf}:\n{check.stderr}")
        return conf

    # -----------------------------------------------------------------------------------------
    # Serving

    def start(self, sup, workers):
        """wfhookd's store instance; returns (process, log path)."""
        p, logp = common.start_wfhookd(sup, self.run, self.conf, name="wfhookd-store")
        common.wait_for("the store instance's workers", lambda: common.file_contains(
            logp, "ready:"), 20, sup)
        return p, logp

    def request(self, t, method, path, auth=True, key=None, body=None, headers=None):
        port = self.stack.port(t)
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        h = dict(headers or {})
        if auth:
            h.update({"apiKey": key or self.stack.key, "username": common.USERNAME})
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
        finally:
            c.close()

    def get_json(self, t, path):
        status, headers, body = self.request(t, "GET", path)
        if status != 200 or not headers.get("content-type", "").startswith("application/json"):
            raise BenchError(f"GET {path} answered {status} {headers} {body[:300]!r}")
        return json.loads(body)

    def discover(self):
        """The ids of the benchmark's items, from /files (whose first listing of the folder
        also gives its 1,000 files their ids), and a new file from /uploadInit for o."""
        by_title = {item["title"]: item for item in self.get_json("g", "/files?max=1000")}
        for name in (FOLDER, LARGE, PHOTO):
            if name not in by_title:
                raise BenchError(f"/files of the root does not list {name}: {sorted(by_title)}")
        self.ids = {"folder": by_title[FOLDER]["id"], "large": by_title[LARGE]["id"],
                    "photo": by_title[PHOTO]["id"]}
        t0 = time.monotonic()
        items = self.get_json("g", f"/files?parentId={self.ids['folder']}&max={FOLDER_FILES}")
        log(f"first /files of {FOLDER}/ (ids for {len(items)} files): "
            f"{(time.monotonic() - t0) * 1000:.0f} ms")
        if len(items) != FOLDER_FILES:
            raise BenchError(f"/files of {FOLDER} listed {len(items)} items, not {FOLDER_FILES}")
        self.ids["metadata"] = items[len(items) // 2]["id"]
        status, headers, body = self.request("o", "POST",
                                             f"/uploadInit?parentId=%2F&filename={UPLOAD}")
        if status != 200:
            raise BenchError(f"/uploadInit answered {status} {body[:300]!r}")
        self.ids["upload"] = json.loads(body)["id"]

    def path(self, t):
        ids = self.ids
        return {
            "g": f"/metadata?id={ids.get('metadata')}",
            "h": f"/autoindex/{FOLDER}/",
            "i": f"/files?parentId={ids.get('folder')}&max={FOLDER_FILES}",
            "j": f"/static/{LARGE}",
            "k": f"/download?id={ids.get('large')}",
            "l": f"/thumbnail?id={ids.get('photo')}&size={THUMB_SIZE}",
            "m": f"/thumbnail?id={ids.get('photo')}&size={THUMB_SIZE}",
            "n": "/body-to-disk",
            "o": f"/upload?id={ids.get('upload')}",
        }[t]

    # -----------------------------------------------------------------------------------------
    # Correctness

    def check(self, targets):
        """Each store target answers what it should (and the wfhookd ones refuse a wrong key)."""
        large_sha = None
        if "l" in targets:
            self.warm_thumbnail(self.stack.sup)
        for t in targets:
            path = self.path(t)
            if t == "g":
                item = self.get_json(t, path)
                if item.get("id") != self.ids["metadata"] or item.get("kind") != "file":
                    raise BenchError(f"target g: /metadata answered {item}")
            elif t in "hi":
                items = self.get_json(t, path)
                if len(items) != FOLDER_FILES:
                    raise BenchError(f"target {t}: {path} listed {len(items)} items")
            elif t in "jk":
                status, headers, body = self.request(t, "GET", path)
                large_sha = large_sha or sha256_file(os.path.join(self.root, LARGE))
                if status != 200 or len(body) != LARGE_SIZE or \
                        hashlib.sha256(body).hexdigest() != large_sha:
                    raise BenchError(f"target {t}: {path} answered {status} with {len(body)} "
                                     f"bytes that are not {LARGE} {headers}")
                if t == "k" and ("x-accel-redirect" in headers or
                                 "attachment" not in headers.get("content-disposition", "")):
                    raise BenchError(f"target k: not a download sent by nginx: {headers}")
            elif t == "l":
                status, headers, body = self.request(t, "GET", path)
                if status != 200 or headers.get("content-type") != "image/jpeg" or \
                        not body.startswith(b"\xff\xd8"):
                    raise BenchError(f"target l: {path} answered {status} {headers} {body[:50]!r}")
            elif t in "no":
                r = self.upload(t)
                if r["status"] != 200 or json.loads(r["answer"]) != {"result": "success"}:
                    raise BenchError(f"target {t}: the upload answered {r['status']} "
                                     f"{r['answer'][:300]!r}")
                if t == "o":
                    stored = os.path.join(self.root, UPLOAD)
                    if os.path.getsize(stored) != UPLOAD_SIZE or \
                            sha256_file(stored) != sha256_file(self.body):
                        raise BenchError(f"target o: {stored} does not hold the uploaded body")
            if t in WFHOOKD_STORE:
                method = "PUT" if t == "o" else "GET"
                status, _, body = self.request(t, method, path, key="wrong-key-wrong-key",
                                               body=b"x" if t == "o" else None)
                if status != 403:
                    raise BenchError(f"target {t} accepted a wrong API key: {status} {body[:200]!r}")
        log(f"every store target answers correctly ({targets})")

    # -----------------------------------------------------------------------------------------
    # Uploads (n, o)

    def upload(self, t):
        """One PUT of the body with curl; its status, answer and curl's own timing."""
        answer = os.path.join(self.run, f"upload-{t}.answer")
        argv = ["curl", "-sS", "-T", self.body, "-H", "Expect:", "-o", answer,
                "-w", "%{http_code} %{size_upload} %{time_total}",
                f"http://127.0.0.1:{self.stack.port(t)}{self.path(t)}"]
        if t == "o":
            argv[1:1] = ["-H", f"apiKey: {self.stack.key}", "-H", f"username: {common.USERNAME}"]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise BenchError(f"curl exited with {r.returncode} uploading to target {t}:\n{r.stderr}")
        code, sent, seconds = r.stdout.split()
        with open(answer, "rb") as f:
            body = f.read()
        return {"status": int(code), "sent": int(float(sent)), "seconds": float(seconds),
                "answer": body}

    def upload_argv(self, t):
        """The command --serve prints."""
        auth = (f"-H 'apiKey: {self.stack.key}' -H 'username: {common.USERNAME}' "
                if t == "o" else "")
        return (f"curl -sS -T {self.body} -H 'Expect:' {auth}-w '%{{http_code}} "
                f"%{{speed_upload}}\\n' 'http://127.0.0.1:{self.stack.port(t)}{self.path(t)}'")

    def measure_uploads(self, t, duration, quiet=False):
        """Uploads one after another for `duration` s (at least one): MB/s over curl's time,
        CPU of nginx and the workers per upload, peak RSS of each over the uploads."""
        nginx, app = self.stack.nginx_pids(t), self.stack.app_pids(t)
        ours = nginx + app
        for pid in ours:
            common.reset_hwm(pid)
        c0 = {pid: common.process_cpu_ns(pid) for pid in ours}
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        m0, t0 = common.machine_ticks(), time.monotonic()
        uploads = []
        while not uploads or time.monotonic() - t0 < duration:
            u = self.upload(t)
            if u["status"] != 200 or u["sent"] != UPLOAD_SIZE:
                raise BenchError(f"target {t}: upload {len(uploads) + 1} answered {u['status']} "
                                 f"after {u['sent']} bytes: {u['answer'][:300]!r}")
            uploads.append(u)
        m1, t1 = common.machine_ticks(), time.monotonic()
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        c1 = {pid: common.process_cpu_ns(pid) for pid in ours}
        hwm = {pid: common.hwm_kib(pid) for pid in ours}

        def cpu_ms(pids):  # per upload
            ns = sum(c1[p] - c0[p] for p in pids if c0.get(p) is not None and c1.get(p) is not None)
            return round(ns / 1e6 / len(uploads), 1)

        curl_s = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
        dm = [b - a for a, b in zip(m0, m1)]
        busy_s = (sum(dm) - dm[3] - dm[4]) / common.CLK_TCK
        ours_s = sum(c1[p] - c0[p] for p in ours if c0.get(p) is not None and
                     c1.get(p) is not None) / 1e9 + curl_s
        seconds = sum(u["seconds"] for u in uploads)
        r = {
            "uploads": len(uploads),
            "bytes": UPLOAD_SIZE * len(uploads),
            "seconds_per_upload": [round(u["seconds"], 3) for u in uploads],
            "mb_s": round(UPLOAD_SIZE * len(uploads) / seconds / 1e6, 1),
            "nginx_cpu_ms_per_upload": cpu_ms(nginx),
            "app_cpu_ms_per_upload": cpu_ms(app) if app else None,
            "loadgen_cpu_ms_per_upload": round(curl_s * 1000 / len(uploads), 1),
            "app_hwm_kib": max((v for p, v in hwm.items() if p in app and v), default=None),
            "nginx_hwm_kib": max((v for p, v in hwm.items() if p in nginx and v), default=None),
            "other_cpu_pct": round(max(0.0, 100 * (busy_s - ours_s) / (t1 - t0)), 1),
        }
        if not quiet:
            log(f"  {t} {self.stack.label(t):<28} {r['mb_s']:>9.1f} MB/s  {len(uploads)} upload(s) "
                f"of {UPLOAD_SIZE >> 20} MiB, {seconds / len(uploads):.2f} s each  cpu/upload nginx "
                f"{r['nginx_cpu_ms_per_upload']} ms worker {r['app_cpu_ms_per_upload'] or '-'} ms  "
                f"peak RSS worker {r['app_hwm_kib'] or '-'} KiB nginx {r['nginx_hwm_kib']} KiB  "
                f"other load {r['other_cpu_pct']:.0f}%")
        return r

    def durable_write_ceiling(self):
        """o0: the body written beside the store (same file system) as Store::replace_content
        writes an upload: 64 KiB writes, sync_file_range(SYNC_FILE_RANGE_WRITE) every 8 MiB,
        fsync; MB/s from the first write to the end of the fsync."""
        out = os.path.join(self.data, "o0-ceiling.bin")
        chunk, flush_every = 64 << 10, 8 << 20
        buf = bytearray(chunk)
        view = memoryview(buf)
        t0 = time.monotonic()
        with open(self.body, "rb", buffering=0) as src:
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o640)
            try:
                written = flushed = 0
                while n := src.readinto(buf):
                    done = 0
                    while done < n:
                        done += os.write(fd, view[done:n])
                    written += n
                    if written - flushed >= flush_every:
                        if _libc.sync_file_range(fd, flushed, written - flushed,
                                                 SYNC_FILE_RANGE_WRITE) != 0:
                            raise BenchError(f"sync_file_range: {os.strerror(ctypes.get_errno())}")
                        flushed = written
                os.fsync(fd)
            finally:
                os.close(fd)
        seconds = time.monotonic() - t0
        os.unlink(out)
        mb_s = round(UPLOAD_SIZE / seconds / 1e6, 1)
        log(f"  o0 the same writes, no nginx       {mb_s:>9.1f} MB/s (no socket, no wfhookd)")
        return {"mb_s": mb_s}

    # -----------------------------------------------------------------------------------------
    # The first thumbnail (m)

    def one_request(self, sup, name, conf, log_name, path):
        """Starts a one-worker instance (`name`: its socket), sends it one request over FastCGI
        (bench/fcgi_load, no nginx), stops it. Returns the worker's CPU time (ns), RSS and
        peak RSS around the request, and fcgi_load's result."""
        p, logp = common.start_wfhookd(sup, self.run, conf, name=log_name)
        try:
            common.wait_for(f"{name}", lambda: common.file_contains(logp, "ready:"), 20, sup)
            common.wait_for(f"{name}'s worker", lambda: common.children(p.pid), 20, sup)
            worker = common.children(p.pid)[0]
            time.sleep(0.2)  # past the worker's own start (opening the store)
            cpu0 = common.process_cpu_ns(worker)
            rss0 = common.rss_kib(worker)
            if not common.reset_hwm(worker):
                raise BenchError(f"cannot reset VmHWM of {worker} (/proc/PID/clear_refs)")
            argv = [common.FCGI_LOAD, "-j", "-n", "1", "-c", "1", "-s", "200", "-t", "60",
                    "-H", f"apiKey: {self.stack.key}", "-H", f"username: {common.USERNAME}",
                    "-u", path, "unix:" + os.path.join(self.run, f"{name}.sock")]
            r = subprocess.run(argv, capture_output=True, text=True)
            cpu1 = common.process_cpu_ns(worker)
            hwm = common.hwm_kib(worker)
            rss1 = common.rss_kib(worker)
            if r.returncode != 0:
                raise BenchError(f"{name}: GET {path} failed:\n{r.stdout}{r.stderr}\n"
                                 f"{common.tail(logp, 5)}")
            if common.children(p.pid) != [worker]:
                raise BenchError(f"{name}: the worker changed during the request")
        finally:
            sup.stop(p)
        return {"cpu_ns": cpu1 - cpu0, "rss0": rss0, "rss1": rss1, "hwm": hwm,
                "load": json.loads(r.stdout.strip().splitlines()[-1])}

    def warm_thumbnail(self, sup):
        """l's thumbnail, made into wfhookd-store's cache by a one-worker instance of its own."""
        self.one_request(sup, "wfhookd-warm", self.warm_conf, "wfhookd-warm", self.path("l"))

    def measure_first_thumbnail(self, sup, label):
        """A wfhookd with one worker and an empty thumbnail cache, one /thumbnail request of the
        JPEG over FastCGI (no nginx: only the worker is measured), its CPU time and peak RSS;
        then the instance is stopped."""
        cache = self.fresh_cache
        shutil.rmtree(cache, ignore_errors=True)
        one = self.one_request(sup, "wfhookd-fresh", self.fresh_conf, f"wfhookd-fresh.{label}",
                               self.path("m"))
        made = [n for n in os.listdir(cache) if n.endswith(".jpg")] if os.path.isdir(cache) else []
        if len(made) != 1:
            raise BenchError(f"target m: the thumbnail cache holds {made}, not one new JPEG")
        hwm, rss0, rss1 = one["hwm"], one["rss0"], one["rss1"]
        res = {"cpu_ms": round(one["cpu_ns"] / 1e6, 1), "hwm_kib": hwm, "rss_before_kib": rss0,
               "rss_after_kib": rss1, "request_ms": round(one["load"]["max_ms"], 1),
               "thumbnail_bytes": os.path.getsize(os.path.join(cache, made[0]))}
        log(f"  m {self.stack.label('m'):<28} worker CPU {res['cpu_ms']:.1f} ms, peak RSS "
            f"{hwm} KiB (before {rss0}, after {rss1}), {res['request_ms']:.0f} ms to answer")
        return res
