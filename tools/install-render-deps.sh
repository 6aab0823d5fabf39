#!/usr/bin/env bash
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
#
# Installs what the rendering tests (osc_imagex/tests/functional/
# test_render.py) need: Debian's Chromium, and mermaid from the npm
# registry as pinned in tools/render/package-lock.json. Idempotent: does
# nothing when both are there, and reinstalls mermaid when the pin moved.
# Installing Chromium needs root (apt-get); mermaid needs node and npm.
set -euo pipefail
cd "$(dirname "$0")/render"

say() { echo "install-render-deps: $*"; }

if [ -x /usr/bin/chromium ]; then
    say "chromium: already installed"
else
    if [ "$(id -u)" -ne 0 ]; then
        say "chromium: missing, and installing it needs root" >&2
        exit 1
    fi
    say "chromium: apt-get update"
    apt-get update -qq
    say "chromium: apt-get install chromium"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

if ! command -v npm >/dev/null; then
    say "mermaid: npm (and node) needed, not found" >&2
    exit 1
fi
wanted=$(node -p "require('./package.json').dependencies.mermaid")
installed=$(node -p "require('./node_modules/mermaid/package.json').version" \
    2>/dev/null || true)
if [ "$installed" = "$wanted" ] &&
    [ -f node_modules/mermaid/dist/mermaid.min.js ]; then
    say "mermaid $wanted: already installed"
else
    say "mermaid $wanted: npm ci in tools/render${installed:+ (had $installed)}"
    npm ci --no-audit --no-fund --loglevel=error
fi
say "ready: $(/usr/bin/chromium --version 2>/dev/null), mermaid $wanted"
