"""`posthorn serve --database postgres://…` end to end against a real PostgreSQL server.

Usage:
    python3 scripts/interop/postgres_serve.py PATH_TO_POSTHORN

Starts a throwaway PostgreSQL cluster (Debian's `postgresql` package: `initdb` into a temporary
directory — as the `postgres` user when run as root —, 127.0.0.1 on a free port, stopped at the
end whatever happens), makes a database with C collation, and checks that:
- serve migrates it, answers /healthz and /readyz, and a webhook flow sends through aiosmtpd
  (STARTTLS + AUTH) with the run kept in PostgreSQL;
- a CLI command with `POSTHORN_DATABASE_URL` (or `--database`) sees the same data;
- a restarted server finds everything (no SQLite file is made in the data directory);
- /readyz says 503 while the database is stopped, and 200 again once it is back;
- a database with another collation is refused at start, naming the fix.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import smtp_aiosmtpd as fixture  # noqa: E402
from server_curl import Checks  # noqa: E402
from smtp_node_e2e import call  # noqa: E402

ADMIN = "pg-admin-token-0123456789abcdef0123456789"


class Cluster:
    """A throwaway PostgreSQL cluster on 127.0.0.1."""

    def __init__(self, root: Path) -> None:
        versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not versions:
            raise SystemExit("PostgreSQL is not installed (apt-get install postgresql)")
        self.bin = Path(versions[-1]).parent
        self.root = root
        self.data = root / "data"
        self.port = fixture.free_port("127.0.0.1")
        self.prefix: list[str] = []
        if os.getuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(root, user.pw_uid, user.pw_gid)
            self.prefix = ["runuser", "-u", "postgres", "--"]

    def run(self, *command: str) -> subprocess.CompletedProcess:
        return subprocess.run([*self.prefix, *command], capture_output=True, text=True, timeout=120)

    def init(self) -> None:
        made = self.run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "posthorn", "--locale=C", "-E", "UTF8", "--no-sync")
        if made.returncode != 0:
            raise SystemExit(made.stdout + made.stderr)

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off"
        started = self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-o", options, "start")
        if started.returncode != 0:
            raise SystemExit(started.stdout + started.stderr)

    def stop(self) -> None:
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def sql(self, statement: str) -> subprocess.CompletedProcess:
        return self.run(str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "posthorn", "-d", "postgres",
                        "-v", "ON_ERROR_STOP=1", "-c", statement)

    def url(self, database: str) -> str:
        return f"postgres://posthorn@127.0.0.1:{self.port}/{database}?sslmode=disable"


def serve(binary: str, data_dir: Path, url: str, port: int, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTHORN_")}
    env["POSTHORN_ADMIN_TOKEN"] = ADMIN
    with open(log, "ab") as out:
        return subprocess.Popen([binary, "serve", "--data-dir", str(data_dir), "--database", url, "--port", str(port),
                                 "--allow-private-egress", "127.0.0.1"], stdout=subprocess.DEVNULL, stderr=out, env=env)


def wait_ready(base: str, server: subprocess.Popen) -> bool:
    for _ in range(600):
        if server.poll() is not None:
            return False
        try:
            if call(base, "GET", "/readyz")[0] == 200:
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def stop(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()


def main() -> int:
    binary = sys.argv[1]
    checks = Checks()
    with tempfile.TemporaryDirectory(prefix="posthorn-pg-") as tmp:
        tmp_path = Path(tmp)
        os.chmod(tmp_path, 0o711)  # the postgres user must reach its directory inside
        pg_root = tmp_path / "pg"
        pg_root.mkdir()
        cluster = Cluster(pg_root)
        cluster.init()
        cluster.start()
        server = None
        smtp = None
        try:
            made = cluster.sql("CREATE DATABASE posthorn TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'")
            checks.check("a database with C collation is made", made.returncode == 0, made.stderr)
            url = cluster.url("posthorn")
            data_dir = tmp_path / "data"
            port = fixture.free_port("127.0.0.1")
            base = f"http://127.0.0.1:{port}"
            log = tmp_path / "server.log"
            server = serve(binary, data_dir, url, port, log)
            checks.check("serve --database migrates PostgreSQL and answers /readyz 200", wait_ready(base, server), log.read_text()[-2000:])
            status, health, _ = call(base, "GET", "/healthz")
            checks.check("/healthz answers ok", status == 200 and health.get("status") == "ok", health)
            tables = cluster.run(str(cluster.bin / "psql"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "posthorn", "-d", "posthorn",
                                 "-At", "-c", "SELECT count(*) FROM schema_migrations")
            checks.check("the migrations are recorded in PostgreSQL", tables.returncode == 0 and int(tables.stdout.strip() or 0) >= 11, tables.stdout + tables.stderr)

            pki = fixture.make_pki(tmp_path)
            recorder = fixture.Recorder()
            smtp = fixture.start(recorder, "127.0.0.1", tls_context=fixture.server_context(pki["good"], pki["good.key"]),
                                 require_starttls=True, auth_required=True, auth_require_tls=True)
            _, created, _ = call(base, "POST", "/api/v1/workspaces", ADMIN, {"name": "pg"})
            token = created.get("token", "")
            _, credential, text = call(base, "POST", "/api/v1/credentials", token, {
                "name": "aiosmtpd", "host": "localhost", "port": smtp.port, "security": "starttls",
                "username": fixture.USER, "password": fixture.PASSWORD, "caCertificate": pki["ca"].read_text()})
            status, flow, text = call(base, "POST", "/api/v1/flows", token, {
                "name": "hello", "trigger": {"type": "webhook"},
                "steps": [{"id": "send", "type": "smtp.send", "parameters": {
                    "credential": credential.get("id", ""), "from": "mailer@example.com", "to": "{{trigger.body.email}}",
                    "subject": "Hello from PostgreSQL", "body": "Hi {{trigger.body.name}}"}}]})
            checks.check("a webhook flow is created", status == 201, text)
            status, accepted, text = call(base, "POST", f"/hooks/{flow.get('trigger', {}).get('webhookId', '')}", None,
                                          {"email": "ada@example.com", "name": "Ada"})
            run_id = accepted.get("runId", "")
            run: dict = {}
            for _ in range(300):
                _, run, _ = call(base, "GET", f"/api/v1/runs/{run_id}", token)
                if run.get("status") in ("succeeded", "failed", "ambiguous"):
                    break
                time.sleep(0.1)
            checks.check("the run succeeds and aiosmtpd gets the message", run.get("status") == "succeeded"
                         and len(recorder.deliveries) == 1 and recorder.deliveries[0].rcpt_tos == ["ada@example.com"], run)
            stored = cluster.run(str(cluster.bin / "psql"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "posthorn", "-d", "posthorn",
                                 "-At", "-c", f"SELECT status FROM runs WHERE id = '{run_id}'")
            checks.check("the run is stored in PostgreSQL", stored.stdout.strip() == "succeeded", stored.stdout + stored.stderr)
            checks.check("no SQLite file is made in the data directory", not (data_dir / "posthorn.sqlite").exists(),
                         sorted(p.name for p in data_dir.iterdir()) if data_dir.exists() else None)

            env = {k: v for k, v in os.environ.items() if not k.startswith("POSTHORN_")}
            env["POSTHORN_DATABASE_URL"] = url
            listed = subprocess.run([binary, "credential", "list", "--workspace", "pg", "--data-dir", str(data_dir)],
                                    capture_output=True, text=True, env=env, timeout=60)
            checks.check("a CLI command with POSTHORN_DATABASE_URL sees the server's credential", listed.returncode == 0 and "aiosmtpd" in listed.stdout,
                         listed.stdout[-500:] + listed.stderr[-500:])

            stop(server)
            server = serve(binary, data_dir, url, port, log)
            ready = wait_ready(base, server)
            _, again, _ = call(base, "GET", f"/api/v1/runs/{run_id}", token)
            checks.check("a restarted server finds the run", ready and again.get("status") == "succeeded", again)

            cluster.stop()
            status, body, _ = call(base, "GET", "/readyz")
            checks.check("/readyz is 503 unavailable while the database is down (and /healthz still 200)",
                         status == 503 and body.get("status") == "unavailable" and call(base, "GET", "/healthz")[0] == 200, (status, body))
            cluster.start()
            back = False
            for _ in range(200):
                if call(base, "GET", "/readyz")[0] == 200:
                    back = True
                    break
                time.sleep(0.05)
            checks.check("/readyz is 200 again once the database is back", back)
            stop(server)
            server = None

            made = cluster.sql("CREATE DATABASE localized TEMPLATE template0 LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")
            refused = subprocess.run([binary, "credential", "list", "--data-dir", str(tmp_path / "other"), "--database", cluster.url("localized")],
                                     capture_output=True, text=True, env=env, timeout=60)
            checks.check("a database with another collation is refused, naming the fix",
                         made.returncode == 0 and refused.returncode != 0 and "LC_COLLATE 'C'" in refused.stderr, (made.stderr, refused.stderr[-500:]))
        finally:
            if server is not None:
                stop(server)
            if smtp is not None:
                smtp.stop()
            cluster.stop()
            shutil.rmtree(pg_root, ignore_errors=True)
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
