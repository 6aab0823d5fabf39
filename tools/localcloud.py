#!/usr/bin/env python3
# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""A real, throw-away Keystone and Glance on 127.0.0.1 for osc-imagex tests.

Everything lives under ``$IMAGEX_CLOUD_DIR`` (default ``<repo>/.cloud``):

    venv/            keystone, glance and uwsgi installed from PyPI
    etc/             generated configuration, WSGI entry files, SQLite hook
    data/            SQLite databases, fernet/credential keys, image files
    log/             keystone.log, glance.log, install.log, setup.log
    run/             keystone.pid, glance.pid
    cloud.json       connection details for other code (mode 0600)
    clouds.yaml      cloud ``imagex-local`` (admin) and ``imagex-local-demo``
    secrets.json     generated passwords, kept across ``down --wipe``

Only the Python standard library is used here, so any python3 >= 3.10 can run
it.  Servers listen on 127.0.0.1 only and are stopped by the PIDs recorded in
the pid files, never by name.

Usage: python3 tools/localcloud.py {install,up,seed,seed-bulk,unseed-bulk,
       down,start-service,stop-service,status,env,password}
"""

import argparse
import contextlib
import hashlib
import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Linux
    fcntl = None

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLOUD = os.path.abspath(
    os.environ.get("IMAGEX_CLOUD_DIR") or os.path.join(REPO, ".cloud")
)
VENV = os.path.join(CLOUD, "venv")
VBIN = os.path.join(VENV, "bin")
ETC = os.path.join(CLOUD, "etc")
DATA = os.path.join(CLOUD, "data")
LOGDIR = os.path.join(CLOUD, "log")
RUN = os.path.join(CLOUD, "run")
CLOUD_JSON = os.path.join(CLOUD, "cloud.json")
CLOUDS_YAML = os.path.join(CLOUD, "clouds.yaml")
SECRETS = os.path.join(CLOUD, "secrets.json")
INSTALL_MARKER = os.path.join(VENV, ".imagex-installed")
CONSTRAINTS = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "localcloud-constraints.txt"
)

HOST = "127.0.0.1"


def _port(service, variable, default):
    """The port asked for, else the one this cloud was set up with"""
    if os.environ.get(variable):
        return int(os.environ[variable])
    try:
        with open(CLOUD_JSON) as f:
            return int(json.load(f)["ports"][service])
    except (OSError, ValueError, KeyError, TypeError):
        return default


KEYSTONE_PORT = _port("keystone", "IMAGEX_KEYSTONE_PORT", 25000)
GLANCE_PORT = _port("glance", "IMAGEX_GLANCE_PORT", 25292)
PORTS = {"keystone": KEYSTONE_PORT, "glance": GLANCE_PORT}
SERVICES = ("keystone", "glance")
REGION = "RegionOne"
CLOUD_NAME = "imagex-local"

# The top-level packages; exact versions of everything come from
# tools/localcloud-constraints.txt (set IMAGEX_CLOUD_UNPINNED=1 to ignore it).
PACKAGES = ["keystone", "glance", "uwsgi"]

KEYSTONE_URL = "http://%s:%d" % (HOST, KEYSTONE_PORT)
AUTH_URL = KEYSTONE_URL + "/v3"
GLANCE_URL = "http://%s:%d" % (HOST, GLANCE_PORT)

IMAGE_DIR = os.path.join(DATA, "images")
DEMO_IMAGES = [
    # name, visibility, virtual size (bytes) of the generated qcow2
    ("cirros-0.5.2-x86_64-disk", "public", 112 * 1024 * 1024),
    ("cirros-0.6.1-x86_64-disk", "public", 117 * 1024 * 1024),
    ("trove-guest-ubuntu-focal", "shared", 2 * 1024 * 1024 * 1024),
]
SHARED_IMAGE = "trove-guest-ubuntu-focal"
BULK_MARK = "imagex_bulk"


class CloudError(Exception):
    pass


def say(msg):
    print("localcloud: " + msg, flush=True)


def path(*parts):
    return os.path.join(*parts)


def write_file(name, text, mode=0o644):
    os.makedirs(os.path.dirname(name), exist_ok=True)
    tmp = name + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, name)


def read_json(name, default=None):
    try:
        with open(name) as f:
            return json.load(f)
    except FileNotFoundError:
        return default
    except ValueError as e:
        raise CloudError("%s is not valid JSON: %s" % (name, e))


@contextlib.contextmanager
def cloud_lock():
    """Serialise the commands that change the cloud."""
    os.makedirs(CLOUD, exist_ok=True)
    if fcntl is None:
        yield
        return
    with open(path(CLOUD, ".lock"), "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def child_env(extra=None):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OS_", "PYTHON", "VIRTUAL_ENV"))
    }
    env["PATH"] = VBIN + os.pathsep + env.get("PATH", "/usr/bin:/bin")
    env["VIRTUAL_ENV"] = VENV
    env.update(extra or {})
    return env


def run(cmd, log, what, env=None, timeout=900):
    """Run a command with its output appended to ``log``."""
    os.makedirs(os.path.dirname(log), exist_ok=True)
    with open(log, "ab") as out:
        out.write(
            ("\n$ %s\n" % " ".join(shlex.quote(c) for c in cmd)).encode()
        )
        out.flush()
        try:
            rc = subprocess.run(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=CLOUD,
                env=env or child_env(),
                timeout=timeout,
            ).returncode
        except FileNotFoundError as e:
            raise CloudError("%s failed: %s" % (what, e))
        except subprocess.TimeoutExpired:
            raise CloudError("%s timed out (see %s)" % (what, log))
    if rc != 0:
        raise CloudError(
            "%s failed with exit code %d (%s): %s"
            % (what, rc, log, last_error_line(log))
        )


def last_error_line(log):
    try:
        with open(log, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 20000))
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return "?"
    lines = [ln.strip() for ln in lines if ln.strip()]
    for ln in reversed(lines):
        if any(w in ln for w in ("Error", "error:", "ERROR", "Exception")):
            return ln[-300:]
    return lines[-1][-300:] if lines else "?"


# --------------------------------------------------------------------------
# install


def installed_spec():
    pinned = (
        os.path.exists(CONSTRAINTS)
        and os.environ.get("IMAGEX_CLOUD_UNPINNED") != "1"
    )
    return {
        "packages": PACKAGES,
        "pinned": pinned,
        "python": sys.version.split()[0],
    }


def is_installed():
    marker = read_json(INSTALL_MARKER)
    return (
        marker is not None
        and marker.get("packages") == PACKAGES
        and os.path.exists(path(VBIN, "uwsgi"))
        and os.path.exists(path(VBIN, "keystone-manage"))
        and os.path.exists(path(VBIN, "glance-manage"))
    )


def cmd_install(args=None):
    if is_installed() and not getattr(args, "force", False):
        say("already installed in %s" % VENV)
        return
    log = path(LOGDIR, "install.log")
    os.makedirs(LOGDIR, exist_ok=True)
    t0 = time.time()
    py = path(VBIN, "python")
    if not os.path.exists(py):
        say("creating virtualenv %s" % VENV)
        try:
            run([sys.executable, "-m", "venv", VENV], log, "venv")
            pip = [py, "-m", "pip"]
        except CloudError:
            # e.g. Debian without python3-venv's ensurepip: make a bare venv
            # and drive the host's pip into it.
            shutil.rmtree(VENV, ignore_errors=True)
            run(
                [sys.executable, "-m", "venv", "--without-pip", VENV],
                log,
                "venv --without-pip",
            )
            pip = None
    elif (
        subprocess.run(
            [py, "-m", "pip", "--version"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ).returncode
        == 0
    ):
        pip = [py, "-m", "pip"]
    else:
        pip = None
    if pip is None:
        pip = [sys.executable, "-m", "pip", "--python", py]
    spec = installed_spec()
    cmd = pip + ["install", "--quiet", "--no-input"]
    if spec["pinned"]:
        cmd += ["-c", CONSTRAINTS]
    say("pip installing %s (log: %s)" % (" ".join(PACKAGES), log))
    run(cmd + PACKAGES, log, "pip install", timeout=1800)
    write_file(INSTALL_MARKER, json.dumps(spec, indent=1) + "\n")
    say("installed in %.0f s" % (time.time() - t0))


def ensure_installed():
    if not is_installed():
        cmd_install()


# --------------------------------------------------------------------------
# state: passwords, ids


def load_secrets():
    sec = read_json(SECRETS) or {}
    changed = False
    for key in ("admin_password", "demo_password", "glance_password"):
        if not sec.get(key):
            sec[key] = secrets.token_urlsafe(18)
            changed = True
    if changed:
        os.makedirs(CLOUD, exist_ok=True)
        write_file(SECRETS, json.dumps(sec, indent=1) + "\n", 0o600)
    return sec


def pid_file(svc):
    return path(RUN, svc + ".pid")


def log_file(svc):
    return path(LOGDIR, svc + ".log")


def write_cloud_files(sec, extra=None):
    old = read_json(CLOUD_JSON) or {}
    info = {
        "cloud_dir": CLOUD,
        "venv": VENV,
        "cloud_name": CLOUD_NAME,
        "clouds_yaml": CLOUDS_YAML,
        "auth_url": AUTH_URL,
        "keystone_url": KEYSTONE_URL,
        "glance_url": GLANCE_URL,
        "region": REGION,
        "interface": "public",
        "identity_api_version": "3",
        "username": "admin",
        "password": sec["admin_password"],
        "project": "admin",
        "user_domain": "Default",
        "project_domain": "Default",
        "demo": {
            "username": "demo",
            "password": sec["demo_password"],
            "project": "demo",
        },
        "project_ids": old.get("project_ids", {}),
        "images": old.get("images", {}),
        "ports": dict(PORTS),
        "logs": {s: log_file(s) for s in SERVICES},
        "keystone_log": log_file("keystone"),
        "glance_log": log_file("glance"),
        "pid_files": {s: pid_file(s) for s in SERVICES},
        "pids": {s: running_pid(s) for s in SERVICES},
        "setup_logs": {
            "install": path(LOGDIR, "install.log"),
            "setup": path(LOGDIR, "setup.log"),
        },
        "shared_image": {
            "name": SHARED_IMAGE,
            "member": "demo",
            "member_status": "accepted",
        },
        "bulk_marker_property": BULK_MARK,
        "image_store_dir": IMAGE_DIR,
        "glance_config": path(ETC, "glance", "glance-api.conf"),
        "keystone_config": path(ETC, "keystone", "keystone.conf"),
    }
    info.update(extra or {})
    write_file(
        CLOUD_JSON, json.dumps(info, indent=1, sort_keys=True) + "\n", 0o600
    )

    def cloud(user, password, project):
        return (
            "  %s:\n"
            "    auth:\n"
            "      auth_url: %s\n"
            "      username: %s\n"
            "      password: %s\n"
            "      project_name: %s\n"
            "      user_domain_name: Default\n"
            "      project_domain_name: Default\n"
            "    region_name: %s\n"
            "    interface: public\n"
            "    identity_api_version: 3\n"
        ) % (
            (CLOUD_NAME if user == "admin" else CLOUD_NAME + "-" + user),
            AUTH_URL,
            user,
            json.dumps(password),
            project,
            REGION,
        )

    write_file(
        CLOUDS_YAML,
        "clouds:\n"
        + cloud("admin", sec["admin_password"], "admin")
        + cloud("demo", sec["demo_password"], "demo"),
        0o600,
    )
    return info


# --------------------------------------------------------------------------
# configuration

SQLITE_HOOK = '''\
"""Written by tools/localcloud.py.

