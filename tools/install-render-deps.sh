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
# Installs what the rendering tests need: Debian's Chromium and mermaid from
# the npm registry (tools/render). Idempotent; needs root for apt-get.
set -euo pipefail
cd "$(dirname "$0")/render"

if [ ! -x /usr/bin/chromium ]; then
    echo "install-render-deps: installing chromium (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [ ! -f node_modules/mermaid/dist/mermaid.min.js ]; then
    echo "install-render-deps: installing mermaid (npm)"
    npm ci --no-audit --no-fund --loglevel=error
fi
echo "install-render-deps: chromium and mermaid ready"
