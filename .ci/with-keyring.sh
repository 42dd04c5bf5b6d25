#!/usr/bin/env bash
# Runs "$@" with a fresh, unlocked gnome-keyring Secret Service on the current
# (private) D-Bus session. Must run inside dbus-run-session with DISPLAY unset.
set -euo pipefail
if [ -n "${DISPLAY:-}" ]; then echo "with-keyring: DISPLAY must be unset (an unlock prompt would hang)" >&2; exit 2; fi
export XDG_DATA_HOME="$(mktemp -d)"
export TOKENTRAY_KEYRING_PASSWORD="tokentray-ci-keyring"
printf %s "$TOKENTRAY_KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
for _ in $(seq 100); do
  if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q true; then
    break
  fi
  sleep 0.1
done
# Stop only this session's daemon afterwards (another keyring session on the
# machine must keep its own).
kpid=$(dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
  org.freedesktop.DBus.GetConnectionUnixProcessID string:org.freedesktop.secrets 2>/dev/null | awk '/uint32/ {print $2}')
export TOKENTRAY_KEYRING_TEST=1
status=0
"$@" || status=$?
if [ -n "$kpid" ]; then kill "$kpid" 2>/dev/null || true; fi
rm -rf "$XDG_DATA_HOME"
exit $status
