"""The load generator of `shouhu bench load`, run as its own process so its CPU is counted apart from the server's.

`python -m tenant_app.loadbench.client PLAN.json` reads the plan (base URL, tokens, ids, rate, duration), drives
the workload with asyncio + aiohttp over keep-alive connections and writes one JSON report to stdout: every
request's endpoint, start offset, latency and status, its own CPU seconds and the moment of the last write.

Arrivals are paced at `rate` requests/s (0: closed loop, every connection back to back), with at most
`concurrency` requests in flight: when all are in flight the next one waits for a free slot, so a saturated
server lowers the achieved rate (printed) and `behind_s` says how far the schedule slipped. A request's latency
runs from sending it to the end of its response.
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import sys
import time

# endpoint: (weight, role, kind). Reads and writes are judged against different latency targets.
MIX: dict[str, tuple[int, str, str]] = {
    "village.tasks": (20, "village", "read"),
    "village.draft": (14, "village", "write"),
    "village.submit": (2, "village", "write"),
    "village.children": (14, "village", "read"),
    "village.child": (10, "village", "read"),
    "county.progress": (12, "county", "read"),
    "county.overdue": (8, "county", "read"),
    "county.children": (12, "county", "read"),
    "province.dashboard": (8, "province", "read"),
}


# Extra request headers by endpoint: the village app saves drafts as the director types (autosave) and needs only
# the new version back, not the whole task (RFC 7240; tenant_app.tasks.api).
EXTRA_HEADERS: dict[str, dict[str, str]] = {"village.draft": {"Prefer": "return=minimal"}}


def request_headers(name: str, token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **EXTRA_HEADERS.get(name, {})}


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Workload:
    def __init__(self, plan: dict, seed: int = 7):
        self.plan = plan
        self.random = random.Random(seed)
        self.names = list(MIX)
        self.weights = [MIX[name][0] for name in self.names]
        self.villages = plan["villages"]  # [{token, task_id, children: [ids]}]
        self.open_villages = [i for i, v in enumerate(self.villages) if v["task_id"]]
        self.busy: set[int] = set()  # villages with a write in flight: one writer per task at a time
        self.counties = plan["counties"]  # [{code, token}]
        self.province = plan["province"]  # {code, token}
        self.campaign = plan["campaign_id"]
        self.answers = plan["answers"]
        self.last_write = 0.0

    def _writable_village(self) -> int | None:
        for _ in range(8):
            if not self.open_villages:
                return None
            index = self.random.choice(self.open_villages)
            if index not in self.busy:
                return index
        return None

    def next_request(self) -> tuple[str, str, str, dict | None, str, int | None]:
        """(endpoint, method, path, json body, token, village index held for a write)."""
        return self.request_for(self.random.choices(self.names, self.weights)[0])

    def request_for(self, name: str) -> tuple[str, str, str, dict | None, str, int | None]:
        """The next request of endpoint `name` (a write falls back to a task list when no task is open)."""
        if name in ("village.draft", "village.submit"):
            index = self._writable_village()
            if index is None:  # every village has submitted: read instead
                name = "village.tasks"
            else:
                self.busy.add(index)
                village = self.villages[index]
                task = village["task_id"]
                if name == "village.submit":
                    self.open_villages.remove(index)
                    return name, "POST", f"/api/v1/tasks/{task}/submit", {"answers": self.answers}, \
                        village["token"], index
                draft = dict(self.answers, children_visited=self.random.randint(0, 40))
                return name, "PUT", f"/api/v1/tasks/{task}/draft", {"answers": draft}, village["token"], index
        if name.startswith("village."):
            village = self.random.choice(self.villages)
            if name == "village.tasks":
                return name, "GET", "/api/v1/tasks", None, village["token"], None
            if name == "village.children" or not village["children"]:
                return "village.children", "GET", "/api/v1/children", None, village["token"], None
            child = self.random.choice(village["children"])
            return name, "GET", f"/api/v1/children/{child}", None, village["token"], None
        if name.startswith("county."):
            county = self.random.choice(self.counties)
            if name == "county.children":
                return name, "GET", "/api/v1/children", None, county["token"], None
            what = "progress" if name == "county.progress" else "overdue"
            return name, "GET", f"/api/v1/campaigns/{self.campaign}/{what}?unit={county['code']}", None, \
                county["token"], None
        return name, "GET", f"/api/v1/stats/{self.province['code']}", None, self.province["token"], None


async def _request(session, base: str, name: str, method: str, path: str, body, token: str) -> tuple[int, int]:
    headers = request_headers(name, token)
    async with session.request(method, base + path, json=body, headers=headers) as response:
        data = await response.read()
        return response.status, len(data)


async def run_workload(plan: dict) -> dict:
    import aiohttp

    workload = Workload(plan)
    base = plan["base_url"]
    rate = float(plan["rate"])
    duration = float(plan["duration"])
    limit = int(plan["max_requests"])
    concurrency = int(plan["concurrency"])
    timeout = aiohttp.ClientTimeout(total=float(plan.get("request_timeout", 30)))
    results: list[tuple[str, float, float, int]] = []
    samples: list[str] = []
    slots = asyncio.Semaphore(concurrency)
    loop = asyncio.get_running_loop()
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    cpu_before = _cpu_seconds()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = loop.time()
        wall_started = time.monotonic()
        tasks: set[asyncio.Task] = set()
        behind = 0.0

        async def one(scheduled: float):
            try:
                name, method, path, body, token, held = workload.next_request()
                sent = loop.time()
                try:
                    status, _size = await _request(session, base, name, method, path, body, token)
                except Exception as exc:  # noqa: BLE001 - a failed request is an error, not a crash
                    status = 0
                    if len(samples) < 5:
                        samples.append(f"{name}: {type(exc).__name__}: {exc}")
                finally:
                    if held is not None:
                        workload.busy.discard(held)
                done = loop.time()
                if MIX[name][2] == "write":
                    workload.last_write = time.monotonic()
                results.append((name, scheduled - started, done - sent, status))
            finally:
                slots.release()

        i = 0
        while i < limit:
            now = loop.time()
            if now - started >= duration:
                break
            scheduled = started + i / rate if rate > 0 else now
            if scheduled > now:
                await asyncio.sleep(scheduled - now)
            # A free slot first: a saturated server slows the offered rate down (reported as `behind_s`)
            # instead of piling up requests that would still be waiting long after the run.
            await slots.acquire()
            if rate > 0:
                behind = max(behind, loop.time() - scheduled)
            scheduled = loop.time()
            task = asyncio.ensure_future(one(scheduled))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            i += 1
        if tasks:
            await asyncio.wait(tasks)
        elapsed = loop.time() - started
    return {"results": results, "elapsed_s": elapsed, "client_cpu_s": _cpu_seconds() - cpu_before,
            "wall_started": wall_started, "last_write": workload.last_write, "behind_s": behind,
            "error_samples": samples, "submitted": len(workload.villages) - len(workload.open_villages)}


async def run_logins(plan: dict) -> dict:
    """Every account of `logins` asks for a token at the same moment."""
    import aiohttp

    base = plan["base_url"]
    accounts = plan["logins"]
    connector = aiohttp.TCPConnector(limit=len(accounts) or 1)
    timeout = aiohttp.ClientTimeout(total=60)
    cpu_before = _cpu_seconds()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        loop = asyncio.get_running_loop()
        gate = asyncio.Event()

        async def login(username: str):
            await gate.wait()
            started = loop.time()
            try:
                async with session.post(base + "/api/v1/auth/token",
                                        json={"username": username, "password": plan["password"]}) as response:
                    await response.read()
                    status = response.status
            except Exception:  # noqa: BLE001
                status = 0
            return loop.time() - started, status

        pending = [asyncio.ensure_future(login(name)) for name in accounts]
        await asyncio.sleep(0.05)
        gate.set()
        answers = await asyncio.gather(*pending)
    return {"latencies": [a[0] for a in answers], "statuses": [a[1] for a in answers],
            "client_cpu_s": _cpu_seconds() - cpu_before}


def main(argv: list[str]) -> int:
    with open(argv[1], encoding="utf-8") as fh:
        plan = json.load(fh)
    mode = argv[2] if len(argv) > 2 else "workload"
    report = asyncio.run(run_logins(plan) if mode == "logins" else run_workload(plan))
    json.dump(report, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
