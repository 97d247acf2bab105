#!/usr/bin/env bash
# One-shot set-up inside the compose stack (service "es-users"), idempotent:
#   * sets the password of the built-in kibana_system user (Kibana cannot log in as elastic);
#   * creates the role "chavder_writer" (templates + everything on chavder-* indices only);
#   * creates or updates the user "chavder" with that role — the account Chavder itself uses.
# Passwords come from the environment (deploy/.env); use letters and digits only
# (e.g. `openssl rand -hex 24`) so they need no JSON escaping.
set -euo pipefail
ES="${ES_URL:-http://elasticsearch:9200}"
for var in ELASTIC_PASSWORD KIBANA_SYSTEM_PASSWORD CHAVDER_ES_PASSWORD; do
  if [ -z "${!var:-}" ]; then echo "es-users: $var is not set (see deploy/.env)" >&2; exit 2; fi
  if [ "${!var}" = "change-me" ]; then echo "es-users: $var is still 'change-me' (see deploy/.env)" >&2; exit 2; fi
  case "${!var}" in *[!A-Za-z0-9_-]*) echo "es-users: $var must be letters/digits/_/- only" >&2; exit 2;; esac
done
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
