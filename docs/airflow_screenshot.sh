#!/usr/bin/env bash
# Screenshots of the demo DAG in Airflow's web UI: docs/airflow_dag.png (the
# graph of its 16 tasks in the newest run) and docs/airflow_grid.png (the grid
# of its runs, with one task's details).
#
#   make airflow                                  # an Airflow home holding a run of the DAG
#   docs/airflow_screenshot.sh outputs/airflow/home [OUT_DIR]
#
# Starts Airflow's webserver on 127.0.0.1 (PORT, default 8080) on that Airflow
# home, in the background, with anonymous read-only access (the Viewer role)
# from a webserver config of its own, so the home's webserver_config.py is
# left as it is; waits for /health; takes the screenshots with headless
# Chromium; stops the webserver. Nothing but 127.0.0.1 is contacted.
#
# Needs Debian's Chromium (apt-get install chromium); CHROMIUM names another
# binary. ImageMagick's `convert`, when there, shrinks the PNGs' palettes.
# AIRFLOW names the airflow command (default: the project's .venv/bin/airflow),
# DAG_ID the DAG (default: cascade-demo), GRID_TASK the task whose details the
# grid shows (default: Trainer).
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 AIRFLOW_HOME [OUT_DIR]   (OUT_DIR default: docs/)" >&2
	exit 2
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HOME_DIR=$(cd "$1" && pwd)
OUT_DIR=$(mkdir -p "${2:-$ROOT/docs}" && cd "${2:-$ROOT/docs}" && pwd)
PORT=${PORT:-8080}
DAG_ID=${DAG_ID:-cascade-demo}
GRID_TASK=${GRID_TASK:-Trainer}
AIRFLOW=${AIRFLOW:-$ROOT/.venv/bin/airflow}
CHROMIUM=${CHROMIUM:-chromium}
BASE="http://127.0.0.1:$PORT"

command -v "$CHROMIUM" >/dev/null || {
	echo "error: $CHROMIUM not found: apt-get install chromium (Debian's package)" >&2
	exit 1
}
[ -x "$AIRFLOW" ] || {
	echo "error: $AIRFLOW not found: make airflow installs Airflow and runs the demo DAG" >&2
	exit 1
}
[ -f "$HOME_DIR/airflow.db" ] || {
	echo "error: $HOME_DIR has no airflow.db: run make airflow first" >&2
	exit 1
}
if curl -s -o /dev/null "$BASE/health"; then
	echo "error: something already answers on $BASE: stop it, or set PORT" >&2
	exit 1
fi

WORK=$(mktemp -d)
WEBSERVER_PID=""
cleanup() {
	if [ -n "$WEBSERVER_PID" ]; then
		# The webserver and its gunicorn workers: the process group setsid made.
		kill -TERM -- "-$WEBSERVER_PID" 2>/dev/null || true
		wait "$WEBSERVER_PID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

# Airflow's default FAB config, plus anonymous visitors as Viewers (read-only).
cat >"$WORK/webserver_config.py" <<'EOF'
from flask_appbuilder.const import AUTH_DB

WTF_CSRF_ENABLED = True
WTF_CSRF_TIME_LIMIT = None
AUTH_TYPE = AUTH_DB
AUTH_ROLE_PUBLIC = "Viewer"
EOF

echo "starting Airflow's webserver on $BASE (log: $WORK/webserver.log while it runs) ..."
AIRFLOW_HOME="$HOME_DIR" \
	AIRFLOW__CORE__LOAD_EXAMPLES=False \
	AIRFLOW__WEBSERVER__CONFIG_FILE="$WORK/webserver_config.py" \
	AIRFLOW__WEBSERVER__WARN_DEPLOYMENT_EXPOSURE=False \
	setsid "$AIRFLOW" webserver --hostname 127.0.0.1 --port "$PORT" --workers 1 \
	--pid "$WORK/webserver.pid" >"$WORK/webserver.log" 2>&1 &
WEBSERVER_PID=$!

for _ in $(seq 120); do
	curl -sf -o /dev/null "$BASE/health" && break
	if ! kill -0 "$WEBSERVER_PID" 2>/dev/null; then
		echo "error: the webserver stopped; its log:" >&2
		tail -30 "$WORK/webserver.log" >&2
		exit 1
	fi
	sleep 1
done
curl -sf -o /dev/null "$BASE/health" || {
	echo "error: no answer from $BASE/health within 2 minutes" >&2
	exit 1
}

# The graph page redirects to the newest DAG run's graph; its run id picks the
# same run in the grid.
GRAPH_URL=$(curl -s -o /dev/null -w '%{redirect_url}' "$BASE/dags/$DAG_ID/graph")
RUN_PARAM=$(sed -n 's/.*[?&]dag_run_id=\([^&]*\).*/\1/p' <<<"$GRAPH_URL")
if [ -z "$RUN_PARAM" ]; then
	echo "error: no run of $DAG_ID in $HOME_DIR/airflow.db (make airflow runs one)" >&2
	exit 1
fi
printf "the newest run of %s: %b\n" "$DAG_ID" "${RUN_PARAM//%/\\x}"

# A 1600x1000 window at twice the pixels: the graph's small labels stay sharp
# when the picture is zoomed. The virtual time budget lets the page's scripts
# fetch and draw the grid and graph before the shot.
shoot() { # URL FILE
	"$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--hide-scrollbars --user-data-dir="$WORK/chromium" \
		--window-size=1600,1000 --force-device-scale-factor=2 \
		--virtual-time-budget=10000 --screenshot="$2" "$1" >"$WORK/chromium.log" 2>&1 || {
		echo "error: chromium failed on $1:" >&2
		tail -20 "$WORK/chromium.log" >&2
		exit 1
	}
	if command -v convert >/dev/null; then
		convert "$2" -strip -colors 256 "PNG8:$2"
	fi
	echo "wrote $2 ($(($(stat -c %s "$2") / 1024)) KB): $1"
}

shoot "$GRAPH_URL" "$OUT_DIR/airflow_dag.png"
# The grid with one task instance's details (the run's own details would show
# its duration counted from the logical date, where `dags test` starts it).
shoot "$BASE/dags/$DAG_ID/grid?dag_run_id=$RUN_PARAM&task_id=$GRID_TASK" "$OUT_DIR/airflow_grid.png"
