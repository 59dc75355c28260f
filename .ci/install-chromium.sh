# Source this file: installs headless Chromium and its WebDriver from Debian's packages when missing,
# for the test that renders the demo's HTML report.
set -euo pipefail

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    echo "installing Chromium from Debian's packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
echo "$(chromium --version 2>/dev/null) with $(chromedriver --version | cut -d' ' -f1-2)"
