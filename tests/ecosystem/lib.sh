# Shared by the tests/ecosystem/*.sh checks (sourced, not run).
# Each check is a CTest test: exit 0 pass, 1 fail, 77 skip (SKIP_RETURN_CODE), always with a
# line saying why. A tool that cannot be had is a SKIP with the reason, never a silent pass.
set -euo pipefail

ECO_NAME=${ECO_NAME:-$(basename "$0" .sh)}
JOBS=${MCSAFE_JOBS:-2}

say() { printf '[%s] %s\n' "$ECO_NAME" "$*"; }
skip() { say "SKIP: $*"; exit 77; }
fail() { say "FAIL: $*"; exit 1; }

# Runs a command, printing it first; its output goes to a log that is shown only on failure.
run_logged() {
  local log=$1; shift
  say "\$ $*"
  if ! "$@" >"$log" 2>&1; then
    tail -n 60 "$log" | sed 's/^/    /'
    fail "command failed (full log: $log)"
  fi
}

# apt-get install the named packages when they are missing and we may (root, apt present,
# not disabled with MCSAFE_NO_APT=1). Returns non-zero when something is still missing.
ensure_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  if [[ ${MCSAFE_NO_APT:-0} == 1 ]] || ! command -v apt-get >/dev/null; then
    say "missing packages: ${missing[*]} (apt-get not available or MCSAFE_NO_APT=1)"
    return 1
  fi
  local sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null && sudo -n true 2>/dev/null || { say "missing packages: ${missing[*]} (not root)"; return 1; }
    sudo="sudo -n"
  fi
  say "installing: ${missing[*]}"
  if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
    $sudo apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
      { say "apt-get install ${missing[*]} failed"; return 1; }
  fi
}

# True when apt knows a package (so a newer compiler can be tried where Debian has it).
apt_has() { apt-cache show "$1" >/dev/null 2>&1; }
