#!/bin/sh
# Chavder container entry point: configuration comes from a mounted folder (default /config).
#
#   docker run -v "$PWD/config:/config:ro" -v chavder-data:/data -p 127.0.0.1:9410:9410 chavder
#
# The folder may hold chavder.yaml, sources.yaml and alerts.yaml; whatever is missing is said in
# one line and replaced by the default (chavder.yaml: SQLite store and outbox under /data;
# sources.yaml/alerts.yaml: the examples shipped in the image). Then `chavder ARGS` runs
# (default: `chavder run`); a command that is a shell or a path (`sh -c "…"`) runs as given,
# with CHAVDER_CONFIG set.
set -eu
CONFIG_DIR="${CHAVDER_CONFIG_DIR:-/config}"
DATA_DIR="${CHAVDER_DATA_DIR:-/data}"
EXAMPLES="${CHAVDER_EXAMPLES:-/app/examples}"

pick() {  # file name → path of the mounted file, or of the shipped example
  if [ -f "$CONFIG_DIR/$1" ]; then
    printf '%s' "$CONFIG_DIR/$1"
  else
    echo "chavder: no $CONFIG_DIR/$1 mounted — using the shipped example $EXAMPLES/$1" >&2
    printf '%s' "$EXAMPLES/$1"
  fi
}

if [ -f "$CONFIG_DIR/chavder.yaml" ]; then
  CHAVDER_CONFIG="$CONFIG_DIR/chavder.yaml"
else
  SOURCES=$(pick sources.yaml)
  ALERTS=$(pick alerts.yaml)
  CHAVDER_CONFIG="$DATA_DIR/.chavder.container.yaml"
  cat > "$CHAVDER_CONFIG" <<YAML
# written by docker-entrypoint.sh: no $CONFIG_DIR/chavder.yaml was mounted
data_dir: $DATA_DIR
store: sqlite:///$DATA_DIR/chavder.db
sources: $SOURCES
alerts: $ALERTS
health_host: 0.0.0.0
YAML
fi
export CHAVDER_CONFIG
[ "$#" -gt 0 ] || set -- run
case "$1" in
  sh|bash|/*) exec "$@" ;;
esac
exec chavder "$@"
