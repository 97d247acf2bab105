#!/usr/bin/env bash
# One-shot set-up inside the compose stack (service "es-users"), idempotent:
#   * sets the password of the built-in kibana_system user (Kibana cannot log in as elastic);
#   * creates the role "chavder_writer" (templates + everything on chavder-* indices only);
#   * creates or updates the user "chavder" with that role — the account Chavder itself uses.
# Passwords come from the environment (deploy/.env); use letters and digits only
# (e.g. `openssl rand -hex 24`) so they need no JSON escaping.
set -euo pipefail
ES="${ES_URL:-http://elasticsearch:9200}"
# A secret is refused when it is missing, a placeholder (anything with change-me/changeme,
# password, secret, example, xxx or <…>), shorter than 16 characters, or not letters/digits/_/-.
# `setup-users.sh --check` validates the secrets and exits (0 when all are usable).
refuse() { echo "es-users: $1 (see deploy/.env; make one with: openssl rand -hex 24)" >&2; exit 2; }
check_secret() {  # name minimum-length
  local value="${!1:-}" lower
  [ -n "$value" ] || refuse "$1 is not set"
  lower=$(printf '%s' "$value" | tr '[:upper:]' '[:lower:]')
  case "$lower" in
    *change-me*|*changeme*|*change_me*|*password*|*secret*|*example*|*xxx*|*"<"*|*">"*)
      refuse "$1 is still a placeholder ('$value')";;
  esac
  [ "${#value}" -ge "$2" ] || refuse "$1 is shorter than $2 characters"
  case "$value" in *[!A-Za-z0-9_-]*) refuse "$1 must be letters/digits/_/- only";; esac
}
for var in ELASTIC_PASSWORD KIBANA_SYSTEM_PASSWORD CHAVDER_ES_PASSWORD; do
  check_secret "$var" 16
done
if [ -n "${KIBANA_ENCRYPTION_KEY+set}" ]; then check_secret KIBANA_ENCRYPTION_KEY 32; fi
if [ "${1:-}" = "--check" ]; then echo "es-users: secrets look usable"; exit 0; fi
call() {  # method path json
  local code
  code=$(curl -s -o /tmp/es-answer -w '%{http_code}' -u "elastic:${ELASTIC_PASSWORD}" \
         -X "$1" "$ES$2" -H 'Content-Type: application/json' -d "$3")
  if [ "${code:0:1}" != "2" ]; then echo "es-users: $1 $2 -> HTTP $code: $(cat /tmp/es-answer)" >&2; exit 1; fi
}
until curl -s -o /dev/null -u "elastic:${ELASTIC_PASSWORD}" "$ES/_cluster/health?wait_for_status=yellow&timeout=5s"; do
  echo "es-users: waiting for Elasticsearch"; sleep 3
done
call POST /_security/user/kibana_system/_password "{\"password\":\"${KIBANA_SYSTEM_PASSWORD}\"}"
call PUT /_security/role/chavder_writer '{"cluster":["monitor","manage_index_templates"],"indices":[{"names":["chavder-*"],"privileges":["all"]}]}'
call PUT /_security/user/chavder "{\"password\":\"${CHAVDER_ES_PASSWORD}\",\"roles\":[\"chavder_writer\"],\"full_name\":\"Chavder crawler\"}"
echo "es-users: kibana_system password set; role chavder_writer and user chavder ready"