SQLite only allows one writer.  oslo.db starts every transaction with a plain
(deferred) BEGIN, so two threads that read and then write deadlock and one of
them gets "database is locked" at once, without waiting.  Turn every BEGIN on
a SQLite connection into BEGIN IMMEDIATE (take the write lock up front) and
give the connection a long busy timeout so that writers queue up instead.
"""
import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine

BUSY_TIMEOUT_MS = 60000


@event.listens_for(Engine, "connect")
def _imagex_sqlite_connect(dbapi_con, con_record):
    if isinstance(dbapi_con, sqlite3.Connection):
        dbapi_con.execute("PRAGMA busy_timeout = %d" % BUSY_TIMEOUT_MS)


@event.listens_for(Engine, "before_cursor_execute", retval=True)
def _imagex_sqlite_begin(conn, cursor, statement, parameters, context,
                         executemany):
    if (conn.dialect.name == "sqlite"
            and statement.strip().upper() in ("BEGIN", "BEGIN DEFERRED")):
        statement = "BEGIN IMMEDIATE"
    return statement, parameters
'''

WSGI_ENTRY = '''\
"""Written by tools/localcloud.py: WSGI entry point for %(svc)s."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import imagex_sqlite_hook  # noqa: E402,F401  (install the SQLite hook first)

