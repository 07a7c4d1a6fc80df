#!/usr/bin/env bash
# Debian libraries Qt needs: offscreen rendering, plus a real (X11/Xvfb) window.
# As root they are installed when missing; otherwise the exact apt line is printed.
set -u
PKGS="libgl1 libegl1 libxkbcommon0 libfontconfig1 fonts-dejavu-core libglib2.0-0 libdbus-1-3 \
xvfb xauth libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 \
libxcb-image0 libxcb-render-util0 libxcb-randr0 libxcb-xinerama0 libxcb-xkb1"
command -v dpkg-query >/dev/null 2>&1 || { echo "sysdeps: not a Debian system; install Qt's xcb/EGL libraries yourself"; exit 0; }
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ]; then
  echo "sysdeps: installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null \
    || { echo "sysdeps: apt-get failed; the app may not start. Run: apt-get install -y$missing"; exit 0; }
else
  echo "sysdeps: Qt needs Debian packages that are missing. Run as root:"
  echo "  sudo apt-get update && sudo apt-get install -y$missing"
fi
