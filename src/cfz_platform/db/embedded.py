"""The embedded PostgreSQL cluster: a private server under ``.cfz/`` that the project runs itself.

PostgreSQL refuses to run as root, and CI runs as root, so when we are root the server
runs as the ``postgres`` system user in a data directory that user owns. Everything the
cluster needs to be found again (port, passwords, data directory) lives in
``.cfz/cluster.json`` (mode 0600).

``.cfz/`` itself stays owned by the invoking user (mode 0711: the server user may pass
through it, not list or write it): it holds pid and state files that root acts on (``cfz
prefect stop`` signals the pid in ``.cfz/prefect-server.json``), so the server user must not
be able to replace them. The server user owns only its data directory and its log file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from cfz_platform.config import state_dir

log = logging.getLogger(__name__)

SERVER_USER = "postgres"
_PG_BIN_CANDIDATES = [
    "/usr/lib/postgresql/17/bin",
    "/usr/lib/postgresql/16/bin",
    "/usr/lib/postgresql/15/bin",
    "/usr/lib/postgresql/14/bin",
]
_SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "max_connections": "200",
    "shared_buffers": "256MB",
    "work_mem": "32MB",
    "maintenance_work_mem": "256MB",
    "synchronous_commit": "off",
    "checkpoint_timeout": "15min",
    "log_min_messages": "warning",
}
#: WAL sized for a laptop: checkpoints by size every 512MB at most (a full build of the
#: 1,000-subject trial writes a few GB of WAL: a checkpoint every few seconds of it), at most
#: 64MB of old segments recycled, none kept for replicas (there are none). Applied at every
#: start, so a cluster created with the old 4GB keeps no more than this either.
WAL_SETTINGS = {
    "max_wal_size": "512MB",
    "min_wal_size": "64MB",
    "wal_keep_size": "0",
}
#: Values earlier versions wrote into postgresql.auto.conf, replaced at the next start.
_RETIRED_SETTINGS = {"max_wal_size": {"4GB"}}


class EmbeddedClusterError(RuntimeError):
    """The embedded cluster could not be created or started; the message says why."""


@dataclass
class ClusterInfo:
    """What we remember about the embedded cluster between commands."""

    data_dir: str
    port: int
    superuser_password: str
    owner_password: str
    bi_password: str

    @property
    def log_file(self) -> Path:
        """Server log, beside the data directory (the server user must be able to write it)."""
        return Path(self.data_dir + ".log")


def find_pg_bin() -> Path:
    """Locate the PostgreSQL server binaries (``initdb``, ``pg_ctl``).

    Steps: honour ``CFZ_PG_BIN``; else the Debian layout, newest first; else ``pg_ctl`` on PATH.
    """
    env = os.environ.get("CFZ_PG_BIN")
    candidates = [env] if env else []
    candidates += _PG_BIN_CANDIDATES
    for cand in candidates:
        if cand and (Path(cand) / "pg_ctl").exists() and (Path(cand) / "initdb").exists():
            return Path(cand)
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    raise EmbeddedClusterError(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them "
        "(Debian: `apt-get install -y postgresql`) or set CFZ_PG_BIN to their folder, "
        "or point the platform at an existing server with CFZ_DATABASE_URL."
    )


def _is_root() -> bool:
    return os.geteuid() == 0


def _as_server_user(cmd: list[str]) -> list[str]:
    if _is_root():
        return ["runuser", "-u", SERVER_USER, "--", *cmd]
    return cmd


def _info_path() -> Path:
    return state_dir() / "cluster.json"


def load_info() -> ClusterInfo | None:
    path = _info_path()
    if not path.exists():
        return None
    return ClusterInfo(**json.loads(path.read_text()))


def _save_info(info: ClusterInfo) -> None:
    path = _info_path()
    path.write_text(json.dumps(asdict(info), indent=2))
    path.chmod(0o600)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _server_user_can_traverse(path: Path) -> bool:
    if not _is_root():
        return True
    probe = subprocess.run(
        ["runuser", "-u", SERVER_USER, "--", "test", "-x", str(path)], capture_output=True
    )
    return probe.returncode == 0


def secure_state_dir() -> None:
    """Keep ``.cfz/`` owned by the invoking user, traversable but not writable by others.

    Steps (as root): give ``.cfz`` back to the invoking user if another user owns it (older
    versions handed it to the server user) and set mode 0711. Files in it stay the user's;
    the server user keeps what it owns (data directory, log).
    """
    path = state_dir()
    st = path.stat()
    if st.st_uid != os.getuid():
        with contextlib.suppress(OSError):
            os.chown(path, os.getuid(), os.getgid())
    with contextlib.suppress(OSError):
        os.chmod(path, 0o711)


def _choose_data_dir() -> Path:
    """``.cfz/pgdata`` when the server user can reach it, else a folder under /var/tmp."""
    preferred = state_dir() / "pgdata"
    if _is_root():
        # the server user must be able to pass through .cfz to its data directory
        secure_state_dir()
        if not _server_user_can_traverse(state_dir()):
            import hashlib

            tag = hashlib.sha1(str(state_dir()).encode()).hexdigest()[:10]
            fallback = Path("/var/tmp") / f"cfz-pgdata-{tag}"
            log.warning(
                "the postgres user cannot reach %s; keeping the cluster in %s",
                state_dir(),
                fallback,
            )
            return fallback
    return preferred


def _run(cmd: list[str], what: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(_as_server_user(cmd), capture_output=True, text=True)
    if proc.returncode != 0:
        raise EmbeddedClusterError(
            f"{what} failed ({' '.join(cmd[:2])}): {proc.stderr.strip() or proc.stdout.strip()}"
        )
    return proc


def _init_cluster() -> ClusterInfo:
    pg_bin = find_pg_bin()
    if _is_root():
        try:
            import pwd

            pwd.getpwnam(SERVER_USER)
        except KeyError as exc:
            raise EmbeddedClusterError(
                f"running as root but there is no '{SERVER_USER}' system user to run the server; "
                "install Debian's postgresql package (it creates the user) or run as a normal user"
            ) from exc
    data_dir = _choose_data_dir()
    info = ClusterInfo(
        data_dir=str(data_dir),
        port=_free_port(),
        superuser_password=secrets.token_urlsafe(18),
        owner_password=secrets.token_urlsafe(18),
        bi_password=secrets.token_urlsafe(12),
    )
    if data_dir.exists() and (data_dir / "PG_VERSION").exists():
        raise EmbeddedClusterError(
            f"{data_dir} already holds a cluster but .cfz/cluster.json is missing; "
            "remove the folder to start afresh"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    if _is_root():
        subprocess.run(["chown", f"{SERVER_USER}:", str(data_dir)], check=True)
    # a private temporary file, not in .cfz (which the server user may not write)
    pwfile = Path(f"/tmp/.cfz-initdb-{secrets.token_hex(8)}.pw")
    fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(info.superuser_password + "\n")
    if _is_root():
        subprocess.run(["chown", f"{SERVER_USER}:", str(pwfile)], check=True)
    log.info("initialising a PostgreSQL cluster in %s", data_dir)
    try:
        _run(
            [
                str(pg_bin / "initdb"),
                "-D",
                str(data_dir),
                "-U",
                "postgres",
                "--pwfile",
                str(pwfile),
                "--auth-host=scram-sha-256",
                "--auth-local=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
            "initdb",
        )
    finally:
        pwfile.unlink(missing_ok=True)
    conf_lines = [
        f"{key} = '{value}'" for key, value in {**_SERVER_SETTINGS, **WAL_SETTINGS}.items()
    ]
    conf_lines.append(f"unix_socket_directories = '{data_dir}'")
    auto_conf = "\n".join(conf_lines) + "\n"
    conf_file = data_dir / "postgresql.auto.conf"
    with open(conf_file, "a") as fh:
        fh.write(auto_conf)
    _save_info(info)
    return info


def compute_wal_conf_lines(conf_text: str) -> list[str]:
    """Lines to append to a ``postgresql.auto.conf`` so that it sizes WAL as ``WAL_SETTINGS``.

    Steps: read the last assignment of each WAL setting in the file (later lines win); a
    setting that is absent, or still holds a value an earlier version wrote
    (``_RETIRED_SETTINGS``), gets a line; one set otherwise (``ALTER SYSTEM`` by the user) is
    left alone.
    """
    current: dict[str, str] = {}
    for line in conf_text.splitlines():
        m = re.match(r"\s*([a-z_]+)\s*=\s*'?([^'#]*)'?", line)
        if m:
            current[m.group(1)] = m.group(2).strip()
    return [
        f"{key} = '{value}'"
        for key, value in WAL_SETTINGS.items()
        if key not in current or current[key] in _RETIRED_SETTINGS.get(key, set())
    ]


def _apply_wal_settings(info: ClusterInfo) -> None:
    """Append what ``compute_wal_conf_lines`` asks for (the server is stopped)."""
    conf_file = Path(info.data_dir) / "postgresql.auto.conf"
    try:
        lines = compute_wal_conf_lines(conf_file.read_text())
    except OSError:  # another user's data directory: its server applies its own file
        return
    if lines:
        with open(conf_file, "a") as fh:
            fh.write("\n".join(lines) + "\n")


def compute_postmaster_alive(pid_file_text: str, pid_alive) -> bool | None:
    """Whether the server of a data directory runs, from its ``postmaster.pid`` text.

    Steps (what ``pg_ctl status`` does): the first line is the postmaster's pid; a positive
    pid is running when ``pid_alive(pid)`` says so; anything else (empty, garbled, a
    single-user backend's negative pid) is None: ask ``pg_ctl``.
    """
    first = pid_file_text.split("\n", 1)[0].strip()
    if not first.isdigit() or int(first) <= 0:
        return None
    return pid_alive(int(first))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def is_running(info: ClusterInfo | None = None) -> bool:
    """True when the embedded server runs.

    Steps: read ``postmaster.pid`` in the data directory and check its pid
    (``compute_postmaster_alive``: a file read, no process started; this runs on every
    connect); no such file means not running; when the file cannot be read or judged
    (another user's data directory, a single-user backend) ask ``pg_ctl status`` as the
    server user.
    """
    info = info or load_info()
    if info is None:
        return False
    try:
        text = (Path(info.data_dir) / "postmaster.pid").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        text = ""
    alive = compute_postmaster_alive(text, _pid_alive)
    if alive is not None:
        return alive
    pg_bin = find_pg_bin()
    proc = subprocess.run(
        _as_server_user([str(pg_bin / "pg_ctl"), "-D", info.data_dir, "status"]),
        capture_output=True,
        text=True,
    )
    return proc.returncode == 0


def start() -> tuple[ClusterInfo, bool]:
    """Create (first time) and start the cluster. Returns (info, started_now).

    Steps:
    1. initialise the data directory when ``.cfz/cluster.json`` does not exist yet;
    2. if the server is already running, return at once (idempotent);
    3. if the remembered port is now taken by something else, pick a new free port;
    4. size WAL for a laptop (``WAL_SETTINGS``; an older cluster's 4GB is replaced);
    5. ``pg_ctl start -w`` as the server user, with the log beside the data directory.

    A file lock makes concurrent starts (parallel test workers) safe.
    """
    import fcntl

    with open(state_dir() / ".start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _start_locked()


def _start_locked() -> tuple[ClusterInfo, bool]:
    if _is_root():
        secure_state_dir()
    info = load_info() or _init_cluster()
    if is_running(info):
        return info, False
    if _port_in_use(info.port):
        info.port = _free_port()
        _save_info(info)
    _apply_wal_settings(info)
    pg_bin = find_pg_bin()
    log_file = info.log_file
    log_file.touch()
    if _is_root():
        subprocess.run(["chown", f"{SERVER_USER}:", str(log_file)], check=False)
    _run(
        [
            str(pg_bin / "pg_ctl"),
            "-D",
            info.data_dir,
            "-l",
            str(log_file),
            "-o",
            f"-p {info.port}",
            "-w",
            "-t",
            "60",
            "start",
        ],
        "starting PostgreSQL",
    )
    _wait_ready(info)
    return info, True


def _wait_ready(info: ClusterInfo, timeout: float = 30.0) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(
                host="127.0.0.1",
                port=info.port,
                user="postgres",
                password=info.superuser_password,
                dbname="postgres",
                connect_timeout=3,
            ):
                return
        except psycopg.OperationalError as exc:
            last = exc
            time.sleep(0.3)
    raise EmbeddedClusterError(f"PostgreSQL did not accept connections on port {info.port}: {last}")


def stop() -> bool:
    """Stop the cluster (fast shutdown). Returns False when it was not running."""
    info = load_info()
    if info is None or not is_running(info):
        return False
    pg_bin = find_pg_bin()
    _run(
        [str(pg_bin / "pg_ctl"), "-D", info.data_dir, "-m", "fast", "-w", "stop"],
        "stopping PostgreSQL",
    )
    return True