from %(module)s import application  # noqa: E402


def _log_request_id(app):
    """Let uWSGI's access log show the x-openstack-request-id the service
    answered with, next to the global request id the client sent."""
    try:
        import uwsgi
    except ImportError:
        return app

    def logged(environ, start_response):
        uwsgi.set_logvar("request_id", "-")

        def start(status, headers, exc_info=None):
            for name, value in headers:
                if name.lower() == "x-openstack-request-id":
                    uwsgi.set_logvar("request_id", value)
            return start_response(status, headers, exc_info)

        return app(environ, start)

    return logged


application = _log_request_id(application)
'''

KEYSTONE_CONF = """\
# Written by tools/localcloud.py; regenerated on every `up`.
[DEFAULT]
debug = %(debug)s
use_stderr = true
max_param_size = 255

[database]
connection = sqlite:///%(data)s/keystone.sqlite
sqlite_synchronous = false

[cache]
enabled = true
backend = dogpile.cache.memory
expiration_time = 600

[identity]
max_password_length = 72
password_hash_algorithm = bcrypt
password_hash_rounds = 4

[token]
provider = fernet
expiration = 28800

[fernet_tokens]
key_repository = %(data)s/fernet-keys
max_active_keys = 3

[credential]
key_repository = %(data)s/credential-keys

[oslo_policy]
policy_file = %(etc)s/keystone/policy.yaml
"""

GLANCE_CONF = """\
# Written by tools/localcloud.py; regenerated on every `up`.
[DEFAULT]
debug = %(debug)s
use_stderr = true
bind_host = 127.0.0.1
bind_port = %(port)d
public_endpoint = http://127.0.0.1:%(port)d
enabled_backends = fs:file
api_limit_max = 1000
limit_param_default = 25
enabled_import_methods = [glance-direct]
image_cache_dir = %(data)s/image-cache

[database]
connection = sqlite:///%(data)s/glance.sqlite
sqlite_synchronous = false

[glance_store]
default_backend = fs

[fs]
filesystem_store_datadir = %(data)s/images

[os_glance_staging_store]
filesystem_store_datadir = %(data)s/staging

[os_glance_tasks_store]
filesystem_store_datadir = %(data)s/tasks

[paste_deploy]
flavor = keystone
config_file = %(etc)s/glance/glance-api-paste.ini

[keystone_authtoken]
www_authenticate_uri = %(auth_url)s
auth_url = %(auth_url)s
auth_type = password
username = glance
password = %(glance_password)s
project_name = service
user_domain_name = Default
project_domain_name = Default
region_name = %(region)s
interface = public
service_token_roles_required = true

[oslo_policy]
policy_file = %(etc)s/glance/policy.yaml

[wsgi]
task_pool_threads = 4
"""

# Glance's stock pipeline has no oslo.middleware request_id filter, so the
# client's X-OpenStack-Request-ID never becomes the context's global request
# id.  This paste file adds it.
GLANCE_PASTE = """\
# Written by tools/localcloud.py.
[composite:glance-api-keystone]
paste.composite_factory = glance.api:root_app_factory
/: api
/healthcheck: healthcheck

[composite:api]
paste.composite_factory = glance.api:pipeline_factory
keystone = request_id cors http_proxy_to_wsgi versionnegotiation osprofiler authtoken context rootapp

[composite:rootapp]
paste.composite_factory = glance.api:root_app_factory
/: apiversions
/v2: apiv2app

[app:apiversions]
paste.app_factory = glance.api.versions:create_resource

[app:apiv2app]
paste.app_factory = glance.api.v2.router:API.factory

[app:healthcheck]
paste.app_factory = oslo_middleware:Healthcheck.app_factory
backends = disable_by_file
disable_by_file_path = %(data)s/healthcheck_disable

[filter:request_id]
paste.filter_factory = oslo_middleware:RequestId.factory

[filter:versionnegotiation]
paste.filter_factory = glance.api.middleware.version_negotiation:VersionNegotiationFilter.factory

[filter:context]
paste.filter_factory = glance.api.middleware.context:ContextMiddleware.factory

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
delay_auth_decision = true

[filter:osprofiler]
paste.filter_factory = osprofiler.web:WsgiMiddleware.factory

[filter:cors]
paste.filter_factory = oslo_middleware.cors:filter_factory
oslo_config_project = glance
oslo_config_program = glance-api

[filter:http_proxy_to_wsgi]
paste.filter_factory = oslo_middleware:HTTPProxyToWSGI.factory
"""


def write_configs(sec):
    debug = "true" if os.environ.get("IMAGEX_CLOUD_DEBUG") == "1" else "false"
    for d in (
        ETC,
        DATA,
        LOGDIR,
        RUN,
        IMAGE_DIR,
        path(DATA, "staging"),
        path(DATA, "tasks"),
        path(DATA, "image-cache"),
    ):
        os.makedirs(d, exist_ok=True)
    values = {
        "data": DATA,
        "etc": ETC,
        "debug": debug,
        "port": GLANCE_PORT,
        "auth_url": KEYSTONE_URL,
        "region": REGION,
        "glance_password": sec["glance_password"],
    }
    write_file(path(ETC, "imagex_sqlite_hook.py"), SQLITE_HOOK)
    write_file(
        path(ETC, "keystone", "keystone.conf"), KEYSTONE_CONF % values, 0o600
    )
    write_file(
        path(ETC, "glance", "glance-api.conf"), GLANCE_CONF % values, 0o600
    )
    write_file(
        path(ETC, "glance", "glance-api-paste.ini"), GLANCE_PASTE % values
    )
    for svc in SERVICES:
        # empty policy files: use the services' built-in defaults
        if not os.path.exists(path(ETC, svc, "policy.yaml")):
            write_file(path(ETC, svc, "policy.yaml"), "{}\n")
    write_file(
        path(ETC, "keystone-wsgi.py"),
        WSGI_ENTRY % {"svc": "keystone", "module": "keystone.wsgi.api"},
    )
    write_file(
        path(ETC, "glance-wsgi.py"),
        WSGI_ENTRY % {"svc": "glance", "module": "glance.wsgi.api"},
    )


def manage_cmd(svc, *args):
    conf = path(
        ETC,
        svc,
        "%s.conf" % ("keystone" if svc == "keystone" else "glance-api"),
    )
    return [path(VBIN, "%s-manage" % svc), "--config-file", conf] + list(args)


def prepare_keystone(sec):
    """db_sync, key repositories and bootstrap; skipped when done before."""
    marker = path(DATA, "keystone.prepared")
    stamp = hashlib.sha256(
        ("%s %s" % (AUTH_URL, sec["admin_password"])).encode()
    ).hexdigest()
    try:
        with open(marker) as f:
            if f.read().strip() == stamp:
                return
    except FileNotFoundError:
        pass
    log = path(LOGDIR, "setup.log")
    import grp
    import pwd

    user = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    say("keystone: db_sync, fernet/credential setup, bootstrap")
    run(manage_cmd("keystone", "db_sync"), log, "keystone-manage db_sync")
    for what in ("fernet_setup", "credential_setup"):
        run(
            manage_cmd(
                "keystone",
                what,
                "--keystone-user",
                user,
                "--keystone-group",
                group,
            ),
            log,
            "keystone-manage " + what,
        )
    run(
        manage_cmd(
            "keystone",
            "bootstrap",
            "--bootstrap-username",
            "admin",
            "--bootstrap-password",
            sec["admin_password"],
            "--bootstrap-project-name",
            "admin",
            "--bootstrap-role-name",
            "admin",
            "--bootstrap-service-name",
            "keystone",
            "--bootstrap-region-id",
            REGION,
            "--bootstrap-admin-url",
            AUTH_URL,
            "--bootstrap-internal-url",
            AUTH_URL,
            "--bootstrap-public-url",
            AUTH_URL,
        ),
        log,
        "keystone-manage bootstrap",
    )
    write_file(marker, stamp + "\n")


def prepare_glance():
    marker = path(DATA, "glance.prepared")
    if os.path.exists(marker):
        return
    say("glance: db_sync")
    run(
        manage_cmd("glance", "db_sync"),
        path(LOGDIR, "setup.log"),
        "glance-manage db_sync",
    )
    write_file(marker, "done\n")


# --------------------------------------------------------------------------
# processes


def read_pid(svc):
    try:
        with open(pid_file(svc)) as f:
            return int(f.read().strip() or 0) or None
    except (FileNotFoundError, ValueError):
        return None


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours is not alive
    try:
        with open("/proc/%d/stat" % pid) as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                return False
    except (OSError, IndexError):
        pass
    return True


def pid_is_ours(pid):
    """True if the pid runs our server (guards against reused pids)."""
    # uWSGI rewrites its command line (process names), so look at the
    # working directory, which start_process sets to the cloud dir.
    if not os.path.isdir("/proc/self"):
        return True  # no procfs: trust the pid file
    try:
        return os.path.realpath(
            os.readlink("/proc/%d/cwd" % pid)
        ) == os.path.realpath(CLOUD)
    except FileNotFoundError:
        return False
    except OSError:
        return True


def running_pid(svc):
    pid = read_pid(svc)
    if pid and pid_alive(pid) and pid_is_ours(pid):
        return pid
    return None


def port_answers(port, timeout=2.0):
    try:
        req = urllib.request.Request("http://%s:%d/" % (HOST, port))
        urllib.request.urlopen(req, timeout=timeout).close()
        return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer (keystone/glance reply 300) counts
    except (OSError, ValueError):
        return False


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
            return True
        except OSError:
            return False


# uWSGI access log: one line per request carrying the client's global request
# id (X-OpenStack-Request-ID header).
# The request_id logvar is set by the WSGI entry file from the response.
ACCESS_FORMAT = (
    '%(ltime) ACCESS [global_request_id=%(var.HTTP_X_OPENSTACK_'
    'REQUEST_ID) request_id=%(request_id)] %(addr) "%(method) '
    '%(uri) %(proto)" status=%(status) bytes=%(rsize) '
    'time_ms=%(msecs) pid=%(pid)'
)


def server_cmd(svc):
    port = PORTS[svc]
    cmd = [
        path(VBIN, "uwsgi"),
        "--master",
        "--processes",
        "1",
        "--threads",
        "4",
        "--lazy-apps",
        "--die-on-term",
        "--need-app",
        "--strict",
        "--http-socket",
        "%s:%d" % (HOST, port),
        "--wsgi-file",
        path(ETC, "%s-wsgi.py" % svc),
        "--home",
        VENV,
        "--procname-prefix-spaced",
        "imagex-%s" % svc,
        # uWSGI's http-socket closes the connection after each response
        # but does not say so; without this header, clients that reuse a
        # pooled connection (requests, keystoneauth) randomly get
        # "Connection reset by peer".
        "--add-header",
        "Connection: close",
        "--buffer-size",
        "65535",
        "--socket-timeout",
        "60",
        "--listen",
        "100",
        "--log-format",
        ACCESS_FORMAT,
        "--reload-mercy",
        "5",
        "--worker-reload-mercy",
        "5",
    ]
    if svc == "keystone":
        cmd += ["--env", "OS_KEYSTONE_CONFIG_DIR=%s" % path(ETC, "keystone")]
    else:
        cmd += ["--env", "OS_GLANCE_CONFIG_DIR=%s" % path(ETC, "glance")]
    return cmd


def start_process(svc):
    pid = running_pid(svc)
    if pid:
        return pid, False
    port = PORTS[svc]
    with contextlib.suppress(FileNotFoundError):
        os.unlink(pid_file(svc))
    if not port_free(port):
        raise CloudError(
            "port %d (%s) is already in use by another program; "
            "set IMAGEX_%s_PORT" % (port, svc, svc.upper())
        )
    os.makedirs(RUN, exist_ok=True)
    log = log_file(svc)
    with open(log, "ab") as out:
        out.write(
            (
                "\n==== localcloud: starting %s on %s:%d at %s ====\n"
                % (svc, HOST, port, time.strftime("%Y-%m-%d %H:%M:%S"))
            ).encode()
        )
        out.flush()
        proc = subprocess.Popen(
            server_cmd(svc),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=CLOUD,
            env=child_env(),
            start_new_session=True,
            close_fds=True,
        )
    write_file(pid_file(svc), "%d\n" % proc.pid)
    say("%s: started, pid %d, log %s" % (svc, proc.pid, log))
    return proc.pid, True


def wait_answering(svc, pid, timeout=90):
    deadline = time.time() + timeout
    port = PORTS[svc]
    while time.time() < deadline:
        if not pid_alive(pid):
            raise CloudError(
                "%s exited during start-up (see %s): %s"
                % (svc, log_file(svc), last_error_line(log_file(svc)))
            )
        if port_answers(port, timeout=5):
            return
        time.sleep(0.2)
    raise CloudError(
        "%s did not answer on port %d within %d s (see %s)"
        % (svc, port, timeout, log_file(svc))
    )


def stop_process(svc, timeout=15):
    pid = read_pid(svc)
    if not pid or not pid_alive(pid) or not pid_is_ours(pid):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(pid_file(svc))
        say("%s: not running" % svc)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.time() + timeout
    while time.time() < deadline and pid_alive(pid):
        time.sleep(0.1)
    if pid_alive(pid):
        say("%s: pid %d ignored SIGTERM, sending SIGKILL" % (svc, pid))
        with contextlib.suppress(ProcessLookupError):
            # the server runs in its own session; its workers share the
            # process group whose id is the master's pid
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        deadline = time.time() + 5
        while time.time() < deadline and pid_alive(pid):
            time.sleep(0.1)
    # reap if it happens to be our child (same invocation started it)
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
    # any worker left over in the server's own process group
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    for name in (pid_file(svc), path(RUN, "up.complete")):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
    say("%s: stopped (pid %d)" % (svc, pid))
    return True


# --------------------------------------------------------------------------
# HTTP helpers (plain urllib)


def http(
    method,
    url,
    body=None,
    token=None,
    headers=None,
    data=None,
    ok=(200, 201, 202, 204),
    timeout=60,
):
    hdrs = {
        "Accept": "application/json",
        "X-OpenStack-Request-ID": "req-%s" % uuid.uuid4(),
        "User-Agent": "imagex-localcloud",
    }
    if token:
        hdrs["X-Auth-Token"] = token
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    hdrs.update(headers or {})
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, rhdrs, raw = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        status, rhdrs, raw = e.code, e.headers, e.read()
    except OSError as e:
        raise CloudError("%s %s: %s" % (method, url, e))
    if status not in ok:
        raise CloudError(
            "%s %s -> HTTP %d: %s"
            % (method, url, status, raw[:300].decode("utf-8", "replace"))
        )
    try:
        doc = json.loads(raw) if raw else None
    except ValueError:
        doc = None
    return status, rhdrs, doc


def _password_auth(username, password, project=None):
    identity = {
        "methods": ["password"],
        "password": {
            "user": {
                "name": username,
                "domain": {"name": "Default"},
                "password": password,
            }
        },
    }
    auth = {"identity": identity}
    if project:
        auth["scope"] = {
            "project": {"name": project, "domain": {"name": "Default"}}
        }
    return {"auth": auth}


def get_token(username, password, project):
    _, hdrs, doc = http(
        "POST",
        AUTH_URL + "/auth/tokens",
        _password_auth(username, password, project),
        ok=(201,),
    )
    return hdrs["X-Subject-Token"], doc["token"]


def password_works(username, password):
    status, _, _ = http(
        "POST",
        AUTH_URL + "/auth/tokens",
        _password_auth(username, password),
        ok=(201, 401),
    )
    return status == 201


def ks_find(token, collection, key, **filters):
    qs = "&".join(
        "%s=%s" % (k, urllib.parse.quote(str(v))) for k, v in filters.items()
    )
    _, _, doc = http(
        "GET", "%s/%s?%s" % (AUTH_URL, collection, qs), token=token
    )
    return doc[key]


def ks_ensure(token, collection, key, match, create):
    found = ks_find(token, collection, collection, **match)
    if found:
        return found[0], False
    _, _, doc = http(
        "POST",
        "%s/%s" % (AUTH_URL, collection),
        {key: create},
        token=token,
        ok=(201,),
    )
    return doc[key], True


def ensure_catalog(sec):
    """Projects, users, roles, services and endpoints (idempotent)."""
    token, _ = get_token("admin", sec["admin_password"], "admin")
    ids = {}
    for name in ("admin", "service", "demo"):
        proj, _ = ks_ensure(
            token,
            "projects",
            "project",
            {"name": name, "domain_id": "default"},
            {
                "name": name,
                "domain_id": "default",
                "description": "imagex local cloud",
            },
        )
        ids[name] = proj["id"]
    roles = {}
    for name in ("admin", "member", "reader", "service"):
        role, _ = ks_ensure(
            token, "roles", "role", {"name": name}, {"name": name}
        )
        roles[name] = role["id"]
    for user, project, role, pw in (
        ("glance", "service", "service", sec["glance_password"]),
        ("demo", "demo", "member", sec["demo_password"]),
    ):
        found = ks_find(
            token, "users", "users", name=user, domain_id="default"
        )
        if found:
            uid = found[0]["id"]
            # keep the password in sync with secrets.json; only change it
            # when it differs, since a change revokes the user's tokens
            if not password_works(user, pw):
                http(
                    "PATCH",
                    "%s/users/%s" % (AUTH_URL, uid),
                    {"user": {"password": pw}},
                    token=token,
                )
        else:
            _, _, doc = http(
                "POST",
                AUTH_URL + "/users",
                {
                    "user": {
                        "name": user,
                        "domain_id": "default",
                        "password": pw,
                        "default_project_id": ids[project],
                        "enabled": True,
                    }
                },
                token=token,
                ok=(201,),
            )
            uid = doc["user"]["id"]
        http(
            "PUT",
            "%s/projects/%s/users/%s/roles/%s"
            % (AUTH_URL, ids[project], uid, roles[role]),
            token=token,
        )
    services = {}
    for stype, name in (("identity", "keystone"), ("image", "glance")):
        svc, _ = ks_ensure(
            token,
            "services",
            "service",
            {"type": stype},
            {"type": stype, "name": name, "enabled": True},
        )
        services[stype] = svc["id"]
    for stype, url in (("identity", AUTH_URL), ("image", GLANCE_URL)):
        eps = ks_find(
            token, "endpoints", "endpoints", service_id=services[stype]
        )
        for iface in ("public", "internal", "admin"):
            mine = [e for e in eps if e["interface"] == iface]
            if not mine:
                http(
                    "POST",
                    AUTH_URL + "/endpoints",
                    {
                        "endpoint": {
                            "service_id": services[stype],
                            "interface": iface,
                            "region_id": REGION,
                            "url": url,
                            "enabled": True,
                        }
                    },
                    token=token,
                    ok=(201,),
                )
                continue
            first, extra = mine[0], mine[1:]
            if (
                first["url"] != url
                or first.get("region_id") != REGION
                or not first.get("enabled", True)
            ):
                http(
                    "PATCH",
                    "%s/endpoints/%s" % (AUTH_URL, first["id"]),
                    {
                        "endpoint": {
                            "url": url,
                            "region_id": REGION,
                            "enabled": True,
                        }
                    },
                    token=token,
                )
            for e in extra:
                http(
                    "DELETE",
                    "%s/endpoints/%s" % (AUTH_URL, e["id"]),
                    token=token,
                )
    return ids


# --------------------------------------------------------------------------
# images


def make_qcow2(virtual_size, cluster_bits=16):
    """A tiny but valid, empty qcow2 (v3) image.

    Header, L1 table, refcount table and one refcount block, one cluster
    each.
    """
    cs = 1 << cluster_bits
    per_l1 = cs * (cs // 8)
    l1_size = -(-virtual_size // per_l1)
    if l1_size * 8 > cs:
        raise ValueError("virtual size too large for a one-cluster L1 table")
    l1_off, rt_off, rb_off = cs, 2 * cs, 3 * cs
    header = struct.pack(
        ">4sIQIIQIIQQIIQ",
        b"QFI\xfb",
        3,
        0,
        0,
        cluster_bits,
        virtual_size,
        0,
        l1_size,
        l1_off,
        rt_off,
        1,
        0,
        0,
    )
    header += struct.pack(">QQQII", 0, 0, 0, 4, 104)
    cluster0 = header + b"\0" * (cs - len(header))  # + end-of-extensions
    l1 = b"\0" * cs
    rtable = struct.pack(">Q", rb_off) + b"\0" * (cs - 8)
    rblock = struct.pack(">4H", 1, 1, 1, 1) + b"\0" * (cs - 8)
    return cluster0 + l1 + rtable + rblock


def glance_images(token, **filters):
    qs = "&".join(
        "%s=%s" % (k, urllib.parse.quote(str(v))) for k, v in filters.items()
    )
    url = "%s/v2/images?%s" % (GLANCE_URL, qs)
    out = []
    while url:
        _, _, doc = http("GET", url, token=token)
        out.extend(doc["images"])
        url = GLANCE_URL + doc["next"] if doc.get("next") else None
    return out


def seed(sec, ids=None):
    token, tok = get_token("admin", sec["admin_password"], "admin")
    admin_project = tok["project"]["id"]
    ids = ids or (read_json(CLOUD_JSON) or {}).get("project_ids") or {}
    demo_project = ids.get("demo")
    if not demo_project:
        demo_project = ks_find(
            token, "projects", "projects", name="demo", domain_id="default"
        )[0]["id"]
    made = {}
    for name, visibility, vsize in DEMO_IMAGES:
        found = glance_images(token, name=name)
        tags = ["demo", "cirros" if "cirros" in name else "trove"]
        good = [
            i
            for i in found
            if i["status"] == "active"
            and i["visibility"] == visibility
            and i["owner"] == admin_project
            and sorted(i.get("tags") or []) == sorted(tags)
        ]
        for img in found:
            if img not in good[:1]:
                http(
                    "DELETE",
                    "%s/v2/images/%s" % (GLANCE_URL, img["id"]),
                    token=token,
                    ok=(204, 404),
                )
        if good:
            made[name] = good[0]["id"]
            continue
        _, _, img = http(
            "POST",
            GLANCE_URL + "/v2/images",
            {
                "name": name,
                "disk_format": "qcow2",
                "container_format": "bare",
                "visibility": visibility,
                "min_disk": 1,
                "tags": tags,
                "os_distro": "cirros" if "cirros" in name else "ubuntu",
            },
            token=token,
            ok=(201,),
        )
        http(
            "PUT",
            "%s/v2/images/%s/file" % (GLANCE_URL, img["id"]),
            token=token,
            data=make_qcow2(vsize),
            headers={"Content-Type": "application/octet-stream"},
            ok=(204,),
        )
        _, _, img = http(
            "GET", "%s/v2/images/%s" % (GLANCE_URL, img["id"]), token=token
        )
        if img["status"] != "active":
            raise CloudError(
                "image %s is %s after upload" % (name, img["status"])
            )
        made[name] = img["id"]
        say("seed: created %s (%s, %s)" % (name, visibility, img["id"]))
    # share the trove image with the demo project, accepted by demo
    shared = made[SHARED_IMAGE]
    status, _, doc = http(
        "GET",
        "%s/v2/images/%s/members/%s" % (GLANCE_URL, shared, demo_project),
        token=token,
        ok=(200, 404),
    )
    if status == 404:
        http(
            "POST",
            "%s/v2/images/%s/members" % (GLANCE_URL, shared),
            {"member": demo_project},
            token=token,
        )
        doc = {"status": "pending"}
    if doc.get("status") != "accepted":
        demo_token, _ = get_token("demo", sec["demo_password"], "demo")
        http(
            "PUT",
            "%s/v2/images/%s/members/%s" % (GLANCE_URL, shared, demo_project),
            {"status": "accepted"},
            token=demo_token,
        )
    say(
        "seed: %d demo images active; %s shared with project demo (accepted)"
        % (len(made), SHARED_IMAGE)
    )
    return made, {"admin": admin_project, "demo": demo_project}


# Runs inside the cloud venv: bulk-insert images through Glance's own DB
# layer (its sqlalchemy models and engine, configured from glance-api.conf).
BULK_SCRIPT = r'''
import datetime, hashlib, json, os, sys, uuid
sys.path.insert(0, sys.argv[1])
import imagex_sqlite_hook  # noqa: F401
from oslo_config import cfg
import glance.db.sqlalchemy.api as db_api
from glance.db.sqlalchemy import models
import sqlalchemy as sa

