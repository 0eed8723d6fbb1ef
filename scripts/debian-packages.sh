# Sourced by the scripts that need Debian packages: install the ones named (as root), else say how.
ensure_debian_packages() {
  [ "$#" -gt 0 ] || return 0
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    echo "Missing Debian packages: run 'sudo apt-get install $*' first" >&2
    exit 1
  fi
}
