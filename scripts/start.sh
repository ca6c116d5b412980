#!/usr/bin/env bash
# The first command for a newcomer: installs what is missing, builds, and runs the broker on an
# embedded default: data in ./data of the checkout, no Supervisor, MQTT on 127.0.0.1:1883
# (MQTT_PORT overrides the port), its web UI and /metrics on http://127.0.0.1:8099 (UI_PORT
# overrides it, 0 turns it off). Options come from ./data/options.json when it exists; without it
# every option has its default. Ctrl-C stops the broker.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

bash scripts/install-deps.sh
bash scripts/build.sh

data_dir="$repo_root/data"
port="${MQTT_PORT:-1883}"
ui_port="${UI_PORT:-8099}"
mkdir -p "$data_dir"

# A port already taken (often a Mosquitto service) would make the broker exit at once.
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "start: 127.0.0.1:$port is already in use; stop what listens there" \
    "(for a Mosquitto service: sudo systemctl disable --now mosquitto) or set MQTT_PORT" >&2
  exit 1
fi

# The broker writes the generated passwords at start; this line reads them when it is run.
python_code='import json,sys;print(json.load(open(sys.argv[1]))["homeassistant"]["password"])'
read_password="python3 -c '$python_code'"
password_of_homeassistant="\$($read_password '$data_dir/system_user.json')"
cat <<INFO

The broker starts below on 127.0.0.1:$port (data in $data_dir). Ctrl-C stops it.
Its web UI (clients, topics, publish) is at http://127.0.0.1:$ui_port/ unless UI_PORT=0.
To watch every message, run this in another terminal (the homeassistant user's password is
generated on first start and kept in $data_dir/system_user.json):

  mosquitto_sub -h 127.0.0.1 -p $port -u homeassistant -P "$password_of_homeassistant" -t '#' -v

Add your own logins in $data_dir/options.json and restart, for example:
  {"logins": [{"username": "me", "password": "secret"}]}

INFO

# No token: the broker runs standalone, without discovery or hub-user logins.
exec env -u SUPERVISOR_TOKEN -u HASSIO_TOKEN "$repo_root/build/mqtt-broker" \
  --options "$data_dir/options.json" \
  --data-dir "$data_dir" \
  --bind 127.0.0.1 \
  --mqtt-port "$port" \
  --ws-port 0 \
  --mqtts-port 0 \
  --wss-port 0 \
  --ingress-port "$ui_port"