args = json.loads(sys.argv[2])
cfg.CONF(["--config-file", args["conf"]], project="glance")
engine = db_api.get_engine()
images = models.Image.__table__
props = models.ImageProperty.__table__
locs = models.ImageLocation.__table__
members = models.ImageMember.__table__
tags = models.ImageTag.__table__
prefix, store = args["prefix"], args["store_dir"]


def find_existing(conn):
    pattern = (prefix.replace("\\", "\\\\").replace("%", "\\%")
               .replace("_", "\\_") + "%")
    q = (sa.select(images.c.id, images.c.name)
         .select_from(images.join(props, props.c.image_id == images.c.id))
         .where(props.c.name == args["mark"], props.c.value == prefix,
                images.c.deleted == sa.false(),
                images.c.name.like(pattern, escape="\\")))
    return {name: iid for iid, name in conn.execute(q)}


def remove(conn, ids):
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        for t in (props, locs, members, tags):
            conn.execute(t.delete().where(t.c.image_id.in_(chunk)))
        conn.execute(images.delete().where(images.c.id.in_(chunk)))


def create(conn, existing):
    n = args["count"]
    width = max(5, len(str(n - 1)))
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    rows_i, rows_p, rows_l = [], [], []
    for k in range(n):
        name = "%s%0*d" % (prefix, width, k)
        if name in existing:
            continue
        iid = str(uuid.uuid4())
        data = (("imagex bulk image %s %s\n" % (name, iid)) * 64)[
            : 128 + (k * 37) % 896].encode()
        fn = os.path.join(store, iid)
        with open(fn, "wb") as f:
            f.write(data)
        ts = now + datetime.timedelta(microseconds=k)
        rows_i.append(dict(
            id=iid, name=name, disk_format="raw", container_format="bare",
            size=len(data), virtual_size=len(data), status="active",
            visibility=args["visibility"],
            checksum=hashlib.md5(data).hexdigest(), os_hash_algo="sha512",
            os_hash_value=hashlib.sha512(data).hexdigest(), min_disk=0,
            min_ram=0, owner=args["owner"], protected=False, os_hidden=False,
            created_at=ts, updated_at=ts, deleted=False))
        rows_p.append(dict(image_id=iid, name=args["mark"], value=prefix,
                           created_at=ts, updated_at=ts, deleted=False))
        rows_l.append(dict(image_id=iid, value="file://" + fn,
                           meta_data={"store": args["backend"]},
                           status="active", created_at=ts, updated_at=ts,
                           deleted=False))
    if rows_i:
        conn.execute(images.insert(), rows_i)
        conn.execute(props.insert(), rows_p)
        conn.execute(locs.insert(), rows_l)
    return {"created": len(rows_i), "existing": len(existing)}


