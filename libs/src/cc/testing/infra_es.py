"""Elasticsearch 9.3.2 integ-test-zip from Maven Central, run as a dedicated non-root user."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import zipfile
from pathlib import Path

from cc.testing.infra_common import (
    HOST,
    Component,
    InfraError,
    Settings,
    render,
    run_checked,
    say,
    spawn,
    traversable_by_others,
    write_if_changed,
)
from cc.testing.infra_process import (
    cmdline,
    group_members,
    http_get,
    rotate_log,
)

ES_VERSION = "9.3.2"
ARTIFACT = f"org.elasticsearch.distribution.integ-test-zip:elasticsearch:{ES_VERSION}:zip"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
HEAP = "-Xms1g -Xmx1g"


def security_settings(es_home: Path) -> str:
    """`xpack.security.enabled: false` only if the module exists (else: unknown setting)."""
    if (es_home / "modules" / "x-pack-security").is_dir():
        return "xpack.security.enabled: false"
    return ""


def render_elasticsearch_yml(s: Settings, es_home: Path, state: Path) -> str:
    return render(
        s.infra_dir / "elasticsearch" / "elasticsearch.yml",
        http_port=s.es_port,
        transport_port=s.es_transport_port,
        data_path=state / "data",
        logs_path=state / "logs",
        security_settings=security_settings(es_home),
    )


def extract_zip(archive: Path, dest: Path) -> None:
    """Like `unzip`: keeps the Unix modes (bin/* must stay executable)."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            target = Path(zf.extract(info, dest))
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                target.chmod(mode)


def health_ok(body: bytes) -> bool:
    try:
        return json.loads(body).get("status") in ("green", "yellow")
    except (ValueError, AttributeError):
        return False


class Elasticsearch(Component):
    name = "elasticsearch"
    launch_order = 0  # slowest: launch first

    def ports(self, s: Settings) -> dict[str, int]:
        return {"CC_ES_PORT": s.es_port, "CC_ES_TRANSPORT_PORT": s.es_transport_port}

    def home(self, s: Settings) -> Path:
        return s.cache_dir / f"elasticsearch-{ES_VERSION}"

    def as_root(self) -> bool:
        return os.geteuid() == 0

    def state(self, s: Settings) -> Path:
        """Config, data, logs and tmp of the node; must be writable by the ES user.

        Under the run dir when the ES user can reach it, else under the cache dir with a
        symlink ``<run dir>/elasticsearch`` pointing there.
        """
        in_run = s.state_dir(self.name)
        if not self.as_root() or traversable_by_others(s.run_dir):
            return in_run
        return s.cache_dir / "state" / self.name

    def fetch(self, s: Settings) -> None:
        home = self.home(s)
        if (home / ".fetched").is_file():
            return
        if not shutil.which("mvn"):
            raise InfraError("the ES integ-test-zip comes from Maven Central: install Maven")
        tmp = s.cache_dir / "elasticsearch.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        say(f"elasticsearch: fetching {ARTIFACT} with Maven")
        run_checked(
            ["mvn", "-B", "-q", f"{DEPENDENCY_PLUGIN}:copy", f"-Dartifact={ARTIFACT}",
             f"-DoutputDirectory={tmp}"],
            "mvn dependency:copy (Elasticsearch)",
            cwd=tmp,
        )  # fmt: skip
        archive = tmp / f"elasticsearch-{ES_VERSION}.zip"
        extract_zip(archive, tmp)
        shutil.rmtree(home, ignore_errors=True)
        (tmp / f"elasticsearch-{ES_VERSION}").rename(home)
        shutil.rmtree(tmp)
        (home / ".fetched").write_text(ARTIFACT + "\n")

    def ensure_user(self, s: Settings) -> pwd.struct_passwd:
        try:
            return pwd.getpwnam(s.es_user)
        except KeyError:
            pass
        say(f"elasticsearch: creating system user {s.es_user} (ES refuses to run as root)")
        run_checked(
            ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
             "/nonexistent", "--shell", "/usr/sbin/nologin", s.es_user],
            f"useradd {s.es_user}",
        )  # fmt: skip
        return pwd.getpwnam(s.es_user)

    def prepare(self, s: Settings) -> Path:
        home, state = self.home(s), self.state(s)
        if self.as_root() and not traversable_by_others(home):
            raise InfraError(
                f"{home} is not reachable by user {s.es_user}; "
                "set CC_CACHE_DIR to a world-readable place (not under /root)"
            )
        for sub in ("data", "logs", "tmp"):
            (state / sub).mkdir(parents=True, exist_ok=True)
        conf = state / "config"
        if not (conf / "jvm.options").is_file():
            shutil.copytree(home / "config", conf, dirs_exist_ok=True)
        write_if_changed(conf / "elasticsearch.yml", render_elasticsearch_yml(s, home, state))
        link = s.state_dir(self.name)
        if state != link and not link.is_symlink():
            link.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(link, ignore_errors=True)
            link.symlink_to(state)
        if self.as_root():
            user = self.ensure_user(s)
            for path in [state, *state.rglob("*")]:
                if path.lstat().st_uid != user.pw_uid:
                    os.lchown(path, user.pw_uid, user.pw_gid)
        return state

    def launch(self, s: Settings) -> int:
        java = s.es_java_home / "bin" / "java"
        if not java.is_file():
            raise InfraError(f"ES 9 needs JDK 21+: no {java}; set CC_ES_JAVA_HOME")
        state = self.prepare(s)
        (state / "es.pid").unlink(missing_ok=True)
        rotate_log(s.log_file(self.name))
        env = {
            "ES_JAVA_HOME": str(s.es_java_home),
            "ES_JAVA_OPTS": HEAP,
            "ES_PATH_CONF": str(state / "config"),
            "ES_TMPDIR": str(state / "tmp"),
            "CC_RUN_DIR": str(s.run_dir),  # marks the process as ours (see owned_pid)
        }
        es = [str(self.home(s) / "bin" / "elasticsearch"), "-p", str(state / "es.pid")]
        if self.as_root():
            cmd = ["runuser", "-u", s.es_user, "--", "env", *(f"{k}={v}" for k, v in env.items())]
            return spawn(s, self.name, [*cmd, *es], os.environ, cwd=state)
        return spawn(s, self.name, es, {**os.environ, **env}, cwd=state)

    def probe(self, s: Settings) -> bool:
        url = f"http://{HOST}:{s.es_port}/_cluster/health?wait_for_status=yellow&timeout=1s"
        status, body = http_get(url)
        return status == 200 and health_ok(body)

    def term_pid(self, s: Settings, pid: int) -> int:
        """SIGTERM the launcher CLI (child of runuser): it stops the server JVM through its
        stdin and exits 0. Signalling the server directly works too but the CLI then logs
        "ERROR: Elasticsearch exited unexpectedly"; signalling runuser makes it SIGKILL its
        child after 2 s."""
        for member in group_members(pid):
            if "-Dcli.name=server" in cmdline(member):
                return member
        return pid

    def wipe(self, s: Settings) -> None:
        shutil.rmtree(self.state(s), ignore_errors=True)
        link = s.state_dir(self.name)
        if link.is_symlink():
            link.unlink()
