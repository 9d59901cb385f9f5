"""Nothing acknowledged is lost: SIGKILL `posthorn serve` in the middle of a webhook load, start it
again on the same data directory, and check that every run that got a 202 completes.

Usage:
    python3 scripts/checks/crash_recovery.py PATH_TO_POSTHORN

Eight client threads post to a webhook flow (debug.echo) over keep-alive connections and record
the run id of every 202. After about a second of load the server is killed with SIGKILL (no
graceful shutdown: queued and running runs are cut off mid-flight), restarted, and the database
is read until no run is queued or running. Exits 1 unless every acknowledged run id is stored
and succeeded.
"""

from __future__ import annotations

import http.client
import json
import signal
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench" / "flows"))
import webhook_load as load  # noqa: E402  (server start, workspace and flow set-up)


def main() -> int:
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="posthorn-crash-") as tmp:
        work = Path(tmp)
        data = work / "data"
        port = load.free_port()
        server = load.start_server(binary, data, port, work / "server.log")
        _, hook = load.webhook_flow(f"http://127.0.0.1:{port}")
        acknowledged: list[str] = []
        lock = threading.Lock()
        stop = threading.Event()

        def client(index: int) -> None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    connection.request("POST", f"/hooks/{hook}", body=json.dumps({"name": f"c{index}", "n": n}),
                                       headers={"Content-Type": "application/json"})
                    response = connection.getresponse()
                    payload = response.read()
                    if response.status == 202:
                        with lock:
                            acknowledged.append(json.loads(payload)["runId"])
                except (OSError, http.client.HTTPException):
                    return  # the server died: nothing more is acknowledged on this connection

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(8)]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        server.send_signal(signal.SIGKILL)
        server.wait()
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        with lock:
            ids = list(acknowledged)
        database = data / "posthorn.sqlite"
        with sqlite3.connect(database, timeout=10) as db:
            pending_at_kill = db.execute("SELECT COUNT(*) FROM runs WHERE status IN ('queued','running')").fetchone()[0]

        server = load.start_server(binary, data, port, work / "server.log")
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as db:
                    left = db.execute("SELECT COUNT(*) FROM runs WHERE status IN ('queued','running')").fetchone()[0]
                if left == 0:
                    break
                time.sleep(0.2)
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as db:
                db.execute("CREATE TEMP TABLE acked(id TEXT PRIMARY KEY)")
                db.executemany("INSERT INTO acked VALUES (?)", [(i,) for i in ids])
                stored = db.execute("SELECT COUNT(*) FROM acked JOIN runs USING (id)").fetchone()[0]
                succeeded = db.execute(
                    "SELECT COUNT(*) FROM acked JOIN runs USING (id) WHERE runs.status = 'succeeded'").fetchone()[0]
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        print(f"acknowledged before SIGKILL: {len(ids)}; queued or running at the kill: {pending_at_kill}; "
              f"stored: {stored}; succeeded after restart: {succeeded}")
        ok = len(ids) > 0 and stored == len(ids) and succeeded == len(ids) and pending_at_kill > 0
        if pending_at_kill == 0:
            print("the kill found nothing in flight: the check proves nothing; load harder")
        print("ok" if ok else "FAIL: an acknowledged run was lost or did not complete")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