with engine.begin() as conn:
    existing = find_existing(conn)
    if args["action"] == "remove":
        ids = list(existing.values())
        remove(conn, ids)
        result = {"removed": len(ids)}
    else:
        result = create(conn, existing)
if args["action"] == "remove":
    # the rows are gone for good now; then the data files
    for iid in ids:
        try:
            os.unlink(os.path.join(store, iid))
        except FileNotFoundError:
            pass
print(json.dumps(result))
'''


def bulk(action, count, prefix, visibility):
    info = read_json(CLOUD_JSON) or {}
    owner = (info.get("project_ids") or {}).get("admin")
    if not owner:
        raise CloudError("no admin project id recorded; run `up` first")
    if not os.path.exists(path(DATA, "glance.prepared")):
        raise CloudError("glance database not set up; run `up` first")
    args = {
        "action": action,
        "count": count,
        "prefix": prefix,
        "visibility": visibility,
        "owner": owner,
        "mark": BULK_MARK,
        "conf": path(ETC, "glance", "glance-api.conf"),
        "store_dir": IMAGE_DIR,
        "backend": "fs",
    }
    proc = subprocess.run(
        [path(VBIN, "python"), "-c", BULK_SCRIPT, ETC, json.dumps(args)],
        capture_output=True,
        cwd=CLOUD,
        env=child_env(),
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise CloudError(
            "bulk %s failed: %s" % (action, err[-1] if err else "?")
        )
    return json.loads(proc.stdout.decode().strip().splitlines()[-1])


# --------------------------------------------------------------------------
# commands


def require_up(*svcs):
    for svc in svcs:
        if not running_pid(svc):
            raise CloudError("%s is not running; run `up` first" % svc)


def cmd_up(args):
    t0 = time.time()
    ensure_installed()
    with cloud_lock():
        sec = load_secrets()
        pids = {s: running_pid(s) for s in SERVICES}
        complete = path(RUN, "up.complete")
        if (
            all(pids.values())
            and os.path.exists(complete)
            and all(port_answers(PORTS[s]) for s in SERVICES)
        ):
            write_cloud_files(sec)
            say(
                "already up: keystone %s (pid %d), glance %s (pid %d)"
                % (AUTH_URL, pids["keystone"], GLANCE_URL, pids["glance"])
            )
            say("cloud.json: %s  clouds.yaml: %s" % (CLOUD_JSON, CLOUDS_YAML))
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(complete)
        write_configs(sec)
        errors = []

        def guarded(fn, *a):
            try:
                fn(*a)
            except BaseException as e:  # reported below
                errors.append(e)

        # keystone's and glance's database set-up run side by side
        threads = []
        if not pids["keystone"]:
            threads.append(
                threading.Thread(target=guarded, args=(prepare_keystone, sec))
            )
        if not pids["glance"]:
            threads.append(
                threading.Thread(target=guarded, args=(prepare_glance,))
            )
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        started = {}
        for svc in SERVICES:
            started[svc], _ = start_process(svc)
        wait_answering("keystone", started["keystone"])
        say(
            "keystone: answering at %s (%.1f s)" % (AUTH_URL, time.time() - t0)
        )
        ids = ensure_catalog(sec)
        wait_answering("glance", started["glance"])
        say(
            "glance: answering at %s (%.1f s)" % (GLANCE_URL, time.time() - t0)
        )
        write_cloud_files(sec, {"project_ids": ids})
        images, ids2 = seed(sec, ids)
        ids.update(ids2)
        write_cloud_files(sec, {"project_ids": ids, "images": images})
        write_file(complete, "%d\n" % time.time())
    say(
        "up in %.1f s; cloud.json: %s; clouds.yaml: %s (cloud %s)"
        % (time.time() - t0, CLOUD_JSON, CLOUDS_YAML, CLOUD_NAME)
    )


def cmd_seed(args):
    with cloud_lock():
        require_up("keystone", "glance")
        sec = load_secrets()
        images, ids = seed(sec)
        info = read_json(CLOUD_JSON) or {}
        pids = dict(info.get("project_ids") or {})
        pids.update(ids)
        write_cloud_files(sec, {"project_ids": pids, "images": images})


def cmd_seed_bulk(args):
    if args.count < 0:
        raise CloudError("N must be >= 0")
    if not args.prefix:
        raise CloudError("--prefix must not be empty")
    with cloud_lock():
        t0 = time.time()
        res = bulk("create", args.count, args.prefix, args.visibility)
        say(
            "seed-bulk: %d created, %d already there (prefix %r) in %.1f s"
            % (res["created"], res["existing"], args.prefix, time.time() - t0)
        )


def cmd_unseed_bulk(args):
    with cloud_lock():
        t0 = time.time()
        res = bulk("remove", 0, args.prefix, "public")
        say(
            "unseed-bulk: removed %d images (prefix %r) in %.1f s"
            % (res["removed"], args.prefix, time.time() - t0)
        )


def cmd_down(args):
    with cloud_lock():
        for svc in reversed(SERVICES):
            stop_process(svc)
        if args.wipe:
            for d in (DATA, ETC, LOGDIR, RUN):
                shutil.rmtree(d, ignore_errors=True)
            for f in (CLOUD_JSON, CLOUDS_YAML):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f)
            say(
                "wiped databases, images, configs and logs under %s "
                "(kept venv and secrets.json)" % CLOUD
            )
        elif os.path.exists(CLOUD_JSON):
            write_cloud_files(load_secrets())


def cmd_stop_service(args):
    with cloud_lock():
        stop_process(args.service)
        if os.path.exists(CLOUD_JSON):
            write_cloud_files(load_secrets())


def cmd_start_service(args):
    with cloud_lock():
        if not os.path.exists(path(DATA, "%s.prepared" % args.service)):
            raise CloudError(
                "%s was never set up; run `up` first" % args.service
            )
        sec = load_secrets()
        write_configs(sec)
        pid, new = start_process(args.service)
        wait_answering(args.service, pid)
        if not new:
            say("%s: already running (pid %d)" % (args.service, pid))
        else:
            say("%s: answering" % args.service)
        write_cloud_files(sec)


def cmd_status(args):
    for svc in SERVICES:
        pid = running_pid(svc)
        url = AUTH_URL if svc == "keystone" else GLANCE_URL
        if pid:
            state = "running (pid %d%s)" % (
                pid,
                "" if port_answers(PORTS[svc]) else ", not answering",
            )
        else:
            state = "stopped"
        print("%-8s %-32s %s" % (svc, state, url))
    print(
        "cloud.json: %s"
        % (CLOUD_JSON if os.path.exists(CLOUD_JSON) else "(none yet)")
    )


def cmd_env(args):
    sec = load_secrets()
    user = args.user
    pw = sec["admin_password"] if user == "admin" else sec["demo_password"]
    for k, v in (
        ("OS_AUTH_URL", AUTH_URL),
        ("OS_USERNAME", user),
        ("OS_PASSWORD", pw),
        ("OS_PROJECT_NAME", user),
        ("OS_USER_DOMAIN_NAME", "Default"),
        ("OS_PROJECT_DOMAIN_NAME", "Default"),
        ("OS_IDENTITY_API_VERSION", "3"),
        ("OS_REGION_NAME", REGION),
        ("OS_INTERFACE", "public"),
    ):
        print("export %s=%s" % (k, shlex.quote(v)))


def cmd_password(args):
    sec = load_secrets()
    print(
        sec["admin_password"] if args.user == "admin" else sec["demo_password"]
    )


def main(argv=None):
    p = argparse.ArgumentParser(
        prog="localcloud.py",
        description="Local Keystone + Glance (127.0.0.1, SQLite, file "
        "store) for osc-imagex tests. Cloud dir: %s" % CLOUD,
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    s = sub.add_parser("install", help="create the venv, pip install")
    s.add_argument("--force", action="store_true", help="reinstall")
    s.set_defaults(func=cmd_install)
    for name in ("up", "start"):
        s = sub.add_parser(
            name, help="install if needed, configure, start and seed the cloud"
        )
        s.set_defaults(func=cmd_up)
    s = sub.add_parser("seed", help="create the three demo images")
    s.set_defaults(func=cmd_seed)
    s = sub.add_parser(
        "seed-bulk",
        help="ensure N extra active images "
        "PREFIX00000.. exist (fast, through Glance's DB layer)",
    )
    s.add_argument("count", type=int, metavar="N")
    s.add_argument("--prefix", default="bench-")
    s.add_argument(
        "--visibility",
        default="public",
        choices=("public", "private", "shared", "community"),
    )
    s.set_defaults(func=cmd_seed_bulk)
    s = sub.add_parser("unseed-bulk", help="remove images made by seed-bulk")
    s.add_argument("--prefix", default="bench-")
    s.set_defaults(func=cmd_unseed_bulk)
    for name in ("down", "stop"):
        s = sub.add_parser(name, help="stop both servers")
        s.add_argument(
            "--wipe",
            action="store_true",
            help="also delete databases, images, configs, logs",
        )
        s.set_defaults(func=cmd_down)
    s = sub.add_parser("stop-service", help="stop one server")
    s.add_argument("service", choices=SERVICES)
    s.set_defaults(func=cmd_stop_service)
    s = sub.add_parser("start-service", help="start one server")
    s.add_argument("service", choices=SERVICES)
    s.set_defaults(func=cmd_start_service)
    s = sub.add_parser("status", help="show what is running")
    s.set_defaults(func=cmd_status)
    s = sub.add_parser("env", help="print export OS_...= lines")
    s.add_argument("--user", default="admin", choices=("admin", "demo"))
    s.set_defaults(func=cmd_env)
    s = sub.add_parser("password", help="print a user's password")
    s.add_argument("--user", default="admin", choices=("admin", "demo"))
    s.set_defaults(func=cmd_password)
    args = p.parse_args(argv)
    try:
        args.func(args)
    except CloudError as e:
        print("localcloud: error: %s" % e, file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("localcloud: error: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
